"""Streaming: the pipeline's steps for one prompt, answered as Server-Sent Events.

    event: delta   data: {"text": "..."}        as the provider writes
    event: done    data: <ProcessResult>        once, with typed data, usage and timing
    event: error   data: <Problem>              instead of done, when it fails mid-way

Everything that can be refused is checked before the first byte (provider, type, template,
prompt length), so those are ordinary problem responses with their status. The cache is the
same as for single and batch requests: a hit streams the stored text as one delta.

Time: REQUEST_TIMEOUT bounds the wait for the first token and each gap between tokens (a long
answer that keeps flowing is not cut off). A failure before the first delta is retried and
falls back like a plain call (flaskllm/llm/policy.py); after it, it ends the stream with an
``error`` event. A client that goes away cancels the upstream call (the SDK stream is closed).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from typing import Any, AsyncIterator

from connexion.exceptions import ProblemException

from flaskllm import errors, pipeline
from flaskllm.llm import policy
from flaskllm.llm.base import Provider, Result, Task
from flaskllm.state import AppState
from flaskllm.usage.meter import Meter

log = logging.getLogger("flaskllm.streaming")

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy buffering


def event(name: str, data: Any) -> bytes:
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"event: {name}\ndata: {payload}\n\n".encode("utf-8")


@dataclasses.dataclass
class Prepared:
    job: pipeline.Job
    provider: Provider
    task: Task
    key: str
    version: str | None
    started: float
    meter: Meter


async def prepare(app: AppState, job: pipeline.Job) -> Prepared:
    """The checks that answer with an ordinary problem, before the stream starts (the budget
    hold included)."""
    started = time.perf_counter()
    pipeline.check_length(app, job)
    provider = pipeline.provider_for(app, job)
    task = pipeline.task_for(app, job)
    version = task.prompt.version if task.prompt else None
    meter = await Meter.open(app, job, provider)
    return Prepared(job, provider, task, app.cache.key(job, provider, template_version=version),
                    version, started, meter)


async def events(app: AppState, prepared: Prepared) -> AsyncIterator[bytes]:
    job = prepared.job
    written: list[str] = []
    result: Result | None = None
    try:
        if not job.no_cache:
            cached = await app.cache.lookup(prepared.key)
            if cached is not None:
                cost = prepared.meter.succeeded(cached, True, None)
                yield event("delta", {"text": cached.text})
                yield event("done", pipeline.shape(
                    job, prepared.provider, cached, time.perf_counter() - prepared.started,
                    cached=True, template_version=prepared.version, cost=cost))
                return
        result: Result | None = None
        called = time.perf_counter()
        async for piece in _upstream(app, prepared):
            if isinstance(piece, Result):
                result = piece
            else:
                written.append(piece)
                yield event("delta", {"text": piece})
        assert result is not None  # _upstream always ends with its Result
        cost = prepared.meter.succeeded(result, False, time.perf_counter() - called)
        await app.cache.store_result(prepared.key, result, provider=result.provider,
                                     template_version=prepared.version)
        yield event("done", pipeline.shape(job, prepared.provider, result,
                                           time.perf_counter() - prepared.started,
                                           template_version=prepared.version, cost=cost))
    except ProblemException as exc:
        prepared.meter.failed(exc)
        problem, _headers = errors.as_problem(exc)
        yield event("error", problem)
    except (asyncio.CancelledError, GeneratorExit):
        # The client went away: the upstream stream was closed with this generator; what
        # was written so far is still paid for, so it is recorded.
        log.info("stream %s: the client went away; upstream call cancelled", job.request_id)
        if result is None:
            prepared.meter.disconnected("".join(written), None)
        raise


async def _upstream(app: AppState, prepared: Prepared) -> AsyncIterator[str | Result]:
    """The provider's stream with retries and fallback until the first delta; then the
    deltas; then a checked Result (typed data validated, one repair by a plain call)."""
    job, deadline = prepared.job, policy.Deadline(app.settings.request_timeout)
    chain = [(p, prepared.task if p is prepared.provider
              else dataclasses.replace(prepared.task, model=None))
             for p in app.providers.chain(prepared.provider, job.type)]
    idle = app.settings.request_timeout
    for index, (provider, task) in enumerate(chain):
        sent_any = False
        attempt = 0
        while True:
            attempt += 1
            stream = provider.stream(task).__aiter__()
            try:
                while True:
                    async with asyncio.timeout(idle):
                        piece = await stream.__anext__()
                    if isinstance(piece, Result):
                        piece.provider = piece.provider or provider.name
                        yield await pipeline.typed_answer(app, job, provider, task, piece,
                                                          deadline)
                        return
                    sent_any = True
                    yield piece
            except StopAsyncIteration:
                raise errors.ProviderError(f"The {provider.name} provider's stream ended "
                                           "without a result.") from None
            except (policy.UpstreamError, TimeoutError) as exc:
                failure = exc if isinstance(exc, policy.UpstreamError) else \
                    policy.UpstreamTimeout("no token within REQUEST_TIMEOUT")
                if sent_any:
                    raise policy.to_problem(failure, provider, deadline) from exc
                wait = policy.backoff(attempt)
                if (failure.retryable and attempt < policy.MAX_ATTEMPTS
                        and wait + policy.MIN_ATTEMPT_SECONDS < deadline.remaining()):
                    await asyncio.sleep(max(wait, getattr(failure, "retry_after", 0) or 0))
                    continue
                if index + 1 < len(chain) and failure.fallback:
                    log.warning("provider %s failed before streaming (%s); falling back",
                                provider.name, type(failure).__name__)
                    break
                raise policy.to_problem(failure, provider, deadline) from exc
            finally:
                await stream.aclose()
