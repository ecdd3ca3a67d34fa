// FlaskLLM's Excel custom functions: =FLASKLLM.PROCESS(A1, "summary"), =FLASKLLM.SENTIMENT(A1)…
//
// The add-in runs in a shared runtime (manifest.xml): these functions and the settings task pane
// share one page, one cache and one queue. A plain browser script, not a module, so that the
// page can load it with a <script> tag and nothing has to be bundled.
//
// - Calls made together (a column filling in, a workbook opening) are gathered for BATCH_DELAY_MS
//   and sent as one POST /api/v1/webhook/batch per (type, language), at most MAX_BATCH texts each.
// - Answers are cached per (server, type, language, text), in memory and in OfficeRuntime.storage,
//   so reopening a workbook or inserting a row does not pay again. Errors are never cached.
// - The token comes from the task pane's settings (OfficeRuntime.storage), never from source.
// - Errors: #N/A without a token; #BUSY! (a pending promise) while rate limited; otherwise
//   #VALUE! with a readable message (hover the cell's error flag to see it).

const STORAGE_URL = "flaskllm.url";
const STORAGE_TOKEN = "flaskllm.token";
const STORAGE_CACHE = "flaskllm.cache";
const BATCH_DELAY_MS = 50;
const MAX_BATCH = 100;
const MAX_CACHED = 2000;
const MAX_WAIT_SECONDS = 60; // a longer Retry-After (a spent budget) becomes an error, not #BUSY!
const SERVER_RETRIES = 2;
// The spec's ProcessingType names, checked by the compiler both ways against the generated types:
// a name the spec does not have, or one of its names left out, fails `npm test`'s typecheck.
const TYPE_NAMES: { [name in ProcessingType]: true } = {
  summary: true, keywords: true, sentiment: true, entities: true, translation: true, custom: true,
};
const TYPES = Object.keys(TYPE_NAMES) as ProcessingType[];

interface AddinSettings {
  url: string;
  token: string;
}

/** An estimate added up over its requests; null: a model without a price. */
interface PaneEstimate {
  cells: number;
  cached: number;
  low: number | null;
  high: number | null;
}

interface Waiting {
  text: string;
  key: string;
  resolve: (result: ProcessResult) => void;
  reject: (error: CustomFunctions.Error) => void;
}

interface Group {
  type: ProcessingType;
  language: string;
  waiting: Waiting[];
  timer: ReturnType<typeof setTimeout> | undefined;
}

const answers = new Map<string, ProcessResult>();
const inFlight = new Map<string, Promise<ProcessResult>>();
const groups = new Map<string, Group>();
let cacheLoaded: Promise<void> | undefined;
let persistTimer: ReturnType<typeof setTimeout> | undefined;

/**
 * Processes text with FlaskLLM and returns the result as text.
 * @customfunction PROCESS
 * @param text The text, or a cell that holds it.
 * @param [type] summary, keywords, sentiment, entities, translation or custom (default: summary).
 * @param [language] For translation: the target language, as a two-letter code such as fr.
 * @returns The result as text.
 */
async function processCell(text: any, type?: string, language?: string): Promise<string> {
  const result = await flaskllm(text, checkedType(type), language);
  return result ? result.summary : "";
}

/**
 * A short summary of the text.
 * @customfunction SUMMARY
 * @param text The text, or a cell that holds it.
 * @returns The summary.
 */
async function summary(text: any): Promise<string> {
  const result = await flaskllm(text, "summary");
  return result ? result.summary : "";
}

/**
 * The sentiment of the text: its label and its score (-1 to 1), in two cells side by side.
 * @customfunction SENTIMENT
 * @param text The text, or a cell that holds it.
 * @returns positive, negative, neutral or mixed, and the score.
 */
async function sentiment(text: any): Promise<any[][]> {
  const result = await flaskllm(text, "sentiment");
  if (!result) {
    return [["", ""]];
  }
  const data = result.data as SentimentData;
  return [[data.label, data.score]];
}

/**
 * The sentiment score of the text, from -1 (most negative) to 1 (most positive).
 * @customfunction SENTIMENTSCORE
 * @param text The text, or a cell that holds it.
 * @returns The score.
 */
async function sentimentScore(text: any): Promise<number | string> {
  const result = await flaskllm(text, "sentiment");
  return result ? (result.data as SentimentData).score : "";
}

/**
 * The keywords of the text, best first, joined with commas.
 * @customfunction KEYWORDS
 * @param text The text, or a cell that holds it.
 * @param [count] How many keywords at most (default: all).
 * @returns The keywords.
 */
async function keywords(text: any, count?: number): Promise<string> {
  const result = await flaskllm(text, "keywords");
  if (!result) {
    return "";
  }
  const found = (result.data as KeywordsData).map((keyword) => keyword.text);
  return (count && count > 0 ? found.slice(0, count) : found).join(", ");
}

/**
 * The entities in the text (people, organizations, places, dates, amounts, e-mail addresses…),
 * each with its type, joined with semicolons.
 * @customfunction ENTITIES
 * @param text The text, or a cell that holds it.
 * @returns The entities, such as "Jane Smith (PERSON); jane@acme.com (EMAIL)".
 */
async function entities(text: any): Promise<string> {
  const result = await flaskllm(text, "entities");
  if (!result) {
    return "";
  }
  return (result.data as EntitiesData).map((entity) => `${entity.text} (${entity.type})`).join("; ");
}

/**
 * Translates the text (needs a language model on the server; the offline provider cannot).
 * @customfunction TRANSLATE
 * @param text The text, or a cell that holds it.
 * @param language The target language, as a two-letter code such as fr.
 * @returns The translation.
 */
async function translate(text: any, language: string): Promise<string> {
  const result = await flaskllm(text, "translation", language);
  return result ? result.summary : "";
}

/**
 * What processing the range's non-empty cells would cost at most, in US dollars: the server's
 * estimate (nothing is processed; cells it has cached, and cells this add-in already answered,
 * cost 0). #N/A when the server's model has no price.
 * @customfunction ESTIMATE
 * @param range The cells to process.
 * @param [type] summary, keywords, sentiment, entities, translation or custom (default: summary).
 * @returns The high end of the estimated cost, in USD.
 */
async function estimateCost(range: any[][], type?: string): Promise<number> {
  const kind = checkedType(type);
  const settings = await requireSettings();
  const texts = ([] as any[]).concat(...range).map((cell) => (cell === null || cell === undefined ? "" : String(cell).trim()))
    .filter((text) => text);
  const estimate = await estimateTexts(settings, texts, kind);
  if (estimate.high === null) {
    throw new CustomFunctions.Error(CustomFunctions.ErrorCode.notAvailable,
      "The server's model has no price, so the cost is unknown (its operator can add one in PRICES_FILE).");
  }
  return estimate.high;
}

/** What processing `texts` would cost: the ones this add-in has answered cost nothing (it will
 * not ask again); the server estimates the others, MAX_BATCH at a time. */
async function estimateTexts(settings: AddinSettings, texts: string[], type: ProcessingType): Promise<PaneEstimate> {
  await loadCache();
  const asked = texts.filter((text) => !answers.has(cacheKey(settings, type, "", text)));
  const total: PaneEstimate = { cells: texts.length, cached: texts.length - asked.length, low: 0, high: 0 };
  for (let i = 0; i < asked.length; i += MAX_BATCH) {
    const body: BatchTextsRequest = { texts: asked.slice(i, i + MAX_BATCH), type, source: "excel" };
    const response = await fetch(`${settings.url}/api/v1/estimate`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-API-Token": settings.token },
      body: JSON.stringify(body),
    });
    if (response.status !== 200) {
      const problem = await readProblem(response);
      throw new CustomFunctions.Error(CustomFunctions.ErrorCode.invalidValue,
        `${response.status} ${problem.code}: ${problem.detail}`);
    }
    const answer: EstimateResponse = await response.json();
    const { low, high } = answer.totals.cost_usd;
    total.cached += answer.totals.cached;
    total.low = total.low === null || low === null ? null : total.low + low;
    total.high = total.high === null || high === null ? null : total.high + high;
  }
  return total;
}

function checkedType(type?: string): ProcessingType {
  const kind = (type || "summary").toString().trim().toLowerCase();
  if (TYPES.indexOf(kind as ProcessingType) < 0) {
    throw new CustomFunctions.Error(CustomFunctions.ErrorCode.invalidValue,
      `Unknown type "${type}": use one of ${TYPES.join(", ")}.`);
  }
  return kind as ProcessingType;
}

async function requireSettings(): Promise<AddinSettings> {
  const settings = await readSettings();
  if (!settings.token || !settings.url) {
    throw new CustomFunctions.Error(CustomFunctions.ErrorCode.notAvailable,
      "No FlaskLLM server or token: open Home ▸ FlaskLLM ▸ Settings and enter them.");
  }
  return settings;
}

function cacheKey(settings: AddinSettings, type: ProcessingType, language: string, text: string): string {
  return JSON.stringify([settings.url, type, language, text]);
}

/** The result for one cell: from the cache, from an identical call in flight, or queued. */
async function flaskllm(text: any, type: ProcessingType, language?: string): Promise<ProcessResult | undefined> {
  const prompt = text === null || text === undefined ? "" : String(text).trim();
  if (!prompt) {
    return undefined; // an empty cell: an empty result, no request
  }
  const settings = await requireSettings();
  const lang = (language || "").toString().trim().toLowerCase();
  await loadCache();
  const key = cacheKey(settings, type, lang, prompt);
  const cached = answers.get(key);
  if (cached) {
    return cached;
  }
  const pending = inFlight.get(key);
  if (pending) {
    return pending;
  }
  const promise = new Promise<ProcessResult>((resolve, reject) => {
    enqueue(type, lang, { text: prompt, key, resolve, reject });
  });
  inFlight.set(key, promise);
  const forget = () => {
    inFlight.delete(key);
  };
  promise.then(forget, forget);
  return promise;
}

function enqueue(type: ProcessingType, language: string, waiting: Waiting): void {
  const groupKey = `${type}|${language}`;
  let group = groups.get(groupKey);
  if (!group) {
    group = { type, language, waiting: [], timer: undefined };
    groups.set(groupKey, group);
  }
  group.waiting.push(waiting);
  if (group.waiting.length >= MAX_BATCH) {
    flush(groupKey);
  } else if (group.timer === undefined) {
    group.timer = setTimeout(() => flush(groupKey), BATCH_DELAY_MS);
  }
}

function flush(groupKey: string): void {
  const group = groups.get(groupKey);
  if (!group) {
    return;
  }
  groups.delete(groupKey);
  if (group.timer !== undefined) {
    clearTimeout(group.timer);
  }
  for (let i = 0; i < group.waiting.length; i += MAX_BATCH) {
    void send(group.type, group.language, group.waiting.slice(i, i + MAX_BATCH));
  }
}

/** One batch request, with the retries that keep cells at #BUSY! rather than failing them. */
async function send(type: ProcessingType, language: string, batch: Waiting[]): Promise<void> {
  const settings = await readSettings();
  const body: BatchTextsRequest = { texts: batch.map((w) => w.text), type, source: "excel" };
  if (language) {
    body.language = language;
  }
  for (let attempt = 0; ; attempt++) {
    let response: Response;
    try {
      response = await fetch(`${settings.url}/api/v1/webhook/batch`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-API-Token": settings.token },
        body: JSON.stringify(body),
      });
    } catch (error) {
      return failAll(batch, `Could not reach ${settings.url}: ${error}`);
    }
    if (response.status === 200) {
      const answer: BatchResponse = await response.json();
      for (const item of answer.results) {
        const waiting = batch[item.index];
        if (item.status === 200 && item.result) {
          answers.set(waiting.key, item.result);
          waiting.resolve(item.result);
        } else {
          waiting.reject(valueError(item.status, item.error));
        }
      }
      persistSoon();
      return;
    }
    const problem = await readProblem(response);
    const limit = Number(response.headers.get("X-RateLimit-Limit") || "0");
    if (response.status === 413 && batch.length > 1) {
      const half = Math.ceil(batch.length / 2);
      await Promise.all([send(type, language, batch.slice(0, half)), send(type, language, batch.slice(half))]);
      return;
    }
    if (response.status === 429 && limit > 0 && batch.length > limit) {
      for (let i = 0; i < batch.length; i += limit) {
        await send(type, language, batch.slice(i, i + limit));
      }
      return;
    }
    if (response.status === 429) {
      const wait = Number(response.headers.get("Retry-After") || "5");
      if (wait > MAX_WAIT_SECONDS) {
        return failAll(batch, `${problem.code}: ${problem.detail}`);
      }
      await sleep(wait * 1000); // the cells show #BUSY! until the retry answers
      continue;
    }
    if (response.status === 401) {
      return failAll(batch, "FlaskLLM refused the token (401): enter a valid one in Home ▸ FlaskLLM ▸ Settings.");
    }
    if (response.status >= 500 && attempt < SERVER_RETRIES) {
      await sleep(500 * (attempt + 1));
      continue;
    }
    return failAll(batch, `${response.status} ${problem.code}: ${problem.detail}`);
  }
}

function failAll(batch: Waiting[], message: string): void {
  const error = new CustomFunctions.Error(CustomFunctions.ErrorCode.invalidValue, message);
  for (const waiting of batch) {
    waiting.reject(error);
  }
}

// A problem as shown in a cell: the server's (its `code` one of the spec's ProblemCode), or one
// made up for an answer that is not a problem document (`HTTP 502` from a proxy's page).
type ShownProblem = Omit<Problem, "code"> & { code: string };

function valueError(status: number, problem?: ShownProblem): CustomFunctions.Error {
  const message = problem ? `${status} ${problem.code}: ${problem.detail}` : `FlaskLLM answered ${status}.`;
  return new CustomFunctions.Error(CustomFunctions.ErrorCode.invalidValue, message);
}

async function readProblem(response: Response): Promise<ShownProblem> {
  const text = await response.text();
  try {
    const problem: Problem = JSON.parse(text);
    if (problem && problem.code) {
      return problem;
    }
  } catch (error) {
    // not a problem document (a proxy's HTML page): keep its first words below
  }
  return { type: "", title: "", status: response.status, code: `HTTP ${response.status}`, detail: text.slice(0, 200) };
}

async function readSettings(): Promise<AddinSettings> {
  const [url, token] = await Promise.all([
    OfficeRuntime.storage.getItem(STORAGE_URL),
    OfficeRuntime.storage.getItem(STORAGE_TOKEN),
  ]);
  return { url: (url || "").trim().replace(/\/+$/, ""), token: (token || "").trim() };
}

function loadCache(): Promise<void> {
  if (!cacheLoaded) {
    cacheLoaded = OfficeRuntime.storage.getItem(STORAGE_CACHE).then((stored) => {
      if (!stored) {
        return;
      }
      try {
        const entries: [string, ProcessResult][] = JSON.parse(stored);
        for (const [key, result] of entries) {
          if (!answers.has(key)) {
            answers.set(key, result);
          }
        }
      } catch (error) {
        // a damaged cache is dropped: it only saves requests
      }
    }, () => undefined);
  }
  return cacheLoaded;
}

/** Write the cache to OfficeRuntime.storage a second after the last change, newest MAX_CACHED. */
function persistSoon(): void {
  if (persistTimer !== undefined) {
    clearTimeout(persistTimer);
  }
  persistTimer = setTimeout(() => {
    persistTimer = undefined;
    const entries = Array.from(answers.entries()).slice(-MAX_CACHED);
    void OfficeRuntime.storage.setItem(STORAGE_CACHE, JSON.stringify(entries)).catch(() => undefined);
  }, 1000);
}

/** For the task pane: forget every cached answer (after changing server or prompts). */
async function clearFlaskLLMCache(): Promise<number> {
  const count = answers.size;
  answers.clear();
  await OfficeRuntime.storage.removeItem(STORAGE_CACHE);
  return count;
}

function sleep(ms: number): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, ms));
}

CustomFunctions.associate("PROCESS", processCell);
CustomFunctions.associate("SUMMARY", summary);
CustomFunctions.associate("SENTIMENT", sentiment);
CustomFunctions.associate("SENTIMENTSCORE", sentimentScore);
CustomFunctions.associate("KEYWORDS", keywords);
CustomFunctions.associate("ENTITIES", entities);
CustomFunctions.associate("TRANSLATE", translate);
CustomFunctions.associate("ESTIMATE", estimateCost);
