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
