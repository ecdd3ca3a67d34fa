"""Server-Sent Events for POST /api/v1/webhook/stream: the pipeline's events, encoded.

    event: delta   data: {"text": "..."}        as the provider writes
    event: done    data: <ProcessResult>        once, with typed data, usage and timing
    event: error   data: <Problem>              instead of done, when it fails once started

The operation passes admission first (``await events.admit()``: provider, type, template,
prompt length, budget), so those refusals are ordinary problem responses with their status;
everything after that, the upstream's failures included, ends the stream with an ``error``
event. Retries, fallback, the cache and the deadline are the pipeline's, the same as for
single and batch requests (flaskllm/pipeline.py, flaskllm/llm/policy.py). A client that goes
away closes the events, which cancels the upstream call.

The events are written by a ``Wire``: FlaskLLM's own above (``NATIVE``), or OpenAI's
``chat.completion.chunk`` events for /v1/chat/completions (``flaskllm.openai_wire.ChunkWire``).
"""

from __future__ import annotations

import json
import logging
from typing import Any, AsyncIterator, Protocol

from connexion.exceptions import ProblemException

from flaskllm import errors
from flaskllm.pipeline import Delta, Run

log = logging.getLogger("flaskllm.streaming")

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy buffering


def event(name: str, data: Any) -> bytes:
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"event: {name}\ndata: {payload}\n\n".encode("utf-8")


class Wire(Protocol):
    """How a stream writes the pipeline's events: the SSE bytes of each."""

    def delta(self, text: str) -> list[bytes]: ...

    def done(self, body: dict[str, Any]) -> list[bytes]: ...

    def error(self, problem: dict[str, Any]) -> list[bytes]: ...


class NativeWire:
    """FlaskLLM's own events: ``delta``, ``done``, ``error``."""

    def delta(self, text: str) -> list[bytes]:
        return [event("delta", {"text": text})]

    def done(self, body: dict[str, Any]) -> list[bytes]:
        return [event("done", body)]

    def error(self, problem: dict[str, Any]) -> list[bytes]:
        return [event("error", problem)]


NATIVE = NativeWire()


async def encode(events: Run, wire: Wire = NATIVE) -> AsyncIterator[bytes]:
    """``events`` as SSE bytes written by ``wire``; a failure becomes its error event (a bug:
    a 500 problem, logged). Closing this generator closes ``events``."""
    try:
        async for item in events:
            chunks = wire.delta(item.text) if isinstance(item, Delta) else wire.done(item.body)
            for chunk in chunks:
                yield chunk
    except ProblemException as exc:
        for chunk in wire.error(errors.as_problem(exc)[0]):
            yield chunk
    except Exception as exc:
        log.error("stream failed: %s", type(exc).__name__, exc_info=exc)
        for chunk in wire.error(errors.as_problem(exc)[0]):
            yield chunk
    finally:
        await events.aclose()
