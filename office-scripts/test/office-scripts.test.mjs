// The paste-ready Office Scripts (excel/*.ts), run against an in-memory workbook and a live
// FlaskLLM (offline provider) over real HTTP. Assertions are on what lands in the cells.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  FakeWorkbook, countingFetch, fillSettings, openAIEnv, runScript, setting, startFailingServer, startOpenAIFake,
  startServer,
} from "./helpers.mjs";

const REVIEWS = [
  "I love this keyboard. The keys feel great and the battery lasts for weeks.",
  "The delivery was late and the box was damaged. Very disappointing.",
  "It works as described.",
];
const MEETING = "We met to plan the product launch. Marketing will publish the landing page on Monday. " +
  "Engineering still has two blocking bugs in checkout. The launch moves to March 15 unless both bugs are fixed by Thursday.";

let server; // MAX_BODY_BYTES small enough to reach 413 with a few long cells
let limited; // RATE_LIMIT 3/second: 429 with Retry-After: 1
let upstream; // the OpenAI fake, for a priced provider
let priced; // FlaskLLM with the openai provider (gpt-4o-mini, in prices.json) against it

before(async () => {
  upstream = await startOpenAIFake();
  [server, limited, priced] = await Promise.all([
    startServer({ MAX_BODY_BYTES: "6000" }),
    startServer({ RATE_LIMIT: "3/second" }),
    startServer(openAIEnv(upstream)),
  ]);
});

after(async () => {
  await Promise.all([server && server.stop(), limited && limited.stop(), priced && priced.stop()]);
  await (upstream && upstream.stop());
});

const batches = (fetchImpl) => fetchImpl.calls.filter((call) => call.url.endsWith("/api/v1/webhook/batch"));

/** A workbook after Setup, with the settings filled in and `cells` in column A of Sheet1. */
async function workbookWith(cells, settings = {}, target = server) {
  const workbook = new FakeWorkbook();
  await runScript("Setup.ts", workbook);
  fillSettings(workbook, { "API URL": target.url, Token: target.token, ...settings });
  const sheet = workbook.getWorksheet("Sheet1");
  cells.forEach((text, row) => sheet.getRangeByIndexes(row, 0, 1, 1).setValue(text));
  workbook.select(`A1:A${cells.length}`, "Sheet1");
  return workbook;
}

describe("Setup", () => {
  test("creates the FlaskLLM sheet, keeps what was typed, and checks the connection", async () => {
    const workbook = new FakeWorkbook();
    const logs = await runScript("Setup.ts", workbook);
    const sheet = workbook.getWorksheet("FlaskLLM");
    assert.ok(sheet, "the settings sheet exists");
    assert.deepEqual(sheet.column("A", 14), ["Setting", "API URL", "Token", "Default type", "Language", "Source",
      "Output column", "Redo processed cells", "Chunk size", "Max wait (seconds)", "Confirm above (USD)", "Confirm",
      "Estimate", "Status"]);
    assert.equal(setting(workbook, "Confirm above (USD)"), "0.50");
    assert.equal(setting(workbook, "Token"), "");
    assert.equal(setting(workbook, "Default type"), "summary");
    assert.match(String(setting(workbook, "Status")), /Fill in API URL and Token/);
    assert.match(logs.join("\n"), /created/);

    fillSettings(workbook, { "API URL": server.url + "/", Token: server.token, "Default type": "keywords" });
    await runScript("Setup.ts", workbook);
    assert.equal(setting(workbook, "Token"), server.token, "a second run keeps the token");
    assert.equal(setting(workbook, "Default type"), "keywords");
    assert.match(String(setting(workbook, "Status")), /^OK: connected to FlaskLLM .*provider offline.*token accepted/);
  });

  test("reports a refused token in the Status cell", async () => {
    const workbook = new FakeWorkbook();
    await runScript("Setup.ts", workbook);
    fillSettings(workbook, { "API URL": server.url, Token: "not-a-token" });
    await runScript("Setup.ts", workbook);
    assert.match(String(setting(workbook, "Status")), /^ERROR: the server refused the token \(401\)/);
  });
});

describe("Process selection", () => {
  test("writes each summary in the column to the right, skipping empty cells", async () => {
    const workbook = await workbookWith([MEETING, "", REVIEWS[0]]);
    const logs = await runScript("ProcessSelection.ts", workbook);
    const sheet = workbook.getWorksheet("Sheet1");
    assert.match(String(sheet.value("B1")), /product launch/);
    assert.equal(sheet.value("B2"), "", "an empty cell is not sent");
    assert.match(String(sheet.value("B3")), /keyboard/);
    assert.match(logs.join("\n"), /2 cells to process as summary/);
    assert.match(logs.join("\n"), /Progress: 2\/2 cells \(2 done, 0 failed\)/);
    assert.match(String(setting(workbook, "Status")), /2 done, 0 failed, 0 skipped/);
  });

  test("sentiment: label and score in two columns", async () => {
    const workbook = await workbookWith(REVIEWS, { "Default type": "sentiment" });
    await runScript("ProcessSelection.ts", workbook);
    const sheet = workbook.getWorksheet("Sheet1");
    assert.equal(sheet.value("B1"), "positive");
    assert.equal(typeof sheet.value("C1"), "number");
    assert.ok(sheet.value("C1") > 0);
    assert.equal(sheet.value("B2"), "negative");
    assert.ok(sheet.value("C2") < 0);
    assert.ok(["neutral", "positive", "mixed"].includes(sheet.value("B3")));
  });

  test("keywords joined, entities with their type, into an Output column", async () => {
    const workbook = await workbookWith(
      ["The quarterly budget review is on Friday. Finance wants every team to cut cloud spending."],
      { "Default type": "keywords", "Output column": "D" });
    await runScript("ProcessSelection.ts", workbook);
    const sheet = workbook.getWorksheet("Sheet1");
    assert.equal(sheet.value("B1"), "");
    assert.match(String(sheet.value("D1")), /budget review.*, /);

    const entities = await workbookWith(
      ["Please send the signed contract to Dr. Jane Smith at jane.smith@acme.com by March 3, 2025."],
      { "Default type": "entities" });
    await runScript("ProcessSelection.ts", entities);
    const found = String(entities.getWorksheet("Sheet1").value("B1"));
    assert.match(found, /jane\.smith@acme\.com \(EMAIL\)/);
    assert.match(found, /Jane Smith \(PERSON\)/);
    assert.match(found, /; /);
  });

  test("skips processed cells unless asked to redo them; redoes ERROR cells", async () => {
    const workbook = await workbookWith(REVIEWS);
    await runScript("ProcessSelection.ts", workbook);
    const sheet = workbook.getWorksheet("Sheet1");
    sheet.getRange("B2").setValue("ERROR 502 PROVIDER_ERROR: earlier failure");
    const fetchImpl = countingFetch();
    const logs = await runScript("ProcessSelection.ts", workbook, { fetchImpl });
    assert.equal(batches(fetchImpl).length, 1);
    assert.deepEqual(JSON.parse(batches(fetchImpl)[0].body).texts, [REVIEWS[1]], "only the ERROR cell is sent again");
    assert.match(logs.join("\n"), /1 cells to process .*\(2 already done\)/);
    assert.match(String(sheet.value("B2")), /delivery/);

    fillSettings(workbook, { "Redo processed cells": "yes" });
    const again = countingFetch();
    await runScript("ProcessSelection.ts", workbook, { fetchImpl: again });
    assert.deepEqual(JSON.parse(batches(again)[0].body).texts, REVIEWS);
  });

  test("a failing cell gets a readable error and the others go on", async () => {
    const tooLong = "word ".repeat(900); // 4,500 characters: over MAX_PROMPT_LENGTH, under MAX_BODY_BYTES
    const workbook = await workbookWith([REVIEWS[0], tooLong, REVIEWS[2]]);
    await runScript("ProcessSelection.ts", workbook);
    const sheet = workbook.getWorksheet("Sheet1");
    assert.match(String(sheet.value("B1")), /keyboard/);
    assert.match(String(sheet.value("B2")), /^ERROR 413 PROMPT_TOO_LONG: .*4000/);
    assert.match(String(sheet.value("B3")), /works/);
    assert.match(String(setting(workbook, "Status")), /2 done, 1 failed/);
  });

  test("413 for the whole body: the chunk is split; a cell too large alone fails alone", async () => {
    const long = (n) => `Sentence number ${n} talks about the budget. `.repeat(55); // ~2,500 bytes each
    const huge = "é".repeat(3900); // under MAX_PROMPT_LENGTH in characters, over MAX_BODY_BYTES in bytes
    const workbook = await workbookWith([long(1), long(2), long(3), huge]);
    const fetchImpl = countingFetch();
    const logs = await runScript("ProcessSelection.ts", workbook, { fetchImpl });
    const sheet = workbook.getWorksheet("Sheet1");
    for (const row of [1, 2, 3]) {
      assert.match(String(sheet.value(`B${row}`)), new RegExp(`Sentence number ${row}`), `B${row}`);
    }
    assert.match(String(sheet.value("B4")), /^ERROR 413 PAYLOAD_TOO_LARGE: .*MAX_BODY_BYTES/);
    assert.ok(batches(fetchImpl).length >= 4, `split into smaller requests (${batches(fetchImpl).length})`);
    assert.match(logs.join("\n"), /3 done, 1 failed/);
  });

  test("401 on the estimate: a clear Status, nothing processed", async () => {
    const workbook = await workbookWith(REVIEWS, { Token: "wrong-token" });
    const fetchImpl = countingFetch();
    await runScript("ProcessSelection.ts", workbook, { fetchImpl });
    assert.match(String(setting(workbook, "Status")), /^ERROR: no estimate \(401 UNAUTHORIZED: the server refused the token/);
    assert.equal(fetchImpl.calls.length, 1);
    assert.equal(workbook.getWorksheet("Sheet1").value("B1"), "");
  });

  test("401 when confirmed: a clear message in the cells and the Status, and no more requests", async () => {
    const workbook = await workbookWith(REVIEWS, { Token: "wrong-token", "Chunk size": "1", Confirm: "yes" });
    const fetchImpl = countingFetch();
    await runScript("ProcessSelection.ts", workbook, { fetchImpl });
    const sheet = workbook.getWorksheet("Sheet1");
    assert.match(String(sheet.value("B1")), /^ERROR 401 UNAUTHORIZED: the server refused the token; check Token/);
    assert.equal(sheet.value("B2"), "", "processing stopped after the 401");
    assert.equal(fetchImpl.calls.length, 1);
    assert.match(String(setting(workbook, "Status")), /^ERROR .*0 done, 1 failed.*2 not sent: stopped, 401/);
  });

  test("429: waits as Retry-After asks and goes on, and sends no more than the limit at once", async () => {
    const texts = Array.from({ length: 8 }, (_, i) => `Review ${i + 1}: the product is great and I love it.`);
    const workbook = await workbookWith(texts, { "Chunk size": "10", "Default type": "sentiment" }, limited);
    const started = Date.now();
    const logs = await runScript("ProcessSelection.ts", workbook);
    const sheet = workbook.getWorksheet("Sheet1");
    for (let row = 1; row <= texts.length; row++) {
      assert.equal(sheet.value(`B${row}`), "positive", `B${row}`);
    }
    const text = logs.join("\n");
    assert.match(text, /Rate limited \(429\): waiting 1 s as Retry-After asks/);
    assert.match(text, /8 done, 0 failed/);
    assert.ok(Date.now() - started >= 1000, "it waited");
  });

  test("5xx: retried, then a readable error per cell, and the next chunk still goes", async () => {
    const failing = await startFailingServer(502, "PROVIDER_ERROR");
    try {
      const workbook = await workbookWith(REVIEWS.slice(0, 2), { "Chunk size": "1", Confirm: "yes" },
        { url: failing.url, token: "t" });
      const logs = await runScript("ProcessSelection.ts", workbook);
      const sheet = workbook.getWorksheet("Sheet1");
      assert.match(String(sheet.value("B1")), /^ERROR 502 PROVIDER_ERROR: The upstream provider failed/);
      assert.match(String(sheet.value("B2")), /^ERROR 502 PROVIDER_ERROR/);
      assert.equal(failing.requests(), 2 * 3, "each chunk: one try and two retries");
      assert.match(logs.join("\n"), /Server error 502: trying again/);
      assert.match(String(setting(workbook, "Status")), /0 done, 2 failed/);
    } finally {
      await failing.stop();
    }
  });

  test("an unreachable server is reported, not thrown", async () => {
    const workbook = await workbookWith(REVIEWS.slice(0, 1), {}, { url: "http://127.0.0.1:9", token: "t" });
    await runScript("ProcessSelection.ts", workbook);
    assert.match(String(setting(workbook, "Status")), /^ERROR: no estimate \(could not reach http:\/\/127\.0\.0\.1:9/);
    fillSettings(workbook, { Confirm: "yes" });
    await runScript("ProcessSelection.ts", workbook);
    assert.match(String(workbook.getWorksheet("Sheet1").value("B1")), /^ERROR could not reach http:\/\/127\.0\.0\.1:9/);
  });

  test("without the settings sheet it says to run Setup", async () => {
    const workbook = new FakeWorkbook();
    workbook.getActiveWorksheet().getRange("A1").setValue("text");
    const logs = await runScript("ProcessSelection.ts", workbook);
    assert.match(logs.join("\n"), /run the FlaskLLM Setup script first/);
    assert.equal(workbook.getActiveWorksheet().value("B1"), "");
  });

  test("a multi-area selection is refused with a clear message", async () => {
    const workbook = await workbookWith(REVIEWS);
    workbook.select("A1:A2,C1:C2", "Sheet1");
    const fetchImpl = countingFetch();
    await runScript("ProcessSelection.ts", workbook, { fetchImpl });
    assert.match(String(setting(workbook, "Status")), /^ERROR: the selection has 2 areas .*select one rectangular range/);
    assert.equal(fetchImpl.calls.length, 0);
  });
});

describe("Process selection: estimate first, and a log row per cell", () => {
  const LOG_HEADER = ["Cell", "Time (UTC)", "Request ID", "Provider", "Model", "Template version", "Cached",
    "Input tokens", "Output tokens", "Cost (USD)", "Status", "Code"];
  /** What the server's own estimate says, as the script writes it (asked before the run). */
  const expectedEstimate = async (texts, cached) => {
    const response = await fetch(`${priced.url}/api/v1/estimate`, {
      method: "POST", headers: { "Content-Type": "application/json", "X-API-Token": priced.token },
      body: JSON.stringify({ texts, type: "summary", source: "excel" }),
    });
    const { totals } = await response.json();
    assert.equal(totals.cached, cached);
    assert.ok(totals.cost_usd.low > 0 && totals.cost_usd.high > totals.cost_usd.low);
    return `${texts.length} cells, ${cached} cached (free), $${totals.cost_usd.low.toFixed(6)} to $${totals.cost_usd.high.toFixed(6)}`;
  };
  const logRows = (workbook) => workbook.getWorksheet("FlaskLLM log").getUsedRange().getValues();

  test("below Confirm above: estimates, runs, and logs what answered each cell", async () => {
    const workbook = await workbookWith(REVIEWS, {}, priced);
    const expected = await expectedEstimate(REVIEWS, 0);
    const before = await upstream.calls();
    const fetchImpl = countingFetch();
    const logs = await runScript("ProcessSelection.ts", workbook, { fetchImpl });
    assert.deepEqual(fetchImpl.calls.map((c) => new URL(c.url).pathname), ["/api/v1/estimate", "/api/v1/webhook/batch"]);
    assert.equal(setting(workbook, "Estimate"), expected);
    assert.match(logs.join("\n"), /Estimate: 3 cells/);
    assert.equal(await upstream.calls(), before + 3, "the estimate called no provider; the run one per cell");
    const sheet = workbook.getWorksheet("Sheet1");
    for (const row of [1, 2, 3]) assert.notEqual(sheet.value(`B${row}`), "", `B${row}`);
    assert.match(String(setting(workbook, "Status")), /3 done, 0 failed/);

    const rows = logRows(workbook);
    assert.deepEqual(rows[0], LOG_HEADER);
    assert.equal(rows.length, 4, "a header and one row per processed cell");
    rows.slice(1).forEach((row, i) => {
      const [cell, time, requestId, provider, model, version, cached, input, output, cost, status, code] = row;
      assert.equal(cell, `Sheet1!A${i + 1}`);
      assert.ok(!Number.isNaN(Date.parse(String(time))));
      assert.match(String(requestId), new RegExp(`^[0-9a-f]{32}-${i}$`));
      assert.deepEqual([provider, status, code, cached], ["openai", 200, "", false]);
      assert.match(String(model), /^gpt-4o-mini/);
      assert.match(String(version), /^\d+\+[0-9a-f]{8}$/);
      assert.ok(input > 0 && output > 0 && cost > 0, `tokens and cost: ${row}`);
    });
    assert.ok(!JSON.stringify([...workbook.getWorksheet("FlaskLLM log").cells.values()]).includes(priced.token),
      "no token in the log");

    fillSettings(workbook, { "Redo processed cells": "yes" });
    await runScript("ProcessSelection.ts", workbook);
    assert.match(String(setting(workbook, "Estimate")), /^3 cells, 3 cached \(free\), \$0\.00 to \$0\.00$/);
    assert.equal(await upstream.calls(), before + 3, "cached: no provider call");
    const again = logRows(workbook);
    assert.equal(again.length, 7, "rows are appended");
    assert.ok(again.slice(4).every((row) => row[6] === true && row[9] === 0), "cached, at cost 0");
  });

  test("above Confirm above: writes the estimate and stops; Confirm: yes runs it once", async () => {
    const cells = REVIEWS.map((text, i) => `${text} (${i} above)`);
    const workbook = await workbookWith(cells, { "Confirm above (USD)": "0.0001" }, priced);
    const expected = await expectedEstimate(cells, 0);
    const before = await upstream.calls();
    const fetchImpl = countingFetch();
    await runScript("ProcessSelection.ts", workbook, { fetchImpl });
    assert.deepEqual(fetchImpl.calls.map((c) => new URL(c.url).pathname), ["/api/v1/estimate"]);
    assert.equal(setting(workbook, "Estimate"), expected);
    assert.match(String(setting(workbook, "Status")),
      /^STOPPED before processing: 3 cells.*above Confirm above \(0\.0001 USD\)\. Set Confirm to yes and run again/);
    assert.equal(workbook.getWorksheet("Sheet1").value("B1"), "");
    assert.equal(workbook.getWorksheet("FlaskLLM log"), undefined);
    assert.equal(await upstream.calls(), before);

    fillSettings(workbook, { Confirm: "yes" });
    const confirmed = countingFetch();
    await runScript("ProcessSelection.ts", workbook, { fetchImpl: confirmed });
    assert.deepEqual(confirmed.calls.map((c) => new URL(c.url).pathname), ["/api/v1/webhook/batch"]);
    assert.match(String(setting(workbook, "Status")), /3 done, 0 failed/);
    assert.equal(setting(workbook, "Confirm"), "no", "one confirmation, one run");
    assert.equal(logRows(workbook).length, 4);
  });

  test("a failed cell is logged with its status and code", async () => {
    const workbook = await workbookWith([REVIEWS[0], "word ".repeat(900)]);
    await runScript("ProcessSelection.ts", workbook);
    const rows = logRows(workbook);
    assert.equal(rows.length, 3);
    const failed = rows.find((row) => row[0] === "Sheet1!A2");
    assert.deepEqual([failed[10], failed[11]], [413, "PROMPT_TOO_LONG"]);
    assert.match(String(failed[2]), /^[0-9a-f]{32}-1$/);
  });
});
