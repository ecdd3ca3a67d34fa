"""The floor: the least a Python proxy in front of an LLM can do, measured in the same run as
FlaskLLM so that its numbers mean something on any machine (issue 18).

A bare Starlette app under uvicorn (httptools, as ``flaskllm serve`` runs): it checks the
X-API-Token against one SHA-256 hash in constant time, parses the JSON body, sends one chat
completion to the upstream through a shared aiohttp session, parses the answer and returns
the summary and the usage as JSON. No validation, no cache, no limits, no metering, no logs:
what is left is the work every such proxy has to do.

    python bench/floor.py --port 9200 --upstream http://127.0.0.1:9100/v1 --token-sha256 HEX
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json

import aiohttp
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SYSTEM = "Summarize the text. " * 20  # about what FlaskLLM's summary template sends


def build(upstream: str, token_sha256: str) -> Starlette:
    expected = bytes.fromhex(token_sha256)
    session: list[aiohttp.ClientSession] = []

    async def webhook(request: Request) -> Response:
        token = request.headers.get("x-api-token", "").encode()
        if not hmac.compare_digest(hashlib.sha256(token).digest(), expected):
            return JSONResponse({"detail": "bad token"}, status_code=401)
        try:
            body = json.loads(await request.body())
            prompt, model = body["prompt"], body.get("model", "bench")
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"detail": "bad body"}, status_code=400)
        if not session:
            session.append(aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1000)))
        sent = {"model": model, "max_completion_tokens": 1024, "stream": False,
                "messages": [{"role": "system", "content": SYSTEM},
                             {"role": "user", "content": f"<text>\n{prompt}\n</text>"}]}
        async with session[0].post(upstream + "/chat/completions", json=sent) as answer:
            if answer.status != 200:
                return JSONResponse({"detail": f"upstream {answer.status}"}, status_code=502)
            data = json.loads(await answer.read())
        return JSONResponse({"summary": data["choices"][0]["message"]["content"],
                             "model": data.get("model"), "usage": data.get("usage")})

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/api/v1/webhook", webhook, methods=["POST"]),
                             Route("/api/v1/health", health)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="base URL, e.g. http://host:port/v1")
    parser.add_argument("--token-sha256", required=True)
    args = parser.parse_args()
    uvicorn.run(build(args.upstream, args.token_sha256), host="127.0.0.1", port=args.port,
                log_level="warning", access_log=False, http="httptools")


if __name__ == "__main__":
    main()
