// ProcessSelection.ts: a FlaskLLM Office Script for Excel (Automate ▸ New script: paste this whole file).
// Built by `npm run gen` from office-scripts/scripts/ProcessSelection.ts, scripts/shared/prelude.ts and
// spec/openapi.yaml. Do not edit here.

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

// ---- FlaskLLM shared prelude (office-scripts/scripts/shared/prelude.ts, pasted into each script by `npm run gen`) ----
// The settings sheet, the HTTP call with its 413/429/5xx handling, and problem formatting:
// written once here, the same in every script.

const SETTINGS_SHEET = "FlaskLLM";
const MAX_SERVER_RETRIES = 2; // a 5xx answer is tried again this many times
const SERVER_RETRY_PAUSE_MS = 500; // times the attempt: the server already retried its provider
const MAX_RATE_LIMITED_WAITS = 5; // Retry-After waits for one request before it fails
const DEFAULT_RETRY_AFTER = 5; // seconds, for a 429 without Retry-After
const DEFAULT_MAX_WAIT = 120; // seconds, when the sheet's "Max wait (seconds)" is empty

/** What a cell holds, as Microsoft's getValues and setValues take it. */
type Cell = string | number | boolean;

/** An HTTP answer, reduced to what the scripts need; status 0: the server was not reached. */
interface Answer {
  status: number;
  text: string;
  retryAfter: number;
  limit: number;
  requestId: string;
}

/** Where FlaskLLM is and the token to call it with, from the settings sheet. */
interface Connection {
  url: string;
  token: string;
  maxWait: number;
}

/** The settings sheet as column A label (lower case) → column B text; undefined without it. */
function readSettingsSheet(workbook: ExcelScript.Workbook): { [label: string]: string } | undefined {
  const sheet = workbook.getWorksheet(SETTINGS_SHEET);
  if (!sheet) {
    return undefined;
  }
  const found: { [label: string]: string } = {};
  const used = sheet.getUsedRange(true);
  if (used) {
    const rows = sheet.getRangeByIndexes(0, 0, used.getRowIndex() + used.getRowCount(), 2).getValues();
    for (const row of rows) {
      const label = String(row[0]).trim().toLowerCase();
      if (label) {
        found[label] = String(row[1]).trim();
      }
    }
  }
  return found;
}

function connectionFrom(found: { [label: string]: string }): Connection {
  const wait = Number(found["max wait (seconds)"] || String(DEFAULT_MAX_WAIT));
  return {
    url: (found["api url"] || "").replace(/\/+$/, ""),
    token: found["token"] || "",
    maxWait: wait >= 0 ? wait : DEFAULT_MAX_WAIT,
  };
}

/** Writes `value` beside `label` on the settings sheet, adding the row when it is missing. */
function writeSetting(workbook: ExcelScript.Workbook, label: string, value: string): void {
  const sheet = workbook.getWorksheet(SETTINGS_SHEET);
  if (!sheet) {
    return;
  }
  const used = sheet.getUsedRange(true);
  const count = used ? used.getRowIndex() + used.getRowCount() : 0;
  const labels = count > 0 ? sheet.getRangeByIndexes(0, 0, count, 1).getValues() : [];
  let row = labels.findIndex((cells) => String(cells[0]).trim().toLowerCase() === label.toLowerCase());
  if (row < 0) {
    row = count;
    sheet.getRangeByIndexes(row, 0, 1, 1).setValue(label);
  }
  sheet.getRangeByIndexes(row, 1, 1, 1).setValue(value);
}

function setStatus(workbook: ExcelScript.Workbook, message: string): void {
  writeSetting(workbook, "Status", message);
}

/**
 * One call to FlaskLLM with the token. A 5xx answer is tried again MAX_SERVER_RETRIES times; a
 * 429 is waited out as Retry-After asks when that is within Max wait and the request (which
 * counts `cost` against the rate limit) fits the limit at all. Anything else is returned.
 */
async function call(connection: Connection, method: string, path: string, body?: string, cost: number = 1): Promise<Answer> {
  let waits = 0;
  for (let attempt = 1; ; attempt++) {
    const answer = await fetchOnce(connection, method, path, body);
    if (answer.status === 429 && (answer.limit <= 0 || cost <= answer.limit) && waits < MAX_RATE_LIMITED_WAITS) {
      const wait = answer.retryAfter > 0 ? answer.retryAfter : DEFAULT_RETRY_AFTER;
      if (wait > connection.maxWait) {
        return answer;
      }
      waits++;
      console.log(`Rate limited (429): waiting ${wait} s as Retry-After asks, then going on.`);
      await sleep(wait * 1000);
      continue;
    }
    if (answer.status >= 500 && attempt <= MAX_SERVER_RETRIES) {
      console.log(`Server error ${answer.status}: trying again in ${(attempt * SERVER_RETRY_PAUSE_MS) / 1000} s.`);
      await sleep(attempt * SERVER_RETRY_PAUSE_MS);
      continue;
    }
    return answer;
  }
}

async function fetchOnce(connection: Connection, method: string, path: string, body?: string): Promise<Answer> {
  const url = connection.url + path;
  const headers: { [name: string]: string } = { "X-API-Token": connection.token };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
  }
  try {
    const response = await fetch(url, { method: method, headers: headers, body: body });
    return {
      status: response.status,
      text: await response.text(),
      retryAfter: Number(response.headers.get("Retry-After") || "0"),
      limit: Number(response.headers.get("X-RateLimit-Limit") || "0"),
      requestId: response.headers.get("X-Request-ID") || "",
    };
  } catch (error) {
    return {
      status: 0, retryAfter: 0, limit: 0, requestId: "",
      text: `could not reach ${url}: ${error}. Check API URL (https) and that the server allows this origin (ALLOWED_ORIGINS).`,
    };
  }
}

/**
 * POSTs `items` to a batch-shaped endpoint (`body` makes each request), `chunkSize` at a time.
 * A chunk refused as too large (413) goes again in halves; one larger than the rate limit
 * allows at once (429 with X-RateLimit-Limit, when the endpoint counts each item) in pieces of
 * that size. Every other final answer goes to `handle`. Returns why it stopped early ("" when it
 * did not): the server not reached, the token refused (401/403), or a Retry-After past Max wait.
 */
async function postInChunks<T>(connection: Connection, path: string, items: T[], chunkSize: number,
                               body: (chunk: T[]) => string, countsEachItem: boolean,
                               handle: (chunk: T[], answer: Answer) => void): Promise<string> {
  const queue: T[][] = [];
  for (let i = 0; i < items.length; i += chunkSize) {
    queue.push(items.slice(i, i + chunkSize));
  }
  while (queue.length > 0) {
    const chunk = queue.shift() as T[];
    const answer = await call(connection, "POST", path, body(chunk), countsEachItem ? chunk.length : 1);
    if (answer.status === 413 && chunk.length > 1) {
      const half = Math.ceil(chunk.length / 2);
      queue.unshift(chunk.slice(0, half), chunk.slice(half));
      continue;
    }
    if (answer.status === 429 && countsEachItem && answer.limit > 0 && chunk.length > answer.limit) {
      for (let i = chunk.length; i > 0; i -= answer.limit) {
        queue.unshift(chunk.slice(Math.max(0, i - answer.limit), i));
      }
      continue;
    }
    if (answer.status === 429) {
      const wait = answer.retryAfter > 0 ? answer.retryAfter : DEFAULT_RETRY_AFTER;
      return `rate limited for ${wait} s, longer than Max wait (${connection.maxWait} s): ${problemDetail(answer)}`;
    }
    handle(chunk, answer);
    if (answer.status === 0 || answer.status === 401 || answer.status === 403) {
      return describeAnswer(answer);
    }
  }
  return "";
}

/** A failed answer as one line: its status, and the problem's code and detail. */
function describeAnswer(answer: Answer): string {
  if (answer.status === 0) {
    return answer.text;
  }
  if (answer.status === 401) {
    return "401 UNAUTHORIZED: the server refused the token; check Token on the FlaskLLM sheet.";
  }
  return `${answer.status} ${problemDetail(answer)}`;
}

function problemDetail(answer: Answer): string {
  try {
    const problem: Problem = JSON.parse(answer.text);
    if (problem && problem.code) {
      return `${problem.code}: ${problem.detail}`;
    }
  } catch (error) {
    // not JSON: an HTML error page from a proxy, say; its first characters follow
  }
  return answer.text.slice(0, 200);
}

function describeProblem(status: number, problem?: Problem): string {
  return problem ? `${status} ${problem.code}: ${problem.detail}` : `${status}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, ms));
}
// ---- End of the shared prelude. ----

// ---- FlaskLLM API types, generated from spec/openapi.yaml. Do not edit. ----
interface components {
    schemas: {
        ProcessingType: "summary" | "keywords" | "sentiment" | "entities" | "translation" | "custom";
        Prompt: {
            prompt: string;
            type?: components["schemas"]["ProcessingType"];
            source?: components["schemas"]["Source"];
            language?: components["schemas"]["Language"];
            provider?: components["schemas"]["ProviderName"];
            model?: components["schemas"]["ModelName"];
            template?: components["schemas"]["TemplateName"];
            variables?: components["schemas"]["TemplateVariables"];
            instruction?: components["schemas"]["Instruction"];
        };
        Source: "email" | "meeting" | "document" | "chat" | "excel" | "other";
        Language: string;
        ProviderName: string;
        ModelName: string;
        TemplateName: string;
        TemplateVariables: {
            [key: string]: string;
        };
        Instruction: string;
        ProcessResult: {
            summary: string;
            type: components["schemas"]["ProcessingType"];
            data: components["schemas"]["TextData"] | components["schemas"]["KeywordsData"] | components["schemas"]["SentimentData"] | components["schemas"]["EntitiesData"] | components["schemas"]["TranslationData"];
            processing_time: number;
            request_id: string;
            provider: string;
            model: string;
            cached: boolean;
            usage: components["schemas"]["Usage"];
            template_version?: string | null;
        };
        TextData: {
            text: string;
        } & {
            [key: string]: unknown;
        };
        TranslationData: {
            text: string;
            source_language: string;
            target_language: string;
        };
        KeywordsData: {
            text: string;
            score: number;
        }[];
        SentimentData: {
            label: "positive" | "negative" | "neutral" | "mixed";
            score: number;
        };
        EntitiesData: {
            text: string;
            type: "PERSON" | "ORGANIZATION" | "LOCATION" | "DATE" | "TIME" | "MONEY" | "PERCENT" | "EMAIL" | "URL" | "PHONE" | "OTHER";
            start: number;
            end: number;
        }[];
        EventStream: string;
        StreamDelta: {
            text: string;
        };
        BatchRequest: components["schemas"]["BatchItems"] | components["schemas"]["BatchTexts"];
        BatchItems: {
            items: components["schemas"]["BatchItem"][];
        };
        BatchItem: {
            [key: string]: unknown;
        };
        BatchTexts: {
            texts: string[];
            type?: components["schemas"]["ProcessingType"];
            source?: components["schemas"]["Source"];
            language?: components["schemas"]["Language"];
            provider?: components["schemas"]["ProviderName"];
            model?: components["schemas"]["ModelName"];
            template?: components["schemas"]["TemplateName"];
            variables?: components["schemas"]["TemplateVariables"];
            instruction?: components["schemas"]["Instruction"];
        };
        BatchResponse: {
            succeeded: number;
            failed: number;
            results: components["schemas"]["BatchResult"][];
        };
        BatchResult: {
            index: number;
            status: number;
            result?: components["schemas"]["ProcessResult"];
            error?: components["schemas"]["Problem"];
        };
        Estimate: {
            results: components["schemas"]["EstimateItem"][];
            totals: components["schemas"]["EstimateTotals"];
            budget: components["schemas"]["BudgetStatus"];
            within_budget: boolean | null;
            within_quota: boolean | null;
        };
        EstimateItem: {
            index: number;
            status: number;
            cached?: boolean;
            duplicate_of?: number | null;
            provider?: string;
            model?: string;
            template_version?: string;
            input_tokens?: number;
            tokenizer?: "tiktoken" | "estimate";
            output_tokens?: components["schemas"]["TokenRange"];
            cost_usd?: components["schemas"]["CostRange"];
            error?: components["schemas"]["Problem"];
        };
        EstimateTotals: {
            items: number;
            valid: number;
            failed: number;
            cached: number;
            to_run: number;
            unpriced: number;
            input_tokens: number;
            output_tokens: components["schemas"]["TokenRange"];
            cost_usd: components["schemas"]["CostRange"];
        };
        TokenRange: {
            low: number;
            high: number;
        };
        CostRange: {
            low: number | null;
            high: number | null;
        };
        Usage: {
            input_tokens: number | null;
            output_tokens: number | null;
            cost_usd: number | null;
        };
        Health: {
            status: "ok" | "degraded" | "down";
            version: string;
            provider: string;
            checks: {
                [key: string]: components["schemas"]["Check"];
            };
        };
        Check: {
            status: "ok" | "degraded" | "down";
            latency_ms?: number;
            detail?: string;
        };
        OpenAPIDocument: {
            openapi: string;
            info: {
                [key: string]: unknown;
            };
            paths: {
                [key: string]: unknown;
            };
        } & {
            [key: string]: unknown;
        };
        ExampleList: {
            examples: components["schemas"]["Example"][];
        };
        Example: {
            operation_id: string;
            method: string;
            path: string;
            name: string;
            summary: string;
            request?: unknown;
            response?: unknown;
            curl: string;
        };
        TemplateList: {
            templates: components["schemas"]["TemplateInfo"][];
        };
        TemplateInfo: {
            name: string;
            version: string;
            description: string;
            variables: string[];
            builtin: boolean;
        };
        UsageLine: {
            key: string;
            requests: number;
            errors: number;
            cached: number;
            input_tokens: number;
            output_tokens: number;
            cost_usd: number | null;
            unpriced: number;
        };
        UsageReport: {
            from: string;
            to: string;
            since: string;
            until: string;
            token: string | null;
            totals: components["schemas"]["UsageLine"];
            by_day: components["schemas"]["UsageLine"][];
            by_type: components["schemas"]["UsageLine"][];
            by_model: components["schemas"]["UsageLine"][];
            budget: components["schemas"]["BudgetStatus"];
        };
        AdminUsageReport: {
            from: string;
            to: string;
            since: string;
            until: string;
            token: string | null;
            totals: components["schemas"]["UsageLine"];
            by_day: components["schemas"]["UsageLine"][];
            by_type: components["schemas"]["UsageLine"][];
            by_model: components["schemas"]["UsageLine"][];
            by_token: components["schemas"]["UsageLine"][];
        };
        BudgetStatus: {
            limits: {
                daily_usd: number | null;
                monthly_usd: number | null;
                daily_requests: number | null;
            };
            day: components["schemas"]["BudgetPeriod"];
            month: components["schemas"]["BudgetPeriod"];
        };
        BudgetPeriod: {
            period: string;
            spent_usd: number;
            reserved_usd: number;
            requests: number;
            resets_at: string;
            remaining_usd: number | null;
            remaining_requests: number | null;
        };
        TokenLimits: {
            daily_usd?: number | null;
            monthly_usd?: number | null;
            daily_requests?: number | null;
        };
        TokenCreate: {
            name: string;
            admin: boolean;
            limits?: components["schemas"]["TokenLimits"];
        };
        TokenUpdate: {
            admin?: boolean;
            limits?: components["schemas"]["TokenLimits"];
        };
        TokenView: {
            name: string;
            admin: boolean;
            revoked: boolean;
            created_at: string;
            last_used_at: string | null;
            budget: components["schemas"]["BudgetStatus"];
        };
        TokenCreated: components["schemas"]["TokenView"] & {
            token: string;
        };
        TokenList: {
            tokens: components["schemas"]["TokenView"][];
        };
        TokenRevoked: {
            name: string;
            revoked: boolean;
            purged: boolean;
            others_told: boolean | null;
        };
        AuditEntry: {
            at: string;
            actor: string;
            action: "create" | "update" | "revoke" | "purge";
            token: string;
            details: Record<string, never>;
        };
        AuditLog: {
            entries: components["schemas"]["AuditEntry"][];
        };
        BudgetProblem: components["schemas"]["Problem"] & {
            limit: "daily_usd" | "monthly_usd" | "daily_requests";
            resets_at: string;
        };
        Problem: {
            type: string;
            title: string;
            status: number;
            detail: string;
            code: components["schemas"]["ProblemCode"];
        } & {
            [key: string]: unknown;
        };
        ProblemCode: "BAD_REQUEST" | "INVALID_ENCODING" | "INVALID_JSON" | "EMPTY_PROMPT" | "AMBIGUOUS_CREDENTIALS" | "UNAUTHORIZED" | "FORBIDDEN" | "NOT_FOUND" | "MODEL_NOT_FOUND" | "TOKEN_NOT_FOUND" | "METHOD_NOT_ALLOWED" | "NOT_ACCEPTABLE" | "REQUEST_TIMEOUT" | "TOKEN_EXISTS" | "PAYLOAD_TOO_LARGE" | "PROMPT_TOO_LONG" | "UNSUPPORTED_MEDIA_TYPE" | "UNPROCESSABLE" | "TYPE_NOT_SUPPORTED" | "PROVIDER_NOT_ALLOWED" | "TEMPLATE_NOT_FOUND" | "CHAT_NOT_SUPPORTED" | "PARAMETER_NOT_SUPPORTED" | "NO_USER_MESSAGE" | "IDEMPOTENCY_KEY_REUSED" | "INVALID_RANGE" | "RATE_LIMITED" | "BUDGET_EXCEEDED" | "PROVIDER_RATE_LIMITED" | "INTERNAL_ERROR" | "PROVIDER_ERROR" | "PROVIDER_AUTH" | "PROVIDER_BAD_OUTPUT" | "PROVIDER_EMPTY_ANSWER" | "SERVICE_UNAVAILABLE" | "TOKENS_UNAVAILABLE" | "BUDGETS_UNAVAILABLE" | "DATABASE_UNAVAILABLE" | "PROVIDER_NOT_CONFIGURED" | "PROVIDER_TIMEOUT" | "ERROR";
        CreateChatCompletionRequest: {
            model: string;
            messages: components["schemas"]["ChatCompletionRequestMessage"][];
            max_tokens?: number | null;
            max_completion_tokens?: number | null;
            temperature?: number | null;
            top_p?: number | null;
            stop?: (string | null) | string[];
            n?: number | null;
            stream?: boolean | null;
            stream_options?: {
                include_usage?: boolean;
            } | null;
            response_format?: components["schemas"]["ResponseFormatText"] | components["schemas"]["ResponseFormatJsonObject"] | components["schemas"]["ResponseFormatJsonSchema"];
            seed?: number | null;
            user?: string;
            frequency_penalty?: number | null;
            presence_penalty?: number | null;
            logprobs?: boolean | null;
        };
        ChatCompletionRequestMessage: {
            role: "system" | "developer" | "user" | "assistant";
            content: string | components["schemas"]["ChatCompletionTextPart"][];
        };
        ChatCompletionTextPart: {
            type: "text";
            text: string;
        };
        ResponseFormatText: {
            type: "text";
        };
        ResponseFormatJsonObject: {
            type: "json_object";
        };
        ResponseFormatJsonSchema: {
            type: "json_schema";
            json_schema: {
                name: string;
                description?: string;
                schema?: Record<string, never>;
                strict?: boolean | null;
            };
        };
        CreateChatCompletionResponse: {
            id: string;
            object: "chat.completion";
            created: number;
            model: string;
            choices: {
                index: number;
                message: components["schemas"]["ChatCompletionResponseMessage"];
                finish_reason: "stop" | "length" | "tool_calls" | "content_filter" | "function_call";
                logprobs: Record<string, never> | null;
            }[];
            usage?: components["schemas"]["CompletionUsage"];
        };
        ChatCompletionResponseMessage: {
            role: "assistant";
            content: string | null;
            refusal: string | null;
        };
        ChatCompletionEventStream: string;
        CreateChatCompletionStreamResponse: {
            id: string;
            object: "chat.completion.chunk";
            created: number;
            model: string;
            choices: {
                index: number;
                delta: {
                    role?: "assistant";
                    content?: string | null;
                };
                finish_reason: "stop" | "length" | "content_filter" | null;
                logprobs?: Record<string, never> | null;
            }[];
            usage?: components["schemas"]["CompletionUsage"];
        };
        CompletionUsage: {
            prompt_tokens: number;
            completion_tokens: number;
            total_tokens: number;
        };
        ListModelsResponse: {
            object: "list";
            data: components["schemas"]["Model"][];
        };
        Model: {
            id: string;
            object: "model";
            created: number;
            owned_by: string;
        };
        ErrorResponse: {
            error: {
                message: string;
                type: "invalid_request_error" | "authentication_error" | "permission_error" | "not_found_error" | "rate_limit_error" | "server_error";
                param: string | null;
                code: string | null;
            };
        };
    };}
type ProcessingType = components["schemas"]["ProcessingType"];
type PromptRequest = components["schemas"]["Prompt"];
type ProcessResult = components["schemas"]["ProcessResult"];
type BatchTextsRequest = components["schemas"]["BatchTexts"];
type BatchResponse = components["schemas"]["BatchResponse"];
type BatchResult = components["schemas"]["BatchResult"];
type Problem = components["schemas"]["Problem"];
type KeywordsData = components["schemas"]["KeywordsData"];
type SentimentData = components["schemas"]["SentimentData"];
type EntitiesData = components["schemas"]["EntitiesData"];
type TextData = components["schemas"]["TextData"];
type HealthResponse = components["schemas"]["Health"];
type TemplateListResponse = components["schemas"]["TemplateList"];
type UsageReport = components["schemas"]["UsageReport"];
type UsageLine = components["schemas"]["UsageLine"];
type BudgetStatus = components["schemas"]["BudgetStatus"];
type EstimateResponse = components["schemas"]["Estimate"];
// ---- End of the generated types. ----
