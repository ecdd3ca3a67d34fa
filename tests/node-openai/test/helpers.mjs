// A live FlaskLLM for the openai npm package: office-scripts' test server (uvicorn, a free
// port, a random API_TOKEN), here with every provider against the OpenAI and Anthropic fakes of
// tests/fakes (started by Python, so they are the very fakes the Python suite uses) as its
// openai, anthropic and LLM_SERVERS ("local") upstreams.

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { ROOT, startServer as startFlaskLLM } from "../../../office-scripts/test/helpers.mjs";

const PYTHON = process.env.FLASKLLM_PYTHON || join(ROOT, ".venv", "bin", "python");

const FAKES = `
import sys
sys.path.insert(0, "tests")
from fakes import anthropic_server, openai_server
servers = [openai_server.start(), anthropic_server.start()]
print(" ".join(s.url for s in servers), flush=True)
sys.stdin.read()  # until the test closes our stdin
`;

async function startFakes() {
  const child = spawn(PYTHON, ["-c", FAKES], { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] });
  const [openai, anthropic] = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      if (out.includes("\n")) resolve(out.trim().split(" "));
    });
    child.once("exit", (code) => reject(new Error(`the fakes exited (${code})`)));
  });
  return { openai, anthropic, stop: () => child.stdin.end() };
}

/** FlaskLLM with every provider against the fakes; `quota` is a token with a daily quota of 2. */
export async function startServer() {
  const fakes = await startFakes();
  const dir = mkdtempSync(join(tmpdir(), "flaskllm-node-openai-"));
  const env = {
    DATABASE_URL: `sqlite:///${join(dir, "flaskllm.db")}`,
    OPENAI_API_KEY: "sk-test-0123456789abcdef",
    OPENAI_BASE_URL: `${fakes.openai}/v1`,
    OPENAI_MODEL: "gpt-test",
    ANTHROPIC_API_KEY: "sk-ant-test-0123456789abcdef",
    ANTHROPIC_BASE_URL: fakes.anthropic,
    ANTHROPIC_MODEL: "claude-test",
    LLM_SERVERS: `name=local,base_url=${fakes.openai}/v1,model=llama-test`,
    MODEL_ALIASES: "fast=openai/gpt-test,mood=offline/sentiment",
  };
  const made = spawnSync(PYTHON, ["-m", "flaskllm.cli", "tokens", "create", "quota", "--quota-daily", "2"],
    { cwd: ROOT, env: { ...process.env, PYTHONPATH: ROOT, ...env }, encoding: "utf8" });
  const quota = (made.stdout.match(/fllm_[A-Za-z0-9_-]+/) || [])[0];
  if (!quota) throw new Error(`could not create a token:\n${made.stdout}${made.stderr}`);
  const server = await startFlaskLLM(env);
  return {
    baseURL: `${server.url}/v1`,
    token: server.token,
    quota,
    async stop() {
      await server.stop();
      fakes.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
