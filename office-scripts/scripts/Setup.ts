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
  ["Confirm above (USD)", "0.50", "Process selection asks first when its estimate is above this many dollars."],
  ["Confirm", "no", "yes: process the next selection whatever its estimate (then back to no)."],
  ["Estimate", "", "Written by Process selection: cells, cached cells and the cost range in USD."],
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
  const values = readSettingsSheet(workbook) || {};
  const rows: string[][] = [["Setting", "Value", "Notes"]];
  for (const [label, fallback, note] of SETTINGS) {
    const kept = values[label.toLowerCase()];
    rows.push([label, kept === undefined ? fallback : kept, note]);
  }
  const table = sheet.getRangeByIndexes(0, 0, rows.length, 3);
  table.setValues(rows);
  sheet.getRangeByIndexes(0, 0, 1, 3).getFormat().getFont().setBold(true);
  table.getFormat().autofitColumns();

  const connection = connectionFrom(readSettingsSheet(workbook) || {});
  let status: string;
  if (!connection.url || connection.url === URL_PLACEHOLDER || !connection.token) {
    status = "Fill in API URL and Token, then run Setup again to check the connection.";
  } else {
    const check = await checkConnection(connection);
    status = (check.ok ? "OK: " : "ERROR: ") + check.message;
  }
  const statusRow = SETTINGS.length; // the last setting; row 0 holds the headers
  sheet.getRangeByIndexes(statusRow, 1, 1, 1).setValue(status);
  if (created) {
    sheet.activate();
  }
  console.log(`FlaskLLM settings ${created ? "created" : "updated"} on sheet "${SETTINGS_SHEET}". ${status}`);
}

/** Health needs no token; the template list does, so it tells whether the token is accepted. */
async function checkConnection(connection: Connection): Promise<ConnectionCheck> {
  const health = await call(connection, "GET", "/api/v1/health");
  if (health.status === 0) {
    return { ok: false, message: health.text };
  }
  if (health.status !== 200 && health.status !== 503) {
    return { ok: false, message: `${connection.url}/api/v1/health answered ${health.status}: is API URL a FlaskLLM server?` };
  }
  const info: HealthResponse = JSON.parse(health.text);
  const templates = await call(connection, "GET", "/api/v1/templates");
  if (templates.status === 401) {
    return { ok: false, message: "the server refused the token (401): check Token." };
  }
  if (templates.status !== 200) {
    return { ok: false, message: describeAnswer(templates) };
  }
  const list: TemplateListResponse = JSON.parse(templates.text);
  const state = info.status === "ok" ? "healthy" : `degraded (${info.status})`;
  return {
    ok: true,
    message: `connected to FlaskLLM ${info.version}, provider ${info.provider}, ${state}; ` +
      `token accepted; ${list.templates.length} templates.`,
  };
}
