// Setup.ts: a FlaskLLM Office Script for Excel (Automate ▸ New script: paste this whole file).
// Built by `npm run gen` from office-scripts/scripts/Setup.ts and spec/openapi.yaml. Do not edit here.

// FlaskLLM ▸ Setup (an Office Script for Excel's Automate tab).
//
// Creates the "FlaskLLM" settings sheet that the other FlaskLLM scripts read: the API URL, your
// token, the default processing type and language. Run it once, fill in the URL and the token,
// then run it again: it keeps what you typed, adds any setting that is missing, and checks the
// connection (the result is written next to "Status").
//
// The token lives in the workbook, never in a script: anyone who can open the workbook can read
// it, so use a token of your own (`flaskllm tokens create NAME`) and revoke it when you share
// the workbook.

const SETTINGS_SHEET = "FlaskLLM";
const URL_PLACEHOLDER = "https://your-flaskllm-server.example.com";

// [label, default value, note]; scripts find a setting by its label in column A.
const SETTINGS: [string, string, string][] = [
  ["API URL", URL_PLACEHOLDER, "The FlaskLLM server's address (without /api/v1)."],
  ["Token", "", "Your X-API-Token. Anyone who can open this workbook can read it: use a token of your own."],
  ["Default type", "summary", "summary, keywords, sentiment, entities, translation or custom."],
  ["Language", "", "For translation: the target language (ISO 639-1: fr, de, es…)."],
  ["Source", "excel", "Where the text comes from: email, meeting, document, chat, excel or other."],
  ["Output column", "", "A column letter (e.g. D) for results; empty: the column right of the selection."],
  ["Redo processed cells", "no", "yes: process again the cells whose result is already filled in."],
  ["Chunk size", "50", "Cells sent in one request (at most the server's BATCH_MAX_ITEMS)."],
  ["Max wait (seconds)", "120", "Longest Retry-After a script waits out when rate limited (429)."],
  ["Status", "", "Written by the FlaskLLM scripts."],
];

interface ConnectionCheck {
  ok: boolean;
  message: string;
}

async function main(workbook: ExcelScript.Workbook): Promise<void> {
  let sheet = workbook.getWorksheet(SETTINGS_SHEET);
  const created = !sheet;
  if (!sheet) {
    sheet = workbook.addWorksheet(SETTINGS_SHEET);
  }
  const values = readTable(sheet);
  const rows: ExcelScript.CellValue[][] = [["Setting", "Value", "Notes"]];
  for (const [label, fallback, note] of SETTINGS) {
    const kept = values[label.toLowerCase()];
    rows.push([label, kept === undefined ? fallback : kept, note]);
  }
  const table = sheet.getRangeByIndexes(0, 0, rows.length, 3);
  table.setValues(rows);
  sheet.getRangeByIndexes(0, 0, 1, 3).getFormat().getFont().setBold(true);
  table.getFormat().autofitColumns();

  const url = String(rows[1][1]).trim();
  const token = String(rows[2][1]).trim();
  let status: string;
  if (!url || url === URL_PLACEHOLDER || !token) {
    status = "Fill in API URL and Token, then run Setup again to check the connection.";
  } else {
    const check = await checkConnection(url, token);
    status = (check.ok ? "OK: " : "ERROR: ") + check.message;
  }
  const statusRow = SETTINGS.length; // the last setting; row 0 holds the headers
  sheet.getRangeByIndexes(statusRow, 1, 1, 1).setValue(status);
  if (created) {
    sheet.activate();
  }
  console.log(`FlaskLLM settings ${created ? "created" : "updated"} on sheet "${SETTINGS_SHEET}". ${status}`);
}

/** Column A label (lower case) → column B value, for the rows already on the sheet. */
function readTable(sheet: ExcelScript.Worksheet): { [label: string]: ExcelScript.CellValue } {
  const found: { [label: string]: ExcelScript.CellValue } = {};
  const used = sheet.getUsedRange(true);
  if (!used) {
    return found;
  }
  // Columns A and B, from row 1 to the last used row.
  const ab = sheet.getRangeByIndexes(0, 0, used.getRowIndex() + used.getRowCount(), 2).getValues();
  for (const row of ab) {
    const label = String(row[0]).trim().toLowerCase();
    if (label && row.length > 1) {
      found[label] = row[1];
    }
  }
  return found;
}

/** Health needs no token; the template list does, so it tells whether the token is accepted. */
async function checkConnection(baseUrl: string, token: string): Promise<ConnectionCheck> {
  const base = baseUrl.replace(/\/+$/, "");
  try {
    const health = await fetch(`${base}/api/v1/health`);
    if (health.status !== 200 && health.status !== 503) {
      return { ok: false, message: `${base}/api/v1/health answered ${health.status}: is API URL a FlaskLLM server?` };
    }
    const info: HealthResponse = await health.json();
    const templates = await fetch(`${base}/api/v1/templates`, { headers: { "X-API-Token": token } });
    if (templates.status === 401) {
      return { ok: false, message: "the server refused the token (401): check Token." };
    }
    if (templates.status === 429) {
      return { ok: false, message: `rate limited (429): retry in ${templates.headers.get("Retry-After") || "a few"} seconds.` };
    }
    if (templates.status !== 200) {
      const problem: Problem = await templates.json();
      return { ok: false, message: `${templates.status} ${problem.code}: ${problem.detail}` };
    }
    const list: TemplateListResponse = await templates.json();
    const state = info.status === "ok" ? "healthy" : `degraded (${info.status})`;
    return {
      ok: true,
      message: `connected to FlaskLLM ${info.version}, provider ${info.provider}, ${state}; ` +
        `token accepted; ${list.templates.length} templates.`,
    };
  } catch (error) {
    return { ok: false, message: `could not reach ${base}: ${error}. Check API URL (https) and that the server allows this origin (ALLOWED_ORIGINS=*).` };
  }
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
