// The custom-functions add-in (addin/src/functions.ts) against a live FlaskLLM, over real HTTP.
// Excel's runtime is stood in for by what the functions touch: CustomFunctions (associate,
// Error, ErrorCode), OfficeRuntime.storage, fetch and timers. A rejected promise carrying a
// CustomFunctions.Error is what Excel shows as that error value; a pending one shows #BUSY!.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import vm from "node:vm";
import {
  HERE, countingFetch, openAIEnv, startFailingServer, startOpenAIFake, startServer, transpile,
} from "./helpers.mjs";
import { buildAddin } from "../tools/build-addin.mjs";
import { checkManifest } from "../tools/validate-manifest.mjs";

const ERROR_CODES = {
  divisionByZero: "#DIV/0!", invalidName: "#NAME?", invalidNumber: "#NUM!", invalidReference: "#REF!",
  invalidValue: "#VALUE!", notAvailable: "#N/A", nullReference: "#NULL!",
};

class MemoryStorage {
  constructor() { this.items = new Map(); }
  async getItem(key) { return this.items.has(key) ? this.items.get(key) : null; }
  async setItem(key, value) { this.items.set(key, String(value)); }
  async setItems(values) { for (const [k, v] of Object.entries(values)) this.items.set(k, String(v)); }
  async removeItem(key) { this.items.delete(key); }
}

/** A fresh add-in runtime (as when Excel opens a workbook); `storage` survives across runtimes. */
function loadAddin({ storage = new MemoryStorage(), fetchImpl = countingFetch() } = {}) {
  const functions = {};
  class CustomFunctionsError {
    constructor(code, message) { this.code = code; this.message = message; }
  }
  const context = vm.createContext({
    fetch: fetchImpl, setTimeout, clearTimeout, console,
    CustomFunctions: {
      Error: CustomFunctionsError,
      ErrorCode: ERROR_CODES,
      associate: (id, fn) => { functions[id] = fn; },
    },
    OfficeRuntime: { storage },
  });
  vm.runInContext(transpile(join(HERE, "addin", "src", "functions.ts")), context, { filename: "functions.js" });
  return { functions, storage, fetch: fetchImpl, batches: () => fetchImpl.calls.filter((c) => c.url.endsWith("/webhook/batch")) };
}

async function configured(server, token = server.token) {
  const storage = new MemoryStorage();
  await storage.setItems({ "flaskllm.url": server.url + "/", "flaskllm.token": token });
  return storage;
}

const excelError = (code, message) => (error) => {
  assert.equal(error.code, code);
  if (message) assert.match(error.message, message);
  return true;
};

const REVIEW = "I love this keyboard. The keys feel great and the battery lasts for weeks.";
const BUDGET = "The quarterly budget review is on Friday. Finance wants every team to cut cloud spending.";
const CONTRACT = "Please send the signed contract to Dr. Jane Smith at jane.smith@acme.com by March 3, 2025.";

let server;
let limited;
let upstream; // the OpenAI fake
let priced; // FlaskLLM, openai provider with gpt-4o-mini (priced) against the fake
let unpriced; // the same with a model prices.json does not know

before(async () => {
  upstream = await startOpenAIFake();
  [server, limited, priced, unpriced] = await Promise.all([
    startServer({ MAX_BODY_BYTES: "6000" }),
    startServer({ RATE_LIMIT: "3/second" }),
    startServer(openAIEnv(upstream)),
    startServer({ ...openAIEnv(upstream), OPENAI_MODEL: "gpt-test" }),
  ]);
});

after(async () => {
  await Promise.all([server && server.stop(), limited && limited.stop(), priced && priced.stop(),
    unpriced && unpriced.stop()]);
  await (upstream && upstream.stop());
});

describe("custom functions", () => {
  test("every function in functions.json is associated, under the FLASKLLM namespace", async () => {
    const { functions } = loadAddin();
    assert.deepEqual(Object.keys(functions).sort(),
      ["ENTITIES", "ESTIMATE", "KEYWORDS", "PROCESS", "SENTIMENT", "SENTIMENTSCORE", "SUMMARY", "TRANSLATE"]);
    const { problems } = await checkManifest();
    assert.deepEqual(problems, []);
  });

  test("no token: #N/A with a message, and no request", async () => {
    const addin = loadAddin();
    await assert.rejects(addin.functions.SUMMARY(REVIEW), excelError("#N/A", /token/));
    assert.equal(addin.fetch.calls.length, 0);
  });

  test("typed results: text, label and score side by side, joined keywords and entities", async () => {
    const { functions } = loadAddin({ storage: await configured(server) });
    const [text, process, sentiment, score, keywords, top2, found] = await Promise.all([
      functions.SUMMARY(BUDGET),
      functions.PROCESS(BUDGET, "keywords"),
      functions.SENTIMENT(REVIEW),
      functions.SENTIMENTSCORE(REVIEW),
      functions.KEYWORDS(BUDGET),
      functions.KEYWORDS(BUDGET, 2),
      functions.ENTITIES(CONTRACT),
    ]);
    assert.match(text, /budget review/);
    assert.match(process, /budget review/);
    assert.equal(sentiment.length, 1);
    assert.equal(sentiment[0][0], "positive");
    assert.equal(typeof sentiment[0][1], "number");
    assert.equal(score, sentiment[0][1]);
    assert.ok(keywords.split(", ").length > 2);
    assert.deepEqual(top2.split(", "), keywords.split(", ").slice(0, 2));
    assert.match(found, /Jane Smith \(PERSON\)/);
    assert.match(found, /jane\.smith@acme\.com \(EMAIL\); |; jane\.smith@acme\.com \(EMAIL\)/);
  });

  test("calls made together go out as one batch request per type", async () => {
    const addin = loadAddin({ storage: await configured(server) });
    const texts = Array.from({ length: 12 }, (_, i) => `Row ${i}: the delivery was quick and the support team was helpful.`);
    const results = await Promise.all([
      ...texts.map((t) => addin.functions.SUMMARY(t)),
      ...texts.map((t) => addin.functions.SENTIMENTSCORE(t)),
      ...texts.map((t) => addin.functions.SENTIMENT(t)), // same requests as SENTIMENTSCORE: shared
    ]);
    assert.equal(results.length, 36);
    const batches = addin.batches();
    assert.equal(batches.length, 2, "one summary batch and one sentiment batch");
    for (const call of batches) {
      assert.equal(JSON.parse(call.body).texts.length, 12);
      assert.equal(JSON.parse(call.body).source, "excel");
    }
  });

  test("answers are cached per (text, type, options), across a restart of the runtime", async () => {
    const storage = await configured(server);
    const first = loadAddin({ storage });
    const summary = await first.functions.SUMMARY(BUDGET);
    await first.functions.PROCESS(BUDGET, "summary");
    await first.functions.PROCESS(BUDGET, "SUMMARY ");
    assert.equal(first.batches().length, 1, "same text, same type: one request");
    await first.functions.KEYWORDS(BUDGET);
    assert.equal(first.batches().length, 2, "another type is another answer");
    await new Promise((resolve) => setTimeout(resolve, 1300)); // the cache is written a second after

    const reopened = loadAddin({ storage });
    assert.equal(await reopened.functions.SUMMARY(BUDGET), summary);
    await reopened.functions.KEYWORDS(BUDGET);
    assert.equal(reopened.batches().length, 0, "reopening the workbook does not pay again");
    assert.equal(await reopened.functions.SUMMARY(""), "", "an empty cell is empty, without a request");
    assert.equal(reopened.batches().length, 0);
  });

  test("errors: wrong token, unknown type, a text too long: readable #VALUE! errors", async () => {
    const wrong = loadAddin({ storage: await configured(server, "wrong-token") });
    await assert.rejects(wrong.functions.SUMMARY(REVIEW), excelError("#VALUE!", /refused the token \(401\)/));

    const { functions } = loadAddin({ storage: await configured(server) });
    await assert.rejects(functions.PROCESS(REVIEW, "poem"), excelError("#VALUE!", /Unknown type "poem"/));
    const results = await Promise.allSettled([functions.SUMMARY("word ".repeat(900)), functions.SUMMARY(REVIEW)]);
    assert.equal(results[0].status, "rejected");
    assert.equal(results[0].reason.code, "#VALUE!");
    assert.match(results[0].reason.message, /413 PROMPT_TOO_LONG/);
    assert.equal(results[1].status, "fulfilled", "the other cell of the batch still gets its answer");
  });

  test("413 for a whole batch: split in halves; a cell too large alone gets #VALUE!", async () => {
    const addin = loadAddin({ storage: await configured(server) });
    const long = (n) => `Paragraph ${n} is about the budget and the cloud spending. `.repeat(45);
    const results = await Promise.allSettled([1, 2, 3].map((n) => addin.functions.SUMMARY(long(n)))
      .concat([addin.functions.SUMMARY("é".repeat(3900))]));
    for (const n of [0, 1, 2]) assert.equal(results[n].status, "fulfilled", `text ${n + 1}`);
    assert.equal(results[3].status, "rejected");
    assert.match(results[3].reason.message, /413 PAYLOAD_TOO_LARGE/);
    assert.ok(addin.batches().length >= 4);
  });

  test("429: the cells stay pending (#BUSY!) for Retry-After, then get their answers", async () => {
    const addin = loadAddin({ storage: await configured(limited) });
    const texts = Array.from({ length: 7 }, (_, i) => `Cell ${i}: a calm and pleasant afternoon in the park.`);
    const started = Date.now();
    const all = Promise.all(texts.map((t) => addin.functions.SENTIMENT(t)));
    let settled = false;
    all.then(() => { settled = true; }, () => { settled = true; });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(settled, false, "still pending while rate limited: Excel shows #BUSY!");
    const results = await all;
    assert.equal(results.length, 7);
    assert.ok(results.every((r) => typeof r[0][1] === "number"));
    assert.ok(Date.now() - started >= 1000, "it waited for Retry-After");
    const sizes = addin.batches().map((c) => JSON.parse(c.body).texts.length);
    assert.equal(sizes[0], 7, "the first try, refused: 7 items count more than 3/second allows");
    assert.ok(sizes.slice(1).every((n) => n <= 3), `then no batch larger than the limit (${sizes})`);
  });

  test("5xx: retried, then #VALUE! with the problem's code and detail", async () => {
    const failing = await startFailingServer(502, "PROVIDER_ERROR");
    try {
      const { functions } = loadAddin({ storage: await configured(failing, "t") });
      await assert.rejects(functions.SUMMARY(REVIEW), excelError("#VALUE!", /^502 PROVIDER_ERROR: The upstream provider failed/));
      assert.equal(failing.requests(), 3);
    } finally {
      await failing.stop();
    }
  });

  test("the hosted build: scripts, metadata and a manifest pointing at the host", async () => {
    const { mkdtempSync, readFileSync, existsSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const out = buildAddin("https://excel.example.org/flaskllm/", mkdtempSync(join(tmpdir(), "flaskllm-addin-")));
    for (const file of ["functions.js", "taskpane.js", "taskpane.html", "functions.json", "manifest.xml", "assets/icon-80.png"]) {
      assert.ok(existsSync(join(out, file)), file);
    }
    const manifest = readFileSync(join(out, "manifest.xml"), "utf8");
    assert.ok(!manifest.includes("localhost"));
    assert.match(manifest, /<bt:Url id="Functions.Script.Url" DefaultValue="https:\/\/excel.example.org\/flaskllm\/functions.js"\/>/);
    assert.match(manifest, /<AppDomain>https:\/\/excel.example.org<\/AppDomain>/);
    const { problems } = await checkManifest(join(out, "manifest.xml"));
    assert.deepEqual(problems, []);
  });

  test("=FLASKLLM.ESTIMATE(range, type): the server's high estimate in USD, without processing", async () => {
    const addin = loadAddin({ storage: await configured(priced) });
    const range = [[REVIEW, ""], [BUDGET, CONTRACT], [null, "  "]];
    const direct = await fetch(`${priced.url}/api/v1/estimate`, {
      method: "POST", headers: { "Content-Type": "application/json", "X-API-Token": priced.token },
      body: JSON.stringify({ texts: [REVIEW, BUDGET, CONTRACT], type: "keywords", source: "excel" }),
    }).then((r) => r.json());
    const before = await upstream.calls();
    const usd = await addin.functions.ESTIMATE(range, "keywords");
    assert.equal(typeof usd, "number");
    assert.ok(usd > 0);
    assert.equal(usd, direct.totals.cost_usd.high);
    assert.equal(await upstream.calls(), before, "an estimate calls no provider");
    assert.equal(addin.batches().length, 0, "nothing processed");

    await addin.functions.KEYWORDS(BUDGET); // answered now: the add-in will not ask again
    const less = await addin.functions.ESTIMATE(range, "keywords");
    assert.ok(less < usd, `${less} < ${usd}`);
    assert.equal(await addin.functions.ESTIMATE([[""]]), 0);
    await assert.rejects(addin.functions.ESTIMATE(range, "poem"), excelError("#VALUE!", /Unknown type "poem"/));
  });

  test("=FLASKLLM.ESTIMATE: #N/A for a model without a price, and without a token", async () => {
    const addin = loadAddin({ storage: await configured(unpriced) });
    await assert.rejects(addin.functions.ESTIMATE([[REVIEW]]), excelError("#N/A", /no price/));
    await assert.rejects(loadAddin().functions.ESTIMATE([[REVIEW]]), excelError("#N/A", /token/));
  });
});
