// FlaskLLM ▸ Process selection (an Office Script for Excel's Automate tab).
//
// First asks FlaskLLM what the selected cells would cost (POST /api/v1/estimate: no provider is
// called). Above "Confirm above (USD)" on the FlaskLLM sheet it writes the estimate there and
// stops: set "Confirm" to yes and run it again. Otherwise, or when confirmed, it sends every
// non-empty cell through the batch endpoint (POST /api/v1/webhook/batch), a chunk of cells per
// request, and writes each result into the column right of the selection (or the "Output
// column"). Sentiment fills two columns (label, score); keywords and entities are joined into
// one cell. A cell that fails gets a readable "ERROR …" text and the others go on; cells whose
// result is already there are skipped unless "Redo processed cells" is yes (ERROR cells are
// redone). Each processed cell gets a row on the "FlaskLLM log" sheet: where, when, request id,
// provider, model, template version, cached, tokens, cost and status (never the token).
//
// Settings (URL, token, type…) come from the "FlaskLLM" sheet that the Setup script creates:
// never put a token in a script.

const LOG_SHEET = "FlaskLLM log";
const LOG_HEADER = ["Cell", "Time (UTC)", "Request ID", "Provider", "Model", "Template version", "Cached",
  "Input tokens", "Output tokens", "Cost (USD)", "Status", "Code"];
const ERROR_PREFIX = "ERROR";
const DEFAULT_CONFIRM_ABOVE = 0.5; // USD
const YES = ["yes", "true", "1", "y"];

interface Settings {
  connection: Connection;
  type: ProcessingType;
  language: string;
  source: string;
  outputColumn: string;
  redo: boolean;
  chunkSize: number;
  confirmAbove: number;
  confirm: boolean;
}

/** One cell to process: where it is in the selection, and its text. */
interface Job {
  row: number;
  column: number;
  text: string;
}

/** What the estimate says about the cells to process, added up over its requests. */
interface Totals {
  cells: number;
  cached: number;
  low: number | null;
  high: number | null;
}

async function main(workbook: ExcelScript.Workbook): Promise<void> {
  const found = readSettingsSheet(workbook);
  if (!found) {
    console.log(`No "${SETTINGS_SHEET}" sheet: run the FlaskLLM Setup script first.`);
    return;
  }
  const settings = processSettings(found);
  if (!settings.connection.url || !settings.connection.token) {
    setStatus(workbook, "ERROR: fill in API URL and Token on this sheet (run Setup to check them).");
    console.log("API URL or Token is empty on the FlaskLLM sheet.");
    return;
  }
  // Microsoft: getSelectedRange() throws when the selection has several areas.
  const areas = workbook.getSelectedRanges();
  if (areas.getAreaCount() > 1) {
    setStatus(workbook, `ERROR: the selection has ${areas.getAreaCount()} areas (${areas.getAddress()}); ` +
      "select one rectangular range and run again.");
    return;
  }
  const selection = workbook.getSelectedRange();
  const sheet = selection.getWorksheet();
  const rows = selection.getRowCount();
  const columns = selection.getColumnCount();
  const width = settings.type === "sentiment" ? 2 : 1; // sentiment: label and score
  let firstOutput = selection.getColumnIndex() + columns;
  if (settings.outputColumn) {
    const index = columnIndex(settings.outputColumn);
    if (index < 0 || columns > 1) {
      setStatus(workbook, `ERROR: Output column "${settings.outputColumn}" needs a column letter and a one-column selection.`);
      return;
    }
    firstOutput = index;
  }
  const output = sheet.getRangeByIndexes(selection.getRowIndex(), firstOutput, rows, columns * width);
  const inputs = selection.getValues();
  const results = output.getValues();

  const jobs: Job[] = [];
  let skipped = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const text = String(inputs[r][c]).trim();
      if (!text) {
        continue;
      }
      const existing = String(results[r][c * width]);
      if (!settings.redo && existing !== "" && !existing.startsWith(ERROR_PREFIX)) {
        skipped++;
        continue;
      }
      jobs.push({ row: r, column: c, text: text });
    }
  }
  console.log(`FlaskLLM: ${jobs.length} cells to process as ${settings.type} (${skipped} already done) → ${output.getAddress()}`);
  const body = (chunk: Job[]) => JSON.stringify(batchRequest(settings, chunk));

  if (!settings.confirm && jobs.length > 0) {
    const totals: Totals = { cells: jobs.length, cached: 0, low: 0, high: 0 };
    let refused = "";
    const stopped = await postInChunks(settings.connection, "/api/v1/estimate", jobs, settings.chunkSize, body, false,
      (chunk, answer) => {
        if (answer.status === 413 && chunk.length === 1) {
          return; // one cell too large for any request: it fails alone when the run sends it, at no cost
        }
        if (answer.status !== 200) {
          refused = describeAnswer(answer);
          return;
        }
        addEstimate(totals, JSON.parse(answer.text));
      });
    if (stopped || refused) {
      setStatus(workbook, `ERROR: no estimate (${stopped || refused}); nothing was processed. ` +
        "Set Confirm to yes to process without one.");
      return;
    }
    const summary = describeEstimate(totals);
    writeSetting(workbook, "Estimate", summary);
    console.log(`Estimate: ${summary}`);
    if (totals.high === null || totals.high > settings.confirmAbove) {
      const why = totals.high === null ? "its cost is unknown" : `above Confirm above (${settings.confirmAbove} USD)`;
      setStatus(workbook, `STOPPED before processing: ${summary}, ${why}. Set Confirm to yes and run again to process.`);
      return;
    }
  }
  if (settings.confirm) {
    writeSetting(workbook, "Confirm", "no"); // one confirmation, one run
  }

  let done = 0;
  let failed = 0;
  let sent = 0;
  const log: Cell[][] = [];
  const write = (job: Job, cells: Cell[]) => {
    for (let i = 0; i < width; i++) {
      results[job.row][job.column * width + i] = i < cells.length ? cells[i] : "";
    }
  };
  const address = (job: Job) => selection.getCell(job.row, job.column).getAddress();
  const fail = (job: Job, message: string, requestId: string, status: number, code: string) => {
    write(job, [`${ERROR_PREFIX} ${message}`]);
    log.push([address(job), new Date().toISOString(), requestId, "", "", "", false, "", "", "", status, code]);
    failed++;
  };
  const stopped = await postInChunks(settings.connection, "/api/v1/webhook/batch", jobs, settings.chunkSize, body, true,
    (chunk, answer) => {
      if (answer.status === 200) {
        const batch: BatchResponse = JSON.parse(answer.text);
        for (const item of batch.results) {
          const job = chunk[item.index];
          if (item.status === 200 && item.result) {
            write(job, cellsFor(settings.type, item.result));
            log.push(logRow(address(job), item.result));
            done++;
          } else {
            fail(job, describeProblem(item.status, item.error), `${answer.requestId}-${item.index}`, item.status,
              item.error ? item.error.code : "");
          }
        }
      } else {
        for (const job of chunk) {
          fail(job, describeAnswer(answer), answer.requestId, answer.status, answer.status ? problemCode(answer) : "UNREACHABLE");
        }
      }
      sent += chunk.length;
      output.setValues(results);
      console.log(`Progress: ${sent}/${jobs.length} cells (${done} done, ${failed} failed).`);
    });
  output.setValues(results);
  appendLog(workbook, log);

  const left = jobs.length - done - failed;
  let status = `${new Date().toISOString()}: ${done} done, ${failed} failed, ${skipped} skipped`;
  if (stopped) {
    status = `ERROR ${status}, ${left} not sent: stopped, ${stopped}`;
  }
  setStatus(workbook, status);
  console.log(status);
}

function batchRequest(settings: Settings, chunk: Job[]): BatchTextsRequest {
  const request: BatchTextsRequest = { texts: chunk.map((job) => job.text), type: settings.type };
  if (settings.source) {
    request.source = settings.source as BatchTextsRequest["source"];
  }
  if (settings.language) {
    request.language = settings.language;
  }
  return request;
}

function addEstimate(totals: Totals, estimate: EstimateResponse): void {
  totals.cached += estimate.totals.cached;
  const low = estimate.totals.cost_usd.low;
  const high = estimate.totals.cost_usd.high;
  totals.low = totals.low === null || low === null ? null : totals.low + low;
  totals.high = totals.high === null || high === null ? null : totals.high + high;
}

function describeEstimate(totals: Totals): string {
  const usd = (value: number) => `$${value.toFixed(value > 0 && value < 0.01 ? 6 : 2)}`; // cents, or micro-dollars when less
  const cost = totals.low === null || totals.high === null
    ? "cost unknown (a model without a price)" : `${usd(totals.low)} to ${usd(totals.high)}`;
  return `${totals.cells} cells, ${totals.cached} cached (free), ${cost}`;
}

/** One "FlaskLLM log" row for a processed cell: where, when and what answered it. */
function logRow(address: string, result: ProcessResult): Cell[] {
  const cost = result.usage.cost_usd;
  return [address, new Date().toISOString(), result.request_id, result.provider, result.model,
    result.template_version || "", result.cached, result.usage.input_tokens ?? "", result.usage.output_tokens ?? "",
    cost === null || cost === undefined ? "unknown" : cost, 200, ""];
}

function appendLog(workbook: ExcelScript.Workbook, rows: Cell[][]): void {
  if (rows.length === 0) {
    return;
  }
  let sheet = workbook.getWorksheet(LOG_SHEET);
  if (!sheet) {
    sheet = workbook.addWorksheet(LOG_SHEET);
    sheet.getRangeByIndexes(0, 0, 1, LOG_HEADER.length).setValues([LOG_HEADER]);
    sheet.getRangeByIndexes(0, 0, 1, LOG_HEADER.length).getFormat().getFont().setBold(true);
  }
  const used = sheet.getUsedRange(true);
  const next = used ? used.getRowIndex() + used.getRowCount() : 0;
  sheet.getRangeByIndexes(next, 0, rows.length, LOG_HEADER.length).setValues(rows);
}

function problemCode(answer: Answer): string {
  try {
    const problem: Problem = JSON.parse(answer.text);
    return problem && problem.code ? problem.code : "";
  } catch (error) {
    return ""; // not a problem document: the status says what there is to say
  }
}

/** The cells for one result: typed data where a spreadsheet wants it split or joined. */
function cellsFor(type: ProcessingType, result: ProcessResult): Cell[] {
  const data = result.data;
  if (type === "sentiment" && !Array.isArray(data) && "label" in data) {
    const sentiment = data as SentimentData;
    return [sentiment.label, sentiment.score];
  }
  if (type === "keywords" && Array.isArray(data)) {
    return [(data as KeywordsData).map((keyword) => keyword.text).join(", ")];
  }
  if (type === "entities" && Array.isArray(data)) {
    return [(data as EntitiesData).map((entity) => `${entity.text} (${entity.type})`).join("; ")];
  }
  return [result.summary];
}

/** "D" → 3, "AA" → 26; -1 when it is not a column letter. */
function columnIndex(letters: string): number {
  const text = letters.trim().toUpperCase();
  if (!/^[A-Z]{1,3}$/.test(text)) {
    return -1;
  }
  let index = 0;
  for (let i = 0; i < text.length; i++) {
    index = index * 26 + (text.charCodeAt(i) - 64);
  }
  return index - 1;
}

function processSettings(found: { [label: string]: string }): Settings {
  const get = (label: string, fallback: string) => found[label] || fallback;
  const chunk = Math.floor(Number(get("chunk size", "50")));
  const above = Number(get("confirm above (usd)", String(DEFAULT_CONFIRM_ABOVE)));
  return {
    connection: connectionFrom(found),
    type: get("default type", "summary").toLowerCase() as ProcessingType,
    language: get("language", "").toLowerCase(),
    source: get("source", "excel").toLowerCase(),
    outputColumn: get("output column", ""),
    redo: YES.indexOf(get("redo processed cells", "no").toLowerCase()) >= 0,
    chunkSize: chunk > 0 ? chunk : 50,
    confirmAbove: isNaN(above) || above < 0 ? DEFAULT_CONFIRM_ABOVE : above,
    confirm: YES.indexOf(get("confirm", "no").toLowerCase()) >= 0,
  };
}
