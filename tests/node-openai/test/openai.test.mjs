// The official openai npm package with baseURL = a live FlaskLLM and a FlaskLLM token as the
// API key: chat completions through each provider adapter (against the fakes) and offline,
// streaming with usage, json_schema, models, and the SDK's own error classes.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import OpenAI from "openai";

import { startServer } from "./helpers.mjs";

let server;
let client;

before(async () => {
  server = await startServer();
  client = new OpenAI({ baseURL: server.baseURL, apiKey: server.token, maxRetries: 0 });
});

after(async () => {
  await server?.stop();
});

const ADAPTERS = ["openai/gpt-test", "anthropic/claude-test", "local/llama-test"];

test("models.list offers every provider's models, the offline types and the aliases", async () => {
  const ids = [];
  for await (const model of client.models.list()) {
    assert.equal(model.object, "model");
    ids.push(model.id);
  }
  for (const id of [...ADAPTERS, "offline/sentiment", "offline/keywords", "fast", "mood"]) {
    assert.ok(ids.includes(id), `${id} in ${ids}`);
  }
  const one = await client.models.retrieve("anthropic/claude-test");
  assert.equal(one.owned_by, "anthropic");
});

for (const model of ADAPTERS) {
  test(`chat completion and stream through ${model}`, async () => {
    const completion = await client.chat.completions.create({
      model,
      messages: [
        { role: "system", content: "Answer briefly." },
        { role: "user", content: "Hello from Node" },
      ],
    });
    assert.equal(completion.object, "chat.completion");
    assert.equal(completion.choices[0].message.content, "Summary: Hello from Node");
    assert.ok(completion.usage.total_tokens > 0);

    const stream = await client.chat.completions.create({
      model, stream: true, stream_options: { include_usage: true },
      messages: [{ role: "user", content: "Stream this please" }],
    });
    let text = "";
    let usage = null;
    let pieces = 0;
    for await (const chunk of stream) {
      if (chunk.choices.length && chunk.choices[0].delta.content) {
        text += chunk.choices[0].delta.content;
        pieces += 1;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, "Summary: Stream this please");
    assert.ok(pieces > 1, "the answer arrives in pieces");
    assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
  });
}

test("json_schema structured output", async () => {
  const completion = await client.chat.completions.create({
    model: "fast",
    messages: [{ role: "user", content: "I love it" }],
    response_format: {
      type: "json_schema",
      json_schema: {
        name: "mood",
        schema: {
          type: "object", required: ["label", "score"], additionalProperties: false,
          properties: { label: { type: "string" }, score: { type: "number" } },
        },
      },
    },
  });
  const answer = JSON.parse(completion.choices[0].message.content);
  assert.equal(answer.data.label, "positive"); // the fake wraps structured data in "data"
});

test("the offline provider runs the type its model names", async () => {
  const completion = await client.chat.completions.create({
    model: "mood", messages: [{ role: "user", content: "I love this keyboard." }],
  });
  assert.match(completion.choices[0].message.content, /^positive \(/);
  assert.equal(completion.model, "offline/offline-1");
});

test("errors are the SDK's own classes", async () => {
  const bad = new OpenAI({ baseURL: server.baseURL, apiKey: "fllm_wrong", maxRetries: 0 });
  await assert.rejects(bad.models.list(), (err) => err instanceof OpenAI.AuthenticationError
    && err.status === 401 && err.code === "UNAUTHORIZED");
  await assert.rejects(
    client.chat.completions.create({ model: "openai/gpt-9", messages: [{ role: "user", content: "Hi" }] }),
    (err) => err instanceof OpenAI.NotFoundError && err.code === "MODEL_NOT_FOUND" && err.param === "model");
  await assert.rejects(
    client.chat.completions.create({
      model: "mood", messages: [{ role: "user", content: "Hi" }],
      tools: [{ type: "function", function: { name: "f", parameters: {} } }],
    }),
    (err) => err instanceof OpenAI.BadRequestError && /'tools' was unexpected/.test(err.message));
});

test("a token's daily quota stops it with RateLimitError", async () => {
  const limited = new OpenAI({ baseURL: server.baseURL, apiKey: server.quota, maxRetries: 0 });
  const ask = { model: "mood", messages: [{ role: "user", content: "Quota test" }] };
  await limited.chat.completions.create(ask);
  await limited.chat.completions.create({ ...ask, messages: [{ role: "user", content: "Again" }] });
  await assert.rejects(limited.chat.completions.create({ ...ask, messages: [{ role: "user", content: "Third" }] }),
    (err) => err instanceof OpenAI.RateLimitError && err.code === "BUDGET_EXCEEDED"
      && /has made its 2 requests for today/.test(err.message) && Number(err.headers.get("retry-after")) > 0);
});

test("a repeated request is a cache hit", async () => {
  const ask = { model: "anthropic/claude-test", messages: [{ role: "user", content: "Cache me" }] };
  const first = await client.chat.completions.create(ask).withResponse();
  const again = await client.chat.completions.create(ask).withResponse();
  assert.equal(first.response.headers.get("x-cache"), "MISS");
  assert.equal(again.response.headers.get("x-cache"), "HIT");
  assert.equal(again.data.choices[0].message.content, first.data.choices[0].message.content);
});
