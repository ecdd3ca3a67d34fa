// The add-in's task pane (addin/src/taskpane.ts, with functions.ts: one page) against a live
// FlaskLLM: the selection's estimate before Process, Process itself, and the last run's rows.
// Office.js is stood in for by what the pane touches: Office.onReady, the selection-changed
// event, the DOM elements it reads and writes, and Excel.run over an in-memory workbook.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import vm from "node:vm";
import { FakeWorkbook, HERE, countingFetch, openAIEnv, startOpenAIFake, startServer, transpile } from "./helpers.mjs";

class Element {
  constructor(tag = "div") {
    this.tag = tag; this.value = ""; this.textContent = ""; this.disabled = false; this.children = []; this.listeners = {};
  }
  set innerHTML(html) { if (html === "") this.children = []; }
  addEventListener(type, listener) { (this.listeners[type] = this.listeners[type] || []).push(listener); }
  appendChild(child) { this.children.push(child); return child; }
  async fire(type) { await Promise.all((this.listeners[type] || []).map((listener) => listener({ preventDefault() {} }))); }
}

/** Excel.run over `workbook` (test/fake-workbook.ts): the few Excel JavaScript API calls the pane makes. */
function excelOver(workbook) {
  const loaded = (target, fill) => Object.assign(target, { load() { fill(target); } });
  return {
    run: async (batch) => batch({
      sync: async () => undefined,
      workbook: {
        getSelectedRanges: () => loaded({}, (t) => {
          const areas = workbook.getSelectedRanges();
          t.areaCount = areas.getAreaCount(); t.address = areas.getAddress();
        }),
        getSelectedRange: () => {
          const range = workbook.getSelectedRange();
          return loaded({
            getCell: (r, c) => loaded({}, (t) => { t.address = range.getCell(r, c).getAddress(); }),
          }, (t) => {
            t.values = range.getValues(); t.rowIndex = range.getRowIndex(); t.columnIndex = range.getColumnIndex();
            t.columnCount = range.getColumnCount();
          });
        },
        worksheets: {
          getActiveWorksheet: () => ({
            getCell: (row, column) => ({
              set values(values) { workbook.getActiveWorksheet().getRangeByIndexes(row, column, 1, 1).setValues(values); },
            }),
          }),
        },
      },
    }),
  };
}

class MemoryStorage {
  constructor(items) { this.items = new Map(Object.entries(items)); }
  async getItem(key) { return this.items.has(key) ? this.items.get(key) : null; }
  async setItem(key, value) { this.items.set(key, String(value)); }
  async setItems(values) { for (const [k, v] of Object.entries(values)) this.items.set(k, String(v)); }
  async removeItem(key) { this.items.delete(key); }
}

/** The pane's page, loaded as Excel loads it, with the settings saved for `server`. */
async function openPane(server, workbook) {
  const elements = new Map();
  const ready = [];
  const selectionChanged = [];
  const fetchImpl = countingFetch();
  const context = vm.createContext({
    fetch: fetchImpl, setTimeout, clearTimeout, console,
    document: {
      getElementById: (id) => elements.get(id) || elements.set(id, new Element()).get(id),
      createElement: (tag) => new Element(tag),
    },
    Office: {
      onReady: (callback) => ready.push(callback),
      EventType: { DocumentSelectionChanged: "DocumentSelectionChanged" },
      context: { document: { addHandlerAsync: (_type, handler) => selectionChanged.push(handler) } },
    },
    Excel: excelOver(workbook),
    CustomFunctions: { Error: class { constructor(code, message) { this.code = code; this.message = message; } },
      ErrorCode: { invalidValue: "#VALUE!", notAvailable: "#N/A" }, associate: () => undefined },
    OfficeRuntime: { storage: new MemoryStorage({ "flaskllm.url": server.url, "flaskllm.token": server.token }) },
  });
  for (const file of ["functions.ts", "taskpane.ts"]) {
    vm.runInContext(transpile(join(HERE, "addin", "src", file)), context, { filename: file });
  }
  context.document.getElementById("type").value = "summary";
  await Promise.all(ready.map((callback) => callback()));
  const element = (id) => context.document.getElementById(id);
  return {
    element, fetchImpl,
    /** Excel's selection-changed event; resolves when the pane has shown what it found. */
    async selectionChanged() {
      selectionChanged.forEach((handler) => handler());
      const deadline = Date.now() + 10_000;
      while (element("estimate-result").textContent.startsWith("Estimating") && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

let upstream;
let priced;

before(async () => {
  upstream = await startOpenAIFake();
  priced = await startServer(openAIEnv(upstream));
});

after(async () => {
  await (priced && priced.stop());
  await (upstream && upstream.stop());
});

test("the pane estimates the selection before Process, then processes it and lists the last run", async () => {
  const workbook = new FakeWorkbook();
  const sheet = workbook.getActiveWorksheet();
  ["The quarterly budget review is on Friday.", "", "Finance wants every team to cut cloud spending."]
    .forEach((text, row) => sheet.getRangeByIndexes(row, 0, 1, 1).setValue(text));
  workbook.select("A1:A3");
  const pane = await openPane(priced, workbook);
  const calls = await upstream.calls();

  await pane.selectionChanged();
  assert.match(pane.element("estimate-result").textContent,
    /^Estimate: 2 cells, 0 cached \(free\), \$0\.\d{6} to \$0\.\d{6}\.$/);
  assert.equal(pane.element("process").disabled, false, "Process once there is an estimate");
  assert.equal(await upstream.calls(), calls, "estimating calls no provider");

  await pane.element("process").fire("click");
  assert.match(String(sheet.value("B1")), /budget/i);
  assert.equal(sheet.value("B2"), "");
  assert.match(String(sheet.value("B3")), /cloud|finance/i);
  const rows = pane.element("last-run-rows").children.map((tr) => tr.children.map((td) => td.textContent));
  assert.equal(rows.length, 2);
  for (const [i, row] of rows.entries()) {
    const [cell, time, requestId, provider, model, version, cached, tokens, cost, status] = row;
    assert.equal(cell, `Sheet1!A${i === 0 ? 1 : 3}`);
    assert.ok(!Number.isNaN(Date.parse(time)));
    assert.match(requestId, /^[0-9a-f]{32}-\d+$/);
    assert.deepEqual([provider, cached, status], ["openai", "no", "200"]);
    assert.match(model, /^gpt-4o-mini/);
    assert.match(version, /^\d+\+[0-9a-f]{8}$/);
    assert.match(tokens, /^\d+ in, \d+ out$/);
    assert.ok(Number(cost) > 0);
    assert.ok(!row.join(" ").includes(priced.token), "no token in the pane's rows");
  }

  const estimates = () => pane.fetchImpl.calls.filter((call) => call.url.endsWith("/api/v1/estimate")).length;
  const asked = estimates();
  await pane.selectionChanged();
  assert.equal(estimates(), asked, "nothing left to ask the server about");
  assert.equal(pane.element("estimate-result").textContent, "Estimate: 2 cells, 2 cached (free), $0.000000 to $0.000000.",
    "cells the add-in answered cost nothing");
});

test("a multi-area selection: the pane says why, and Process stays off", async () => {
  const workbook = new FakeWorkbook();
  workbook.getActiveWorksheet().getRange("A1").setValue("Some text.");
  workbook.select("A1:A2,C1:C2");
  const pane = await openPane(priced, workbook);
  await pane.selectionChanged();
  assert.match(pane.element("estimate-result").textContent, /The selection has 2 areas .*select one rectangular range/);
  assert.equal(pane.element("process").disabled, true);
});
