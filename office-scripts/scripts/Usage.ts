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

