// The FlaskLLM task pane (Home ▸ FlaskLLM ▸ Settings): the server's URL and your token, kept in
// OfficeRuntime.storage where the custom functions (functions.ts, same page) read them. The
// token is typed here by each user and stored on their machine: it is never in the add-in's
// source or manifest.

Office.onReady(async () => {
  const form = document.getElementById("settings") as HTMLFormElement;
  const urlInput = document.getElementById("url") as HTMLInputElement;
  const tokenInput = document.getElementById("token") as HTMLInputElement;
  const status = document.getElementById("status") as HTMLElement;
  const show = (message: string) => {
    status.textContent = message;
  };

  urlInput.value = (await OfficeRuntime.storage.getItem(STORAGE_URL)) || "";
  tokenInput.value = (await OfficeRuntime.storage.getItem(STORAGE_TOKEN)) || "";

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const url = urlInput.value.trim().replace(/\/+$/, "");
    await OfficeRuntime.storage.setItems({ [STORAGE_URL]: url, [STORAGE_TOKEN]: tokenInput.value.trim() });
    show("Saved. Checking the connection…");
    show(await checkConnection(url, tokenInput.value.trim()));
  });

  (document.getElementById("clear") as HTMLButtonElement).addEventListener("click", async () => {
    const count = await clearFlaskLLMCache();
    show(`Forgot ${count} cached answers. Recalculate (Ctrl+Alt+F9) to ask the server again.`);
  });
});

async function checkConnection(url: string, token: string): Promise<string> {
  try {
    const health = await fetch(`${url}/api/v1/health`);
    const info: HealthResponse = await health.json();
    const templates = await fetch(`${url}/api/v1/templates`, { headers: { "X-API-Token": token } });
    if (templates.status === 401) {
      return "The server refused the token (401). Check it and save again.";
    }
    if (!templates.ok) {
      const problem: Problem = await templates.json();
      return `The server answered ${templates.status} ${problem.code}: ${problem.detail}`;
    }
    return `Connected to FlaskLLM ${info.version} (provider ${info.provider}); token accepted.`;
  } catch (error) {
    return `Could not reach ${url}: ${error}. Check the URL (https) and the server's ALLOWED_ORIGINS.`;
  }
}

// ---- The selected range: its estimate, then Process, then what answered each cell ----------

/** One "last run" row: the same facts the Process-selection script logs (never the token). */
interface RunRow {
  cell: string;
  time: string;
  requestId: string;
  provider: string;
  model: string;
  templateVersion: string;
  cached: string;
  tokens: string;
  cost: string;
  status: string;
}

const RUN_COLUMNS: (keyof RunRow)[] = ["cell", "time", "requestId", "provider", "model", "templateVersion", "cached",
  "tokens", "cost", "status"];

Office.onReady(() => {
  const typeSelect = document.getElementById("type") as HTMLSelectElement;
  const estimateText = document.getElementById("estimate-result") as HTMLElement;
  const processButton = document.getElementById("process") as HTMLButtonElement;
  const lastRun = document.getElementById("last-run-rows") as HTMLElement;

  const refresh = async () => {
    processButton.disabled = true;
    estimateText.textContent = "Estimating the selected range…";
    try {
      const cells = await selectedCells();
      const estimate = await estimateTexts(await requireSettings(), cells.map((cell) => cell.text), typeSelect.value as ProcessingType);
      estimateText.textContent = describePaneEstimate(estimate);
      processButton.disabled = cells.length === 0;
    } catch (error) {
      estimateText.textContent = messageOf(error);
    }
  };
  typeSelect.addEventListener("change", () => void refresh());
  (document.getElementById("estimate") as HTMLButtonElement).addEventListener("click", () => void refresh());
  Office.context.document.addHandlerAsync(Office.EventType.DocumentSelectionChanged, () => void refresh());

  processButton.addEventListener("click", async () => {
    processButton.disabled = true;
    const type = typeSelect.value as ProcessingType;
    const cells = await selectedCells();
    const rows = await Promise.all(cells.map((cell) => processForPane(cell, type)));
    await Excel.run(async (context) => {
      const sheet = context.workbook.worksheets.getActiveWorksheet();
      cells.forEach((cell, i) => {
        sheet.getCell(cell.row, cell.outputColumn).values = [[rows[i].output]];
      });
      await context.sync();
    });
    lastRun.innerHTML = "";
    for (const { row } of rows) {
      const tr = document.createElement("tr");
      for (const column of RUN_COLUMNS) {
        const td = document.createElement("td");
        td.textContent = row[column];
        tr.appendChild(td);
      }
      lastRun.appendChild(tr);
    }
    estimateText.textContent = `Processed ${cells.length} cells (details below).`;
  });
});

/** A non-empty cell of the selection, and where its result goes (the column to the right). */
interface PaneCell {
  address: string;
  row: number;
  outputColumn: number;
  text: string;
}

async function selectedCells(): Promise<PaneCell[]> {
  return Excel.run(async (context) => {
    const areas = context.workbook.getSelectedRanges();
    areas.load("areaCount,address");
    await context.sync();
    if (areas.areaCount > 1) {
      // Excel's getSelectedRange() throws on such a selection: say why instead.
      throw new Error(`The selection has ${areas.areaCount} areas (${areas.address}): select one rectangular range.`);
    }
    const range = context.workbook.getSelectedRange();
    range.load("values,rowIndex,columnIndex,columnCount");
    await context.sync();
    const cells: PaneCell[] = [];
    const proxies: Excel.Range[] = [];
    range.values.forEach((row, r) => row.forEach((value, c) => {
      const text = value === null || value === undefined ? "" : String(value).trim();
      if (text) {
        const proxy = range.getCell(r, c);
        proxy.load("address");
        proxies.push(proxy);
        cells.push({ address: "", row: range.rowIndex + r, outputColumn: range.columnIndex + range.columnCount + c, text });
      }
    }));
    await context.sync();
    proxies.forEach((proxy, i) => {
      cells[i].address = proxy.address;
    });
    return cells;
  });
}

async function processForPane(cell: PaneCell, type: ProcessingType): Promise<{ output: string; row: RunRow }> {
  const time = new Date().toISOString();
  const empty = { cell: cell.address, time, requestId: "", provider: "", model: "", templateVersion: "", cached: "",
    tokens: "", cost: "" };
  try {
    const result = await flaskllm(cell.text, type);
    if (!result) {
      return { output: "", row: { ...empty, status: "empty" } };
    }
    const usage = result.usage;
    return {
      output: result.summary,
      row: {
        cell: cell.address, time, requestId: result.request_id, provider: result.provider, model: result.model,
        templateVersion: result.template_version || "", cached: result.cached ? "yes" : "no",
        tokens: `${usage.input_tokens} in, ${usage.output_tokens} out`,
        cost: usage.cost_usd === null || usage.cost_usd === undefined ? "unknown" : String(usage.cost_usd), status: "200",
      },
    };
  } catch (error) {
    return { output: `ERROR ${messageOf(error)}`, row: { ...empty, status: messageOf(error) } };
  }
}

function describePaneEstimate(estimate: PaneEstimate): string {
  const cost = estimate.low === null || estimate.high === null
    ? "cost unknown (a model without a price)" : `$${estimate.low.toFixed(6)} to $${estimate.high.toFixed(6)}`;
  return `Estimate: ${estimate.cells} cells, ${estimate.cached} cached (free), ${cost}.`;
}

function messageOf(error: unknown): string {
  return error instanceof Error || (error && typeof (error as { message?: unknown }).message === "string")
    ? String((error as { message: string }).message) : String(error);
}
