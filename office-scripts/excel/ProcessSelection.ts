// ProcessSelection.ts: a FlaskLLM Office Script for Excel (Automate ▸ New script: paste this whole file).
// Built by `npm run gen` from office-scripts/scripts/ProcessSelection.ts and spec/openapi.yaml. Do not edit here.

// FlaskLLM ▸ Process selection (an Office Script for Excel's Automate tab).
//
// Sends every non-empty cell of the selected range through FlaskLLM's batch endpoint
// (POST /api/v1/webhook/batch), a chunk of cells per request, and writes each result into the
// column right of the selection (or the "Output column" of the FlaskLLM sheet). Sentiment
// fills two columns (label, score); keywords and entities are joined into one cell. A cell that
// fails gets a readable "ERROR …" text and the others go on; cells whose result is already
// there are skipped unless "Redo processed cells" is yes (cells with an ERROR are redone).
//
// Settings (URL, token, type…) come from the "FlaskLLM" sheet that the Setup script creates:
// never put a token in a script.

const SETTINGS_SHEET = "FlaskLLM";
const ERROR_PREFIX = "ERROR";
const MAX_SERVER_RETRIES = 2; // a 5xx answer is retried this many times before the cells fail

interface Settings {
  url: string;
  token: string;
  type: ProcessingType;
  language: string;
  source: string;
  outputColumn: string;
  redo: boolean;
  chunkSize: number;
  maxWait: number;
}

/** One cell to process: where it is in the selection, and its text. */
interface Job {
  row: number;
  column: number;
  text: string;
}

/** An HTTP answer, reduced to what the script needs. */
interface Answer {
  status: number;
  text: string;
  retryAfter: number;
  limit: number;
}

async function main(workbook: ExcelScript.Workbook): Promise<void> {
  const settings = readSettings(workbook);
  if (!settings) {
    console.log(`No "${SETTINGS_SHEET}" sheet: run the FlaskLLM Setup script first.`);
    return;
  }
  if (!settings.url || !settings.token) {
    setStatus(workbook, "ERROR: fill in API URL and Token on this sheet (run Setup to check them).");
    console.log("API URL or Token is empty on the FlaskLLM sheet.");
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

  let done = 0;
  let failed = 0;
  let stopped = "";
  const write = (job: Job, cells: ExcelScript.CellValue[]) => {
    for (let i = 0; i < width; i++) {
      results[job.row][job.column * width + i] = i < cells.length ? cells[i] : "";
    }
  };
  const fail = (job: Job, message: string) => {
    write(job, [`${ERROR_PREFIX} ${message}`]);
    failed++;
  };

  // Chunks wait in a queue: a chunk refused as too large (413) or larger than the rate limit
  // allows at once (429) goes back as smaller chunks.
  const queue: Job[][] = [];
  for (let i = 0; i < jobs.length; i += settings.chunkSize) {
    queue.push(jobs.slice(i, i + settings.chunkSize));
  }
  let serverRetries = 0;
  let sent = 0;
  while (queue.length > 0 && !stopped) {
    const chunk = queue.shift() as Job[];
    const request: BatchTextsRequest = { texts: chunk.map((job) => job.text), type: settings.type };
    if (settings.source) {
      request.source = settings.source as BatchTextsRequest["source"];
    }
    if (settings.language) {
      request.language = settings.language;
    }
    const answer = await post(`${settings.url}/api/v1/webhook/batch`, settings.token, JSON.stringify(request));
    if (answer.status === 200) {
      serverRetries = 0;
      const batch: BatchResponse = JSON.parse(answer.text);
      for (const item of batch.results) {
        const job = chunk[item.index];
        if (item.status === 200 && item.result) {
          write(job, cellsFor(settings.type, item.result));
          done++;
        } else {
          fail(job, describeProblem(item.status, item.error));
        }
      }
    } else if (answer.status === 413 && chunk.length > 1) {
      const half = Math.ceil(chunk.length / 2);
      queue.unshift(chunk.slice(0, half), chunk.slice(half));
      continue;
    } else if (answer.status === 429 && answer.limit > 0 && chunk.length > answer.limit) {
      // The whole batch counts against the limit: send no more at once than it allows.
      for (let i = chunk.length; i > 0; i -= answer.limit) {
        queue.unshift(chunk.slice(Math.max(0, i - answer.limit), i));
      }
      continue;
    } else if (answer.status === 429) {
      const wait = answer.retryAfter > 0 ? answer.retryAfter : 5;
      if (wait > settings.maxWait) {
        stopped = `rate limited for ${wait} s, longer than Max wait (${settings.maxWait} s): ${problemDetail(answer)}`;
        break;
      }
      console.log(`Rate limited (429): waiting ${wait} s as Retry-After asks, then going on.`);
      await sleep(wait * 1000);
      queue.unshift(chunk);
      continue;
    } else if (answer.status >= 500 && serverRetries < MAX_SERVER_RETRIES) {
      serverRetries++;
      console.log(`Server error ${answer.status}: trying again in ${serverRetries / 2} s.`);
      await sleep(serverRetries * 500); // the server already retried its provider: a short pause
      queue.unshift(chunk);
      continue;
    } else if (answer.status === 0 || answer.status === 401 || answer.status === 403) {
      stopped = answer.status === 0 ? answer.text : describeAnswer(answer);
      for (const job of chunk) {
        fail(job, stopped);
      }
    } else {
      // 413 for one cell, another 4xx, or a 5xx after retries: these cells fail, the rest go on.
      serverRetries = 0;
      for (const job of chunk) {
        fail(job, describeAnswer(answer));
      }
    }
    sent += chunk.length;
    output.setValues(results);
    console.log(`Progress: ${sent}/${jobs.length} cells (${done} done, ${failed} failed).`);
  }
  output.setValues(results);

  const left = jobs.length - done - failed;
  let status = `${new Date().toISOString()}: ${done} done, ${failed} failed, ${skipped} skipped`;
  if (stopped) {
    status = `ERROR ${status}, ${left} not sent: stopped, ${stopped}`;
  }
  setStatus(workbook, status);
  console.log(status);
}

/** The cells for one result: typed data where a spreadsheet wants it split or joined. */
function cellsFor(type: ProcessingType, result: ProcessResult): ExcelScript.CellValue[] {
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

/** POST with the token; network failures come back as status 0 with a message. */
async function post(url: string, token: string, body: string): Promise<Answer> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-API-Token": token },
      body: body,
    });
    return {
      status: response.status,
      text: await response.text(),
      retryAfter: Number(response.headers.get("Retry-After") || "0"),
      limit: Number(response.headers.get("X-RateLimit-Limit") || "0"),
    };
  } catch (error) {
    return { status: 0, text: `could not reach ${url}: ${error}`, retryAfter: 0, limit: 0 };
  }
}

function describeAnswer(answer: Answer): string {
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
    // not JSON: an HTML error page from a proxy, say
  }
  return answer.text.slice(0, 200);
}

function describeProblem(status: number, problem?: Problem): string {
  return problem ? `${status} ${problem.code}: ${problem.detail}` : `${status}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, ms));
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

function readSettings(workbook: ExcelScript.Workbook): Settings | undefined {
  const sheet = workbook.getWorksheet(SETTINGS_SHEET);
  if (!sheet) {
    return undefined;
  }
  const used = sheet.getUsedRange(true);
  const found: { [label: string]: string } = {};
  if (used) {
    const rows = sheet.getRangeByIndexes(0, 0, used.getRowIndex() + used.getRowCount(), 2).getValues();
    for (const row of rows) {
      found[String(row[0]).trim().toLowerCase()] = String(row[1]).trim();
    }
  }
  const get = (label: string, fallback: string) => found[label] || fallback;
  const chunk = Math.floor(Number(get("chunk size", "50")));
  const wait = Number(get("max wait (seconds)", "120"));
  return {
    url: get("api url", "").replace(/\/+$/, ""),
    token: get("token", ""),
    type: get("default type", "summary").toLowerCase() as ProcessingType,
    language: get("language", "").toLowerCase(),
    source: get("source", "excel").toLowerCase(),
    outputColumn: get("output column", ""),
    redo: ["yes", "true", "1", "y"].indexOf(get("redo processed cells", "no").toLowerCase()) >= 0,
    chunkSize: chunk > 0 ? chunk : 50,
    maxWait: wait >= 0 ? wait : 120,
  };
}

function setStatus(workbook: ExcelScript.Workbook, message: string): void {
  const sheet = workbook.getWorksheet(SETTINGS_SHEET);
  if (!sheet) {
    return;
  }
  const used = sheet.getUsedRange(true);
  const count = used ? used.getRowIndex() + used.getRowCount() : 0;
  const labels = count > 0 ? sheet.getRangeByIndexes(0, 0, count, 1).getValues() : [];
  let row = labels.findIndex((cells) => String(cells[0]).trim().toLowerCase() === "status");
  if (row < 0) {
    row = count;
    sheet.getRangeByIndexes(row, 0, 1, 1).setValue("Status");
  }
  sheet.getRangeByIndexes(row, 1, 1, 1).setValue(message);
}

// ---- FlaskLLM API types, generated from spec/openapi.yaml. Do not edit. ----
interface components {
    schemas: {
        ProcessingType: "summary" | "keywords" | "sentiment" | "entities" | "translation" | "custom";
        Prompt: {
            prompt: string;
            type?: components["schemas"]["ProcessingType"];
            source?: "email" | "meeting" | "document" | "chat" | "excel" | "other";
            language?: string;
            provider?: string;
            model?: string;
            template?: string;
            variables?: {
                [key: string]: string;
            };
            instruction?: string;
        };
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
        ServerSentEvent: {
            event: "delta" | "done" | "error";
            data: string;
            id?: string;
        };
        BatchRequest: components["schemas"]["BatchItems"] | components["schemas"]["BatchTexts"];
        BatchItems: {
            items: Record<string, never>[];
        };
        BatchTexts: {
            texts: string[];
            type?: components["schemas"]["Prompt"]["type"];
            source?: components["schemas"]["Prompt"]["source"];
            language?: components["schemas"]["Prompt"]["language"];
            provider?: components["schemas"]["Prompt"]["provider"];
            model?: components["schemas"]["Prompt"]["model"];
            template?: components["schemas"]["Prompt"]["template"];
            variables?: components["schemas"]["Prompt"]["variables"];
            instruction?: components["schemas"]["Prompt"]["instruction"];
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
        Usage: {
            input_tokens: number;
            output_tokens: number;
            cost_usd: number | null;
        };
        Health: {
            status: "ok" | "degraded";
            version: string;
            provider: string;
            checks: {
                [key: string]: components["schemas"]["Check"];
            };
        };
        Check: {
            status: "ok" | "error";
            latency_ms?: number;
            detail?: string;
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
        BudgetProblem: components["schemas"]["Problem"] & {
            limit: "daily_usd" | "monthly_usd" | "daily_requests";
            resets_at: string;
        };
        Problem: {
            type: string;
            title: string;
            status: number;
            detail: string;
            code: string;
        } & {
            [key: string]: unknown;
        };
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
            logprobs?: false | null;
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
            usage?: components["schemas"]["CompletionUsage"] | null;
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
// ---- End of the generated types. ----
