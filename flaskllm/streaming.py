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
"""

from __future__ import annotations

import json
import logging
from typing import Any, AsyncIterator

from connexion.exceptions import ProblemException

from flaskllm import errors
from flaskllm.pipeline import Delta, Run

log = logging.getLogger("flaskllm.streaming")

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy buffering


def event(name: str, data: Any) -> bytes:
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"event: {name}\ndata: {payload}\n\n".encode("utf-8")


async def encode(events: Run) -> AsyncIterator[bytes]:
    """``events`` as SSE bytes; a failure becomes the ``error`` event (a bug: a 500 problem,
    logged). Closing this generator closes ``events``."""
    try:
        async for item in events:
            if isinstance(item, Delta):
                yield event("delta", {"text": item.text})
            else:
                yield event("done", item.body)
    except ProblemException as exc:
        yield event("error", errors.as_problem(exc)[0])
    except Exception as exc:
        log.error("stream failed: %s", type(exc).__name__, exc_info=exc)
        yield event("error", errors.as_problem(exc)[0])
    finally:
        await events.aclose()
