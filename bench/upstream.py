"""A fake OpenAI-compatible upstream for the benchmark: POST .../chat/completions, plain or
streamed, after a configurable latency.

It is a raw ASGI app under uvicorn (httptools, uvloop): no framework, no validation, no
parsing beyond what is needed, so that what the benchmark measures is FlaskLLM and not this.

The latency and the streaming shape are chosen per request by the model's name, so one
process serves every scenario and one FlaskLLM process (which allows these models through
OPENAI_MODELS) reaches each of them by the request's ``model``::

    "model": "bench-l20"           answer after 20 ms
    "model": "bench-l500-j100"     answer after 400 to 600 ms (uniformly at random)
    "model": "bench-l0-t20-i10"    stream 20 tokens, 10 ms apart (with "stream": true)

``l`` is the wait in ms before the first byte, ``j`` how far (ms) each wait may be drawn
from it either way, ``t`` the tokens in an answer, ``i`` the ms between streamed tokens; a
part left out takes the command-line default. ``GET /stats``
reports the requests served and the peak in flight (``GET /stats?reset`` zeroes them).

    python bench/upstream.py --port 9100 [--latency 20] [--tokens 20] [--interval 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time

DEFAULTS = {"latency": 0.0, "jitter": 0.0, "tokens": 20, "interval": 10.0}
WORD = "lorem"
JSON_HEADERS = [(b"content-type", b"application/json")]
SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]


class Stats:
    served = 0
    in_flight = 0
    peak = 0


def _params(model: str) -> dict[str, float]:
    """``bench-l20-t5-i10`` → latency 20, tokens 5, interval 10, over the defaults."""
    params = dict(DEFAULTS)
    for part in model.split("-")[1:]:
        key = {"l": "latency", "j": "jitter", "t": "tokens", "i": "interval"}.get(part[:1])
        if key and part[1:].replace(".", "", 1).isdigit():
            params[key] = float(part[1:])
    return params


def _completion(model: str, text: str, tokens: int) -> bytes:
    # A fixed shape that the OpenAI SDK accepts; ``created`` is the only moving part.
    return json.dumps({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": text, "refusal": None}}],
        "usage": {"prompt_tokens": 50, "completion_tokens": tokens,
                  "total_tokens": 50 + tokens},
    }, separators=(",", ":")).encode()


def _chunk(model: str, delta: dict | None, finish: str | None = None, usage=None) -> bytes:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish,
                                        "logprobs": None}]
    body = {"id": "chatcmpl-bench", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model, "choices": choices}
    if usage:
        body["usage"] = usage
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


async def _read_body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    if scope["method"] == "GET":
        if scope["query_string"] == b"reset":
            Stats.served = Stats.peak = 0
        body = json.dumps({"served": Stats.served, "peak": Stats.peak,
                           "in_flight": Stats.in_flight}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": JSON_HEADERS})
        await send({"type": "http.response.body", "body": body})
        return
    raw = await _read_body(receive)
    Stats.served += 1
    Stats.in_flight += 1
    Stats.peak = max(Stats.peak, Stats.in_flight)
    try:
        await _answer(scope, raw, send)
    finally:
        Stats.in_flight -= 1


async def _answer(scope, raw: bytes, send) -> None:
    request = json.loads(raw) if raw else {}
    model = request.get("model", "bench")
    params = _params(model)
    tokens = int(params["tokens"])
    latency = params["latency"] + random.uniform(-params["jitter"], params["jitter"])
    if latency > 0:
        await asyncio.sleep(latency / 1000)
    if not request.get("stream"):
        text = " ".join([WORD] * tokens)
        await send({"type": "http.response.start", "status": 200, "headers": JSON_HEADERS})
        await send({"type": "http.response.body", "body": _completion(model, text, tokens)})
        return
    await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
    await send({"type": "http.response.body", "more_body": True,
                "body": _chunk(model, {"role": "assistant", "content": ""})})
    for i in range(tokens):
        if i and params["interval"]:
            await asyncio.sleep(params["interval"] / 1000)
        await send({"type": "http.response.body", "more_body": True,
                    "body": _chunk(model, {"content": WORD if i == 0 else " " + WORD})})
    usage = {"prompt_tokens": 50, "completion_tokens": tokens, "total_tokens": 50 + tokens}
    await send({"type": "http.response.body", "more_body": True,
                "body": _chunk(model, {}, "stop") + _chunk(model, None, usage=usage)})
    await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--latency", type=float, default=0.0, help="ms before answering")
    parser.add_argument("--tokens", type=int, default=20, help="tokens in an answer")
    parser.add_argument("--interval", type=float, default=10.0, help="ms between streamed tokens")
    args = parser.parse_args(argv)
    DEFAULTS.update(latency=args.latency, tokens=args.tokens, interval=args.interval)
    # backlog: the in-flight scenario opens over a thousand connections at once.
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False,
                backlog=4096, lifespan="on")


if __name__ == "__main__":
    main()
