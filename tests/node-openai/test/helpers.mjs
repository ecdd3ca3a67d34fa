// A live FlaskLLM for the openai npm package: uvicorn on a free port, with the OpenAI and
// Anthropic fakes of tests/fakes (started by Python, so they are the very fakes the Python
// suite uses) as its openai, anthropic and LLM_SERVERS ("local") upstreams.

import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(HERE, "..", "..", "..");
const START_SECONDS = 60;

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

// The developer's shell must not point the server at anything real.
const SCRUBBED = /^(OPENAI_|ANTHROPIC_|REDIS_URL$|CACHE_URL$|LLM_|FALLBACK_PROVIDERS$|DATABASE_URL$|API_TOKEN$|RATE_LIMIT|MODEL_ALIASES$)/;

const FAKES = `
import sys, time
sys.path.insert(0, "tests")
from fakes import anthropic_server, openai_server
servers = [openai_server.start(), anthropic_server.start()]
print(" ".join(s.url for s in servers), flush=True)
sys.stdin.read()  # until the test closes our stdin
`;

function lines(stream, onLine) {
  let buffer = "";
  stream.on("data", (chunk) => {
    buffer += chunk;
    let at;
    while ((at = buffer.indexOf("\n")) >= 0) {
      onLine(buffer.slice(0, at));
      buffer = buffer.slice(at + 1);
    }
  });
}

async function startFakes() {
  const child = spawn(python(), ["-c", FAKES], { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] });
  const urls = await new Promise((resolve, reject) => {
    lines(child.stdout, (line) => resolve(line.trim().split(" ")));
    child.once("exit", (code) => reject(new Error(`the fakes exited (${code})`)));
  });
  return { openai: urls[0], anthropic: urls[1], stop: () => child.stdin.end() };
}

/** FlaskLLM with every provider against the fakes; `quota` is a token with a daily quota of 2. */
export async function startServer() {
  const fakes = await startFakes();
  const dir = mkdtempSync(join(tmpdir(), "flaskllm-node-openai-"));
  const port = await freePort();
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !SCRUBBED.test(k)));
  Object.assign(env, {
    PYTHONPATH: ROOT,
    ENVIRONMENT: "test",
    LLM_PROVIDER: "offline",
    DATABASE_URL: `sqlite:///${join(dir, "flaskllm.db")}`,
    USAGE_SPOOL_FILE: join(dir, "usage-spool.jsonl"),
    API_TOKEN: randomBytes(24).toString("hex"),
    RATE_LIMIT: "10000/minute",
    LOG_LEVEL: "warning",
    OPENAI_API_KEY: "sk-test-0123456789abcdef",
    OPENAI_BASE_URL: `${fakes.openai}/v1`,
    OPENAI_MODEL: "gpt-test",
    ANTHROPIC_API_KEY: "sk-ant-test-0123456789abcdef",
    ANTHROPIC_BASE_URL: fakes.anthropic,
    ANTHROPIC_MODEL: "claude-test",
    LLM_SERVERS: `name=local,base_url=${fakes.openai}/v1,model=llama-test`,
    MODEL_ALIASES: "fast=openai/gpt-test,mood=offline/sentiment",
  });
  const made = spawnSync(python(), ["-m", "flaskllm.cli", "tokens", "create", "quota", "--quota-daily", "2"],
    { cwd: ROOT, env, encoding: "utf8" });
  const quota = (made.stdout.match(/fllm_[A-Za-z0-9_-]+/) || [])[0];
  if (!quota) throw new Error(`could not create a token:\n${made.stdout}${made.stderr}`);
  const child = spawn(python(), ["-m", "uvicorn", "--factory", "flaskllm.app:create_app",
    "--host", "127.0.0.1", "--port", String(port), "--log-level", "warning", "--no-access-log"],
  { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk) => { output += chunk; });
  child.stderr.on("data", (chunk) => { output += chunk; });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_SECONDS * 1000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`FlaskLLM exited (${child.exitCode}):\n${output}`);
    try {
      if ((await fetch(`${url}/api/v1/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`FlaskLLM did not answer on ${url} within ${START_SECONDS} s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    baseURL: `${url}/v1`,
    token: env.API_TOKEN,
    quota,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", resolve)));
      fakes.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
