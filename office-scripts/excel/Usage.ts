// Usage.ts: a FlaskLLM Office Script for Excel (Automate ▸ New script: paste this whole file).
// Built by `npm run gen` from office-scripts/scripts/Usage.ts, scripts/shared/prelude.ts and
// spec/openapi.yaml. Do not edit here.

// FlaskLLM ▸ Usage (an Office Script for Excel's Automate tab).
//
// Fetches your token's usage from FlaskLLM (GET /api/v1/usage) and writes it on the
// "FlaskLLM usage" sheet: the totals, then one table per day, per processing type and per model,
// and the budget when the server has one for your token. URL and token come from the "FlaskLLM"
// sheet that the Setup script creates: never put a token in a script.
//
// The report's shape is the spec's UsageReport (office-scripts/generated/api.ts).

const USAGE_SHEET = "FlaskLLM usage";

async function main(workbook: ExcelScript.Workbook): Promise<void> {
  const found = readSettingsSheet(workbook);
  if (!found) {
    console.log(`No "${SETTINGS_SHEET}" sheet: run the FlaskLLM Setup script first.`);
    return;
  }
  const connection = connectionFrom(found);
  let sheet = workbook.getWorksheet(USAGE_SHEET);
  if (!sheet) {
    sheet = workbook.addWorksheet(USAGE_SHEET);
  }
  const previous = sheet.getUsedRange();
  if (previous) {
    previous.clear();
  }
  if (!connection.url || !connection.token) {
    writeMessage(sheet, "ERROR: fill in API URL and Token on the FlaskLLM sheet (run Setup to check them).");
    return;
  }
  const answer = await call(connection, "GET", "/api/v1/usage");
  if (answer.status !== 200) {
    const message = answer.status === 404
      ? "404: this FlaskLLM server has no usage report (GET /api/v1/usage); ask its operator to upgrade."
      : describeAnswer(answer);
    writeMessage(sheet, `ERROR ${message}`);
    return;
  }
  const report: UsageReport = JSON.parse(answer.text);
  writeReport(sheet, report);
  console.log(`Usage from ${report.from} to ${report.to}: ${report.totals.requests} requests.`);
}

function writeReport(sheet: ExcelScript.Worksheet, report: UsageReport): void {
  const rows: Cell[][] = [];
  const add = (cells: Cell[]) => {
    rows.push(cells);
  };
  const counts = (line: UsageLine): Cell[] => [
    line.requests, line.errors, line.cached, line.input_tokens, line.output_tokens,
    line.cost_usd === null ? "unknown" : line.cost_usd, line.unpriced,
  ];
  const header = ["Requests", "Errors", "Cached", "Input tokens", "Output tokens", "Cost (USD)", "Unpriced"];
  const group = (title: string, column: string, lines: UsageLine[]) => {
    add([]);
    add([title]);
    add([column].concat(header));
    lines.forEach((line) => add([line.key as Cell].concat(counts(line))));
  };

  add([`FlaskLLM usage of token "${report.token || ""}", ${report.from} to ${report.to} (UTC days)`]);
  group("Totals", "", [report.totals]);
  group("By day", "Day", report.by_day);
  group("By type", "Type", report.by_type);
  group("By model", "Model", report.by_model);
  const budget: BudgetStatus | null = report.budget;
  if (budget) {
    const limit = (value: number | null): Cell => (value === null ? "no limit" : value);
    const left = (value: number | null): Cell => (value === null ? "" : value);
    add([]);
    add(["Budget"]);
    add(["Period", "Limit (USD)", "Spent (USD)", "Held (USD)", "Remaining (USD)", "Requests", "Request quota", "Requests left", "Resets at (UTC)"]);
    add([`Day ${budget.day.period}`, limit(budget.limits.daily_usd), budget.day.spent_usd, budget.day.reserved_usd,
      left(budget.day.remaining_usd), budget.day.requests, limit(budget.limits.daily_requests),
      left(budget.day.remaining_requests), budget.day.resets_at]);
    add([`Month ${budget.month.period}`, limit(budget.limits.monthly_usd), budget.month.spent_usd,
      budget.month.reserved_usd, left(budget.month.remaining_usd), budget.month.requests, "", "", budget.month.resets_at]);
  }
  const width = 9;
  const table = rows.map((row) => {
    const cells = row.slice(0, width);
    while (cells.length < width) {
      cells.push("");
    }
    return cells;
  });
  sheet.getRangeByIndexes(0, 0, table.length, width).setValues(table);
  table.forEach((row, index) => {
    if (["Totals", "By day", "By type", "By model", "Budget"].indexOf(String(row[0])) >= 0 && row[1] === "") {
      sheet.getRangeByIndexes(index, 0, 1, 1).getFormat().getFont().setBold(true);
    }
  });
  sheet.getRangeByIndexes(0, 0, table.length, width).getFormat().autofitColumns();
}

function writeMessage(sheet: ExcelScript.Worksheet, message: string): void {
  sheet.getRangeByIndexes(0, 0, 1, 1).setValue(message);
  console.log(message);
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
