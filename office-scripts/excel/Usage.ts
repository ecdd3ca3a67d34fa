// Usage.ts: a FlaskLLM Office Script for Excel (Automate ▸ New script: paste this whole file).
// Built by `npm run gen` from office-scripts/scripts/Usage.ts and spec/openapi.yaml. Do not edit here.

// FlaskLLM ▸ Usage (an Office Script for Excel's Automate tab).
//
// Fetches your token's usage from FlaskLLM (GET /api/v1/usage) and writes it on the
// "FlaskLLM usage" sheet: the totals, then one table per day, per processing type and per model,
// and the budget when the server has one for your token. URL and token come from the "FlaskLLM"
// sheet that the Setup script creates: never put a token in a script.
//
// The report's shape is the spec's UsageReport (office-scripts/generated/api.ts).

const SETTINGS_SHEET = "FlaskLLM";
const USAGE_SHEET = "FlaskLLM usage";
const MAX_TRIES = 3; // 429 and 5xx answers are tried again, at most this many times in all

async function main(workbook: ExcelScript.Workbook): Promise<void> {
  const settings = workbook.getWorksheet(SETTINGS_SHEET);
  if (!settings) {
    console.log(`No "${SETTINGS_SHEET}" sheet: run the FlaskLLM Setup script first.`);
    return;
  }
  const found: { [label: string]: string } = {};
  const used = settings.getUsedRange(true);
  if (used) {
    const rows = settings.getRangeByIndexes(0, 0, used.getRowIndex() + used.getRowCount(), 2).getValues();
    for (const row of rows) {
      found[String(row[0]).trim().toLowerCase()] = String(row[1]).trim();
    }
  }
  const url = (found["api url"] || "").replace(/\/+$/, "");
  const token = found["token"] || "";
  const maxWait = Number(found["max wait (seconds)"] || "120");

  let sheet = workbook.getWorksheet(USAGE_SHEET);
  if (!sheet) {
    sheet = workbook.addWorksheet(USAGE_SHEET);
  }
  const previous = sheet.getUsedRange();
  if (previous) {
    previous.clear();
  }
  if (!url || !token) {
    writeMessage(sheet, "ERROR: fill in API URL and Token on the FlaskLLM sheet (run Setup to check them).");
    return;
  }

  for (let attempt = 1; ; attempt++) {
    let response: Response;
    try {
      response = await fetch(`${url}/api/v1/usage`, { headers: { "X-API-Token": token } });
    } catch (error) {
      writeMessage(sheet, `ERROR: could not reach ${url}: ${error}`);
      return;
    }
    if (response.status === 200) {
      const report: UsageReport = await response.json();
      writeReport(sheet, report);
      console.log(`Usage from ${report.from} to ${report.to}: ${report.totals.requests} requests.`);
      return;
    }
    const text = await response.text();
    const wait = Number(response.headers.get("Retry-After") || "5");
    if (response.status === 429 && attempt < MAX_TRIES && wait <= maxWait) {
      console.log(`Rate limited (429): waiting ${wait} s as Retry-After asks, then trying again.`);
      await sleep(wait * 1000);
      continue;
    }
    if (response.status >= 500 && attempt < MAX_TRIES) {
      console.log(`Server error ${response.status}: trying again in ${attempt / 2} s.`);
      await sleep(attempt * 500);
      continue;
    }
    writeMessage(sheet, `ERROR ${describe(response.status, text)}`);
    return;
  }
}

function describe(status: number, text: string): string {
  if (status === 401) {
    return "401 UNAUTHORIZED: the server refused the token; check Token on the FlaskLLM sheet.";
  }
  if (status === 404) {
    return "404: this FlaskLLM server has no usage report (GET /api/v1/usage); ask its operator to upgrade.";
  }
  try {
    const problem: Problem = JSON.parse(text);
    if (problem && problem.code) {
      return `${status} ${problem.code}: ${problem.detail}`;
    }
  } catch (error) {
    // not JSON: an HTML error page from a proxy, say
  }
  return `${status} ${text.slice(0, 200)}`;
}

function writeReport(sheet: ExcelScript.Worksheet, report: UsageReport): void {
  const rows: ExcelScript.CellValue[][] = [];
  const add = (cells: ExcelScript.CellValue[]) => {
    rows.push(cells);
  };
  const counts = (line: UsageLine): ExcelScript.CellValue[] => [
    line.requests, line.errors, line.cached, line.input_tokens, line.output_tokens,
    line.cost_usd === null ? "unknown" : line.cost_usd, line.unpriced,
  ];
  const header = ["Requests", "Errors", "Cached", "Input tokens", "Output tokens", "Cost (USD)", "Unpriced"];
  const group = (title: string, column: string, lines: UsageLine[]) => {
    add([]);
    add([title]);
    add([column].concat(header));
    lines.forEach((line) => add([line.key as ExcelScript.CellValue].concat(counts(line))));
  };

  add([`FlaskLLM usage of token "${report.token || ""}", ${report.from} to ${report.to} (UTC days)`]);
  group("Totals", "", [report.totals]);
  group("By day", "Day", report.by_day);
  group("By type", "Type", report.by_type);
  group("By model", "Model", report.by_model);
  const budget: BudgetStatus | null = report.budget;
  if (budget) {
    const limit = (value: number | null): ExcelScript.CellValue => (value === null ? "no limit" : value);
    const left = (value: number | null): ExcelScript.CellValue => (value === null ? "" : value);
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

function sleep(ms: number): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, ms));
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
