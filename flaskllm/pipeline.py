"""The request pipeline: the one place that decides the order of the steps around an LLM call.

    Job ─▶ provider (allow-list: provider and model; key) ─▶ type supported?
        ─▶ prompt template (sandboxed; its version joins the cache key) ─▶ cache (single-flight)
        ─▶ on a miss: provider call (deadline, retries, fallback: flaskllm.llm.policy)
                      ─▶ typed data checked against the spec's schema, one repair attempt
        ─▶ shape the reply (summary, typed data, usage, timing, template version)

Around the cache and the call, each item is metered (flaskllm/usage/meter.py): the token's
budget is held before (429 BUDGET_EXCEEDED), and after it the cost is priced, the budget
settled and a usage record queued, for a result and for a problem alike.

The rate limit is counted before, by the operation (``await app.limiter.hit(token, cost)``),
because a batch counts all its items at once.

The single, batch and stream operations all call into this module, so they share it.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping

from connexion.exceptions import ProblemException

from flaskllm import errors
from flaskllm.llm import policy, typed
from flaskllm.llm.base import MAX_OUTPUT_TOKENS, Prompt, Provider, Result, Task
from flaskllm.state import AppState
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


def check_length(app: AppState, job: Job) -> None:
    if len(job.text) > app.settings.max_prompt_length:
        raise errors.PromptTooLong(
            f"The prompt has {len(job.text)} characters; this server accepts at most "
            f"{app.settings.max_prompt_length} (MAX_PROMPT_LENGTH).")


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


def template_version(app: AppState, job: Job) -> str | None:
    """The version of the template that renders the job's prompt (None for a chat's)."""
    return None if job.messages else app.templates.get(job.template or job.type).version


async def process(app: AppState, job: Job) -> dict[str, Any]:
    """Run one job and return the response body (``ProcessResult`` in the spec)."""
    started = time.perf_counter()
    check_length(app, job)
    provider = provider_for(app, job)
    # The cache key needs only the template's version: the prompt is rendered on a miss.
    version = template_version(app, job)
    upstream: list[float] = []

    async def compute() -> Result:
        called = time.perf_counter()
        try:
            return await answer(app, job, provider, task_for(app, job))
        finally:
            upstream.append(time.perf_counter() - called)

    meter = await Meter.open(app, job, provider)
    # The cache (single-flight included) wraps the provider call; see flaskllm/cache.py.
    try:
        result, cached = await app.cache.get_or_compute(
            app.cache.key(job, provider, template_version=version), compute,
            refresh=job.no_cache, provider=provider.name, template_version=version)
    except ProblemException as exc:
        meter.failed(exc)
        raise
    cost = meter.succeeded(result, cached, upstream[0] if upstream else None)
    return shape(job, provider, result, time.perf_counter() - started, cached=cached,
                 template_version=version, cost=cost)


async def answer(app: AppState, job: Job, provider: Provider, task: Task) -> Result:
    """The provider call within REQUEST_TIMEOUT (retries and fallbacks included), then, for
    typed types, the check of ``data`` with one repair attempt by the provider that answered."""
    deadline = policy.Deadline(app.settings.request_timeout)
    # A model the request chose belongs to its provider: fallbacks use their own default.
    chain = [(p, task if p is provider else dataclasses.replace(task, model=None))
             for p in app.providers.chain(provider, job.type)]
    answered, used, result = await policy.with_fallback(chain, deadline)
    result.provider = answered.name
    return await typed_answer(app, job, answered, used, result, deadline)


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
    _, _, again = await policy.with_fallback([(provider, repair)], deadline)
    try:
        fixed = checked(job, task, again)
    except typed.BadOutput as bad:
        raise errors.ProviderBadOutput(
            f"The {provider.name} provider's answer for {job.type} did not match the schema, "
            f"even after a repair attempt: {bad.reason}.") from bad
    fixed.provider = provider.name
    fixed.input_tokens += result.input_tokens  # both calls were spent on this answer
    fixed.output_tokens += result.output_tokens
    return fixed


def checked(job: Job, task: Task, result: Result) -> Result:
    """``result`` with valid typed ``data`` (from the model's JSON when it wrote JSON) and a
    readable ``text``; raises ``typed.BadOutput``."""
    wrote_json = result.data is None
    data = typed.unwrap(result.text, task.schema) if wrote_json else result.data
    data = typed.check(job.type, data, task.schema, job.text)
    text = typed.summary_of(job.type, data) if wrote_json or not result.text else result.text
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
            "input_tokens": result.input_tokens,
            "output_tokens": result.output_tokens,
            "cost_usd": None if cost is None else float(cost),  # priced by the Meter
        },
    }
