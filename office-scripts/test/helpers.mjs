// Test plumbing: a live FlaskLLM (offline provider) per test file, TypeScript loaded without a
// build step, Office Scripts run in a sandbox that offers what Excel offers them (fetch,
// console, timers), and a fake upstream that answers 5xx.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

const require = createRequire(import.meta.url);
const ts = require("typescript");

export const HERE = dirname(dirname(fileURLToPath(import.meta.url)));
export const ROOT = dirname(HERE);

/** TypeScript source → JavaScript, types erased, nothing else changed. */
export function transpile(path, module = "none") {
  const source = readFileSync(path, "utf8");
  const kinds = { none: ts.ModuleKind.None, esm: ts.ModuleKind.ESNext };
  return ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2020, module: kinds[module] },
    fileName: path,
  }).outputText;
}

export async function importTs(path) {
  const js = transpile(path, "esm");
  return import("data:text/javascript;base64," + Buffer.from(js).toString("base64"));
}

export const { FakeWorkbook } = await importTs(join(HERE, "test", "fake-workbook.ts"));

/**
 * Run a paste-ready Office Script (excel/NAME.ts) against `workbook`, as Excel would: its
 * `main(workbook)` in a fresh global scope. Returns what it logged.
 */
export async function runScript(name, workbook, { fetchImpl = fetch } = {}) {
  const logs = [];
  const context = vm.createContext({
    fetch: fetchImpl,
    console: { log: (...args) => logs.push(args.join(" ")) },
    setTimeout,
    clearTimeout,
  });
  const main = vm.runInContext(transpile(join(HERE, "excel", name)) + "\n;main;", context, { filename: name });
  await main(workbook);
  return logs;
}

function python() {
  if (process.env.FLASKLLM_PYTHON) return process.env.FLASKLLM_PYTHON;
  const venv = join(ROOT, ".venv", "bin", "python");
  return existsSync(venv) ? venv : "python3";
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const SCRUBBED = /^(OPENAI_|ANTHROPIC_|REDIS_URL$|CACHE_URL$|LLM_SERVERS$|FALLBACK_PROVIDERS$|DATABASE_URL$|API_TOKEN$|RATE_LIMIT|MAX_BODY_BYTES$|PROMPT_TEMPLATES_DIR$)/;

/**
 * Start FlaskLLM with uvicorn on a free port: offline provider, a throwaway SQLite database and
 * a random API_TOKEN (never a token in the source). `env` adds settings (RATE_LIMIT, …).
 */
export async function startServer(env = {}) {
  const dir = mkdtempSync(join(tmpdir(), "flaskllm-node-"));
  const port = await freePort();
  const token = randomBytes(24).toString("hex");
  const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !SCRUBBED.test(k)));
  Object.assign(childEnv, {
    PYTHONPATH: ROOT,
    ENVIRONMENT: "test",
    LLM_PROVIDER: "offline",
    DATABASE_URL: `sqlite:///${join(dir, "flaskllm.db")}`,
    USAGE_SPOOL_FILE: join(dir, "usage-spool.jsonl"),
    API_TOKEN: token,
    RATE_LIMIT: "10000/minute",
    LOG_LEVEL: "warning",
    ...env,
  });
  const child = spawn(python(), ["-m", "uvicorn", "--factory", "flaskllm.app:create_app",
    "--host", "127.0.0.1", "--port", String(port), "--log-level", "warning", "--no-access-log"],
  { cwd: ROOT, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk) => { output += chunk; });
  child.stderr.on("data", (chunk) => { output += chunk; });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`FlaskLLM exited (${child.exitCode}):\n${output}`);
    try {
      const response = await fetch(`${url}/api/v1/health`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`FlaskLLM did not answer on ${url} within 60 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    token,
    output: () => output,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", resolve)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The project's fake of OpenAI's chat-completions API (tests/fakes/openai_server.py, OpenAI's
 * wire format), in a Python process: `url` for OPENAI_BASE_URL, and `calls()`, how many
 * requests it has answered (asked over its stdin).
 */
export async function startOpenAIFake() {
  const program = [
    "import sys",
    "from fakes import openai_server",
    "server = openai_server.start()",
    "print(server.url, flush=True)",
    "for _line in sys.stdin:",
    "    print(server.calls, flush=True)",
    "server.stop()",
  ].join("\n");
  const child = spawn(python(), ["-c", program], {
    cwd: ROOT, env: { ...process.env, PYTHONPATH: `${join(ROOT, "tests")}:${ROOT}` }, stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = [];
  const waiting = [];
  let buffered = "";
  child.stdout.on("data", (chunk) => {
    buffered += chunk;
    for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n")) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
      if (waiting.length) waiting.shift()(line); else lines.push(line);
    }
  });
  const next = () => (lines.length ? Promise.resolve(lines.shift()) : new Promise((resolve) => waiting.push(resolve)));
  const url = await next();
  return {
    url,
    async calls() {
      child.stdin.write("calls\n");
      return Number(await next());
    },
    async stop() {
      child.stdin.end();
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", resolve)));
    },
  };
}

/** FlaskLLM settings for the openai provider against `fake` (priced: gpt-4o-mini). */
export function openAIEnv(fake) {
  return { LLM_PROVIDER: "openai", OPENAI_API_KEY: "sk-test-0123456789abcdef", OPENAI_BASE_URL: `${fake.url}/v1`,
    OPENAI_MODEL: "gpt-4o-mini" };
}

/** A stand-in server that answers every request with `status` and a problem body. */
export async function startFailingServer(status = 502, code = "PROVIDER_ERROR") {
  let requests = 0;
  const server = createServer((request, response) => {
    requests++;
    request.resume();
    response.writeHead(status, { "Content-Type": "application/problem+json" });
    response.end(JSON.stringify({ type: `/docs/errors#${code}`, title: "Bad Gateway", status, detail: "The upstream provider failed (test).", code }));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests: () => requests,
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** A fetch that counts calls per path, for asserting what reached the server. */
export function countingFetch() {
  const calls = [];
  const wrapped = async (url, init) => {
    calls.push({ url: String(url), method: (init && init.method) || "GET", body: init && init.body });
    return fetch(url, init);
  };
  wrapped.calls = calls;
  return wrapped;
}

/** Settings rows as the Setup script lays them out, filled in for a test. */
export function fillSettings(workbook, values) {
  const sheet = workbook.getWorksheet("FlaskLLM");
  const rows = sheet.getUsedRange().getValues();
  rows.forEach((row, index) => {
    const label = String(row[0]);
    if (label in values) sheet.getRangeByIndexes(index, 1, 1, 1).setValue(values[label]);
  });
}

export function setting(workbook, label) {
  const sheet = workbook.getWorksheet("FlaskLLM");
  const row = sheet.getUsedRange().getValues().find((r) => String(r[0]) === label);
  return row ? row[1] : undefined;
}
