"""The request pipeline: the one place that decides the order of the steps around an LLM call.

    Job ─▶ provider (allow-list, key) ─▶ type supported? ─▶ cache (single-flight)
        ─▶ provider.complete (deadline) ─▶ shape the reply (summary, typed data, usage, timing)

The rate limit is counted before, by the operation (``await app.limiter.hit(token, cost)``),
because a batch counts all its items at once.

The single, batch and stream operations all call into this module, so they share it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from flaskllm import errors
from flaskllm.llm.base import Provider, Result, Task
from flaskllm.state import AppState


@dataclass(frozen=True)
class Job:
    """A validated request for one item, independent of how it arrived."""

    type: str
    text: str
    request_id: str
    token: str = "-"
    language: str | None = None
    source: str | None = None
    provider: str | None = None
    model: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    no_cache: bool = False  # Cache-Control: no-cache: skip the cache lookup, store the answer

    @classmethod
    def from_body(cls, body: Mapping[str, Any], *, request_id: str, token: str,
                  no_cache: bool = False) -> "Job":
        return cls(
            no_cache=no_cache,
            type=body.get("type", "summary"),
            text=body["prompt"],
            language=body.get("language"),
            source=body.get("source"),
            provider=body.get("provider"),
            model=body.get("model"),
            request_id=request_id,
            token=token,
        )


def provider_for(app: AppState, job: Job) -> Provider:
    provider = app.providers.get(job.provider)
    if job.type not in provider.supports:
        capable = [name for name in app.providers.names() if name != provider.name]
        choices = ", ".join(capable) or "openai, anthropic or an OpenAI-compatible server"
        raise errors.TypeNotSupported(
            f"The {provider.name} provider cannot do {job.type}; it needs a language model. "
            f"Choose a provider that can ({choices}; set LLM_PROVIDER).")
    return provider


def task_for(app: AppState, job: Job) -> Task:
    return Task(type=job.type, text=job.text, language=job.language, source=job.source,
                model=job.model, options=job.options)


async def process(app: AppState, job: Job) -> dict[str, Any]:
    """Run one job and return the response body (``ProcessResult`` in the spec)."""
    started = time.perf_counter()
    if len(job.text) > app.settings.max_prompt_length:
        raise errors.PromptTooLong(
            f"The prompt has {len(job.text)} characters; this server accepts at most "
            f"{app.settings.max_prompt_length} (MAX_PROMPT_LENGTH).")
    provider = provider_for(app, job)

    async def compute() -> Result:
        try:
            async with asyncio.timeout(app.settings.request_timeout):
                return await provider.complete(task_for(app, job))
        except TimeoutError as exc:
            raise errors.ProviderTimeout(
                f"The {provider.name} provider did not answer within "
                f"{app.settings.request_timeout:g} seconds.") from exc

    # The cache (single-flight included) wraps the provider call; see flaskllm/cache.py.
    version = getattr(job, "template_version", None)
    result, cached = await app.cache.get_or_compute(
        app.cache.key(job, provider, template_version=version), compute,
        refresh=job.no_cache, provider=provider.name, template_version=version)
    return shape(job, provider, result, time.perf_counter() - started, cached=cached)


def shape(job: Job, provider: Provider, result: Result, elapsed: float,
          cached: bool = False) -> dict[str, Any]:
    data = result.data if result.data is not None else {"text": result.text}
    return {
        "summary": result.text,
        "type": job.type,
        "data": data,
        "processing_time": round(elapsed, 6),
        "request_id": job.request_id,
        "provider": provider.name,
        "model": result.model,
        "cached": cached,
        "usage": {
            "input_tokens": result.input_tokens,
            "output_tokens": result.output_tokens,
            "cost_usd": 0.0 if provider.free else None,
        },
    }
