"""The request pipeline: the one place that orders the steps around an LLM call.

    events = pipeline.run(app, job)            # an async iterator of Delta(text)…, then Done
    async for event in events: ...             # single: drain it (``answer``); stream: SSE

    admission  length · provider (allow-list: provider, model, key) · type · template
               · budget hold (429 BUDGET_EXCEEDED)          a refusal here is a plain problem
    cache      lookup / single-flight (flaskllm/cache.py)   a hit: one Delta, then Done
    on a miss  render the template (sandboxed; its version is in the cache key)
               · flaskllm/llm/policy.py: deadline, retries, Retry-After, fallback, all before
                 the first delta; after it a failure ends the answer with its problem
               · typed data checked against the spec's schema, one repair attempt
    finally    the meter: budget settled, usage record written, for a result, a problem,
               a bug and a client that went away alike (flaskllm/usage/meter.py)

The rate limit is counted before, by the operation (``await app.limiter.hit(token, cost)``),
because a batch counts all its items at once. Single, batch and stream requests, and the
OpenAI-compatible chat completions, all run ``run``; nothing else calls a provider.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import functools
import logging
import re
import time
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, AsyncIterator, Mapping

from flaskllm import errors
from flaskllm.llm import policy, processing, typed
from flaskllm.llm.base import MAX_OUTPUT_TOKENS, Prompt, Provider, Result, Task, add_tokens
from flaskllm.state import AppState
from flaskllm.templates import Template
from flaskllm.usage.meter import Meter

log = logging.getLogger("flaskllm.pipeline")


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
    template: str | None = None  # a named prompt template instead of the type's own
    variables: Mapping[str, str] = field(default_factory=dict)  # for that template
    instruction: str | None = None  # custom's free instruction (extra ones for other types)
    no_cache: bool = False  # Cache-Control: no-cache: skip the cache lookup, store the answer
    operation: str = "webhook.create"  # the spec's operationId, for the usage record
    # A chat (type "chat", the OpenAI-compatible API): its (role, content) messages, which
    # make the prompt instead of a template; ``text`` is their text, for length and metering.
    messages: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_body(cls, body: Mapping[str, Any], *, request_id: str, token: str,
                  no_cache: bool = False, operation: str = "webhook.create") -> "Job":
        return cls(
            no_cache=no_cache,
            operation=operation,
            type=body.get("type", "summary"),
            text=body["prompt"],
            language=body.get("language"),
            source=body.get("source"),
            provider=body.get("provider"),
            model=body.get("model"),
            template=body.get("template"),
            variables=body.get("variables") or {},
            instruction=body.get("instruction"),
            request_id=request_id,
            token=token,
        )


@dataclass(frozen=True)
class Delta:
    """A piece of the answer's text, as the provider wrote it."""

    text: str


@dataclass(frozen=True)
class Done:
    """The end of an answer: the response body (``ProcessResult`` in the spec)."""

    body: dict[str, Any]


Event = Delta | Done


class Run:
    """The events of one job: ``Delta``… then exactly one ``Done``; a problem is raised
    instead of ``Done``. ``await run.admit()`` passes admission first (its refusals raise as
    plain problems, before anything is sent); iterating does it implicitly."""

    def __init__(self, app: AppState, job: Job, *, gap: float | None = None):
        self._steps = _steps(app, job, gap)
        self._admitted = False

    async def admit(self) -> None:
        if not self._admitted:
            self._admitted = True
            await anext(self._steps)  # up to the yield after the budget hold

    def __aiter__(self) -> "Run":
        return self

    async def __anext__(self) -> Event:
        await self.admit()
        return await anext(self._steps)

    async def aclose(self) -> None:
        await self._steps.aclose()


def run(app: AppState, job: Job, *, streaming: bool = False) -> Run:
    """The job's events. ``streaming``: once the answer flows, REQUEST_TIMEOUT bounds each
    wait between deltas (a long answer that keeps coming is not cut off); otherwise the whole
    answer is due within REQUEST_TIMEOUT."""
    return Run(app, job, gap=app.settings.request_timeout if streaming else None)


async def answer(app: AppState, job: Job) -> dict[str, Any]:
    """Run one job to its end and return the response body (single and batch requests)."""
    async with contextlib.aclosing(run(app, job)) as events:
        async for event in events:
            if isinstance(event, Done):
                return event.body
    raise AssertionError("unreachable")  # run ends with Done or raises


_ADMITTED = object()  # the marker _steps yields once admission has passed


async def _steps(app: AppState, job: Job, gap: float | None) -> AsyncIterator[Any]:
    started = time.perf_counter()
    check_length(app, job)
    provider = provider_for(app, job)
    template = template_for(app, job)
    version = template.version if template else None  # in the cache key and the answer
    meter = await Meter.open(app, job, provider, prompt_chars(app, job, template))
    written: list[str] = []
    try:
        yield _ADMITTED
        # With the cache off (CACHE_TTL=0) no key is made: claim() neither looks nor shares.
        key = app.cache.key(job, provider, template_version=version) if app.cache.enabled \
            else ""
        slot = await app.cache.claim(key, refresh=job.no_cache)
        if slot.result is not None:  # no upstream call of its own: a hit, or a shared call
            result, cached, upstream = slot.result, True, None
            cost = meter.succeeded(result, cached, upstream)
            yield Delta(result.text)
        else:
            called = time.perf_counter()
            try:
                async with contextlib.aclosing(_compute(app, job, provider, gap)) as pieces:
                    async for piece in pieces:
                        if isinstance(piece, Result):
                            result = piece
                        else:
                            written.append(piece)
                            yield Delta(piece)
            except BaseException as exc:
                await slot.abandon(exc)
                raise
            upstream, cached = time.perf_counter() - called, False
            await slot.fill(result)
            cost = meter.succeeded(result, cached, upstream)
        yield Done(shape(job, provider, result, time.perf_counter() - started, cached=cached,
                         template_version=version, cost=cost))
    except BaseException as exc:  # a problem, a bug, or the client went away (the caller logs)
        meter.ended(exc, "".join(written))
        raise


async def _compute(app: AppState, job: Job, provider: Provider,
                   gap: float | None) -> AsyncIterator[str | Result]:
    """On a miss: render, then the provider call within REQUEST_TIMEOUT (retries and
    fallbacks included), its deltas, then the Result, for typed types with its ``data``
    checked (one repair attempt by the provider that answered)."""
    deadline = policy.Deadline(app.settings.request_timeout)
    task = task_for(app, job)
    # A model the request chose belongs to its provider: fallbacks use their own default.
    chain = [(p, task if p is provider else dataclasses.replace(task, model=None))
             for p in app.providers.chain(provider, job.type)]
    result, answered, used = None, provider, task
    async with contextlib.aclosing(policy.stream(chain, deadline, gap=gap)) as pieces:
        async for answered, used, piece in pieces:
            if isinstance(piece, Result):
                result = piece
            else:
                yield piece
    assert result is not None  # policy.stream ends with the Result or raises
    result.provider = answered.name
    yield await typed_answer(app, job, answered, used, result, deadline)


def check_length(app: AppState, job: Job) -> None:
    """413 PROMPT_TOO_LONG past MAX_PROMPT_LENGTH; 400 EMPTY_PROMPT without a visible
    character (before anything is held or metered)."""
    if len(job.text) > app.settings.max_prompt_length:
        raise errors.PromptTooLong(
            f"The prompt has {len(job.text)} characters; this server accepts at most "
            f"{app.settings.max_prompt_length} (MAX_PROMPT_LENGTH).")
    if not visible(app, job.text):
        raise errors.EmptyPrompt("The prompt has no visible characters (only spaces, "
                                 "zero-width or control characters).")


_VISIBLE_ASCII = re.compile(r"[!-~]")


@functools.lru_cache(maxsize=4)
def _visible_pattern(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def visible(app: AppState, text: str) -> bool:
    """Whether the text, after NFKC normalisation, has a visible character: the spec's own
    definition (the Prompt schema's ``pattern``), so the two never disagree."""
    if _VISIBLE_ASCII.search(text):
        return True
    pattern = app.spec["components"]["schemas"]["Prompt"]["properties"]["prompt"]["pattern"]
    return _visible_pattern(pattern).search(unicodedata.normalize("NFKC", text)) is not None


def provider_for(app: AppState, job: Job) -> Provider:
    provider = app.providers.get(job.provider)
    app.providers.check_model(provider, job.model)
    if job.type not in provider.supports:
        capable = [name for name in app.providers.names() if name != provider.name]
        choices = ", ".join(capable) or "openai, anthropic or an OpenAI-compatible server"
        raise errors.TypeNotSupported(
            f"The {provider.name} provider cannot do {job.type}; it needs a language model. "
            f"Choose a provider that can ({choices}; set LLM_PROVIDER).")
    return provider


_SCHEMA_CHARS: dict[str, int] = {}  # per type: the JSON schema a typed request carries


def prompt_chars(app: AppState, job: Job, template: Template | None) -> int:
    """The rendered prompt's size, at most, without rendering it (a render costs ~0.14 ms,
    which a cache hit never pays): the template's own text, what the request puts in, and
    the schema a typed request sends along."""
    if job.type not in _SCHEMA_CHARS:
        schema = app.data_schema(job.type)
        _SCHEMA_CHARS[job.type] = 0 if schema is None else len(json.dumps(
            typed.envelope(schema), ensure_ascii=False))
    supplied = (len(job.text) + len(job.instruction or "") + len(job.language or "")
                + sum(len(str(v)) for v in job.variables.values()))
    static = template.static_chars if template else 0  # a chat's messages are all in text
    return static + supplied + _SCHEMA_CHARS[job.type]


def task_for(app: AppState, job: Job) -> Task:
    """The task with its rendered prompt; the user's text enters the template as data."""
    context = {"text": job.text, "type": job.type, "language": job.language,
               "source": job.source, "instruction": job.instruction}
    prompt = Prompt.from_messages(job.messages) if job.messages else \
        app.templates.render(job.template or job.type, context, job.variables)
    return Task(type=job.type, text=job.text, language=job.language, source=job.source,
                model=job.model, prompt=prompt, schema=app.data_schema(job.type),
                options=job.options,
                max_output_tokens=job.options.get("max_tokens", MAX_OUTPUT_TOKENS))


def template_for(app: AppState, job: Job) -> Template | None:
    """The template that renders the job's prompt (None for a chat: its messages are it)."""
    return None if job.messages else app.templates.get(job.template or job.type)


async def typed_answer(app: AppState, job: Job, provider: Provider, task: Task,
                       result: Result, deadline: policy.Deadline) -> Result:
    """For typed types, ``result`` with its ``data`` checked against the spec's schema; an
    invalid answer gets one repair attempt from the same provider, then PROVIDER_BAD_OUTPUT."""
    if task.schema is None:
        return result
    try:
        return checked(job, task, result)
    except typed.BadOutput as bad:
        log.info("provider %s gave invalid %s output (%s); asking it to repair",
                 provider.name, job.type, bad.reason)
        repair = dataclasses.replace(task, prompt=repair_prompt(app, task.prompt, bad))
    _, _, again = await policy.complete([(provider, repair)], deadline)
    try:
        fixed = checked(job, task, again)
    except typed.BadOutput as bad:
        raise errors.ProviderBadOutput(
            f"The {provider.name} provider's answer for {job.type} did not match the schema, "
            f"even after a repair attempt: {bad.reason}.") from bad
    fixed.provider = provider.name
    # Both calls were spent on this answer.
    fixed.input_tokens = add_tokens(fixed.input_tokens, result.input_tokens)
    fixed.output_tokens = add_tokens(fixed.output_tokens, result.output_tokens)
    return fixed


def checked(job: Job, task: Task, result: Result) -> Result:
    """``result`` with valid typed ``data`` (from the model's JSON when it wrote JSON) and a
    readable ``text``; raises ``typed.BadOutput``."""
    wrote_json = result.data is None
    data = typed.unwrap(result.text, task.schema) if wrote_json else result.data
    data = typed.check(job.type, data, task.schema, job.text)
    text = processing.get(job.type).summary(data) if wrote_json or not result.text \
        else result.text
    return dataclasses.replace(result, data=data, text=text)


def repair_prompt(app: AppState, prompt: Prompt, bad: typed.BadOutput) -> Prompt:
    """The same conversation, plus the invalid answer and what is wrong with it."""
    follow_up = app.templates.render("_repair", {"reason": bad.reason}, internal=True)
    return dataclasses.replace(prompt, turns=prompt.turns + (
        ("assistant", bad.raw or "(no answer)"), ("user", follow_up.user)))


def shape(job: Job, provider: Provider, result: Result, elapsed: float,
          cached: bool = False, template_version: str | None = None,
          cost: Decimal | None = None) -> dict[str, Any]:
    data = result.data if result.data is not None else {"text": result.text}
    return {
        "summary": result.text,
        "type": job.type,
        "data": data,
        "processing_time": round(elapsed, 6),
        "request_id": job.request_id,
        "provider": result.provider or provider.name,
        "model": result.model,
        "cached": cached,
        "template_version": template_version,
        "usage": {
            "input_tokens": result.input_tokens,  # None: the provider did not say
            "output_tokens": result.output_tokens,
            "cost_usd": None if cost is None else float(cost),  # priced by the Meter
        },
    }
