"""CPU and memory of one chat-completion call, four ways, against bench/upstream.py:
the OpenAI SDK's ``chat.completions.create()``, the same SDK client's ``post()`` (no per-call
parameter transform) into its ``ChatCompletion`` model, the same ``post()`` returning the
parsed JSON (``cast_to=object``: what ``flaskllm/llm/openai_api.py`` does), and aiohttp
alone (the floor under the SDK's transport). In-process, on one core, no FlaskLLM around it.

    python bench/sdk_call.py [--calls 2000]

Prints the process's CPU time per call at concurrency 1 and 100, and the resident memory
taken while 1,000 calls wait on a 500 ms upstream at once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import httpx
import openai
from openai.types.chat import ChatCompletion

sys.path.insert(0, str(Path(__file__).resolve().parent))
import procs  # noqa: E402
import run as bench  # noqa: E402


def client(base_url: str) -> openai.AsyncOpenAI:
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
    return openai.AsyncOpenAI(api_key="bench", base_url=base_url, max_retries=0,
                              http_client=openai.DefaultAioHttpClient(limits=limits))


def callers(sdk: openai.AsyncOpenAI, session: aiohttp.ClientSession, base_url: str):
    async def create(body: dict) -> str:
        completion = await sdk.chat.completions.create(**body)
        return completion.choices[0].message.content

    async def post(body: dict) -> str:
        completion = await sdk.post("/chat/completions", body=body, cast_to=ChatCompletion,
                                    options={"security": {"bearer_auth": True}})
        return completion.choices[0].message.content

    async def post_json(body: dict) -> str:  # what flaskllm/llm/openai_api.py does
        completion = await sdk.post("/chat/completions", body=body, cast_to=object,
                                    options={"security": {"bearer_auth": True}})
        return completion["choices"][0]["message"]["content"]

    async def plain_aiohttp(body: dict) -> str:
        async with session.post(base_url + "/chat/completions", json=body,
                                headers={"Authorization": "Bearer bench"}) as response:
            return (await response.json())["choices"][0]["message"]["content"]

    return {"create()": create, "post()": post, "post(cast_to=object)": post_json,
            "aiohttp": plain_aiohttp}


async def cpu_per_call(call, body: dict, calls: int, concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one():
        async with gate:
            await call(body)

    await asyncio.gather(*(one() for _ in range(50)))  # warm: connections, lazy imports
    started = time.process_time()
    await asyncio.gather(*(one() for _ in range(calls)))
    return 1000 * (time.process_time() - started) / calls


async def memory_in_flight(call, body: dict, waiting: int = 1000) -> float:
    """MB of RSS added while ``waiting`` calls wait on the 500 ms upstream at once."""
    await asyncio.gather(*(call(body) for _ in range(20)))  # warm, as for the CPU
    before = procs.rss_mb(os.getpid())
    tasks = [asyncio.create_task(call(body)) for _ in range(waiting)]
    await asyncio.sleep(0.4)
    during = procs.rss_mb(os.getpid())
    await asyncio.gather(*tasks)
    return during - before


def body(model: str) -> dict:
    sent = {**bench.direct_body(model), "max_completion_tokens": 1024}
    del sent["stream"]
    return sent


async def run_calls(base_url: str, calls: int, memory_of: str | None) -> None:
    sdk = client(base_url)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1000)) as session:
        ways = callers(sdk, session, base_url)
        if memory_of:  # in a process of its own: Python keeps the high-water mark
            print(round(await memory_in_flight(ways[memory_of], body("500ms")), 1))
        else:
            for name, call in ways.items():
                c1 = await cpu_per_call(call, body("fast"), calls, 1)
                c100 = await cpu_per_call(call, body("fast"), calls, 100)
                mb = subprocess.run([sys.executable, __file__, "--base-url", base_url,
                                     "--memory-of", name], capture_output=True, text=True,
                                    check=True).stdout.strip()
                print(f"| {name} | {c1:.3f} ms | {c100:.3f} ms | +{mb} MB |", flush=True)
    await sdk.close()


def main() -> None:
    import uvloop

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--base-url", help="an upstream already running (default: start one)")
    parser.add_argument("--memory-of", help=argparse.SUPPRESS)  # the per-process memory run
    args = parser.parse_args()
    if args.base_url:
        procs.pin(procs.SERVER_CORES)
        uvloop.run(run_calls(args.base_url, args.calls, args.memory_of))
        return
    procs.pin(procs.CLIENT_CORES)  # the upstream on the second core, the calls on the first
    with tempfile.TemporaryDirectory(prefix="flaskllm-sdk-") as tmp:
        upstream, url = procs.start_upstream(Path(tmp))
        try:
            print("| call | CPU a call, concurrency 1 | concurrency 100 | memory, 1,000 waiting |")
            print("|---|---|---|---|", flush=True)
            subprocess.run([sys.executable, __file__, "--base-url", url + "/v1",
                            "--calls", str(args.calls)], check=True)
        finally:
            upstream.stop()


if __name__ == "__main__":
    main()
