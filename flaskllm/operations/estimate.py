"""POST /api/v1/estimate: what a batch would cost, before it runs.

The body is a batch's (BatchRequest), validated the same way, item by item. For each item:
whether the result cache already holds its answer for this token (cost 0), its input tokens,
the output its type usually takes, and the USD range from the price table; then the totals and
the token's budget and quota. Nothing is computed: no provider call, no budget hold, no usage
record, and the rate limit counts this request once, whatever its number of items.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from connexion import request
from connexion.exceptions import ProblemException

from flaskllm import batch as batch_module
from flaskllm import errors, pipeline, state
from flaskllm import estimate as guess
from flaskllm.cache import no_cache_requested
from flaskllm.usage.budgets import remaining
from flaskllm.responses import json_response


@dataclass(frozen=True)
class Prepared:
    """What the pipeline would decide for a job before its provider call."""

    provider: Any
    model: str
    template_version: str
    cache_key: str
    prompt_text: str  # the rendered template, as the provider would receive it
    cached: bool


async def prepare(app: "state.AppState", job: pipeline.Job) -> Prepared:
    """The pipeline's own steps up to the cache lookup, without computing anything: the one
    place this module depends on pipeline.py (raises the same problems the pipeline would)."""
    pipeline.check_length(app, job)
    provider = pipeline.provider_for(app, job)
    version = app.templates.get(job.template or job.type).version
    key = app.cache.key(job, provider, template_version=version)
    prompt = pipeline.task_for(app, job).prompt
    cached = not job.no_cache and await app.cache.peek(key) is not None
    return Prepared(provider, job.model or provider.default_model, version, key,
                    f"{prompt.system}\n{prompt.user}", cached)


async def create(body: dict, user: str):
    app = state.get()
    await app.limiter.hit(user)  # one hit: an estimate makes no upstream call
    label, items = batch_module.items_of(body)
    no_cache = no_cache_requested(request.headers.get("cache-control"))
    # The cache lookups run concurrently (one round trip each with Redis), in order after.
    outcomes = await asyncio.gather(*(_prepared(app, label, index, item, user, no_cache)
                                      for index, item in enumerate(items)))
    first_of: dict[str, int] = {}  # cache key → the first item with it (single-flight shares)
    results = [_entry(app, index, outcome, first_of) for index, outcome in enumerate(outcomes)]
    totals = _totals(results)
    budget = await remaining(app.budgets, user)
    return json_response({"results": results, "totals": totals, "budget": budget,
                          **_fits(totals, budget)})


async def _prepared(app: "state.AppState", label: str, index: int, item: Any, user: str,
                    no_cache: bool) -> tuple[pipeline.Job, Prepared] | ProblemException:
    """The item's job and what the pipeline would decide for it, or the problem a batch would
    answer for it (validated as the batch validates its items)."""
    problem = batch_module._invalid(app, label, index, item)
    if problem is not None:
        return problem
    job = pipeline.Job.from_body(item, request_id=f"estimate-{index}", token=user,
                                 no_cache=no_cache, operation="estimate.create")
    try:
        return job, await prepare(app, job)
    except ProblemException as exc:
        return exc


def _entry(app: "state.AppState", index: int, outcome: Any,
           first_of: dict[str, int]) -> dict[str, Any]:
    if isinstance(outcome, ProblemException):
        body, _headers = errors.as_problem(outcome)
        return {"index": index, "status": body["status"], "error": body}
    job, ready = outcome
    duplicate_of = first_of.setdefault(ready.cache_key, index)
    shared = duplicate_of != index  # an identical item in the same batch: computed once
    count = guess.input_tokens(ready.model, ready.prompt_text)
    output = guess.output_tokens(job.type, guess.input_tokens(ready.model, job.text).tokens)
    if ready.cached or shared or ready.provider.free:
        low = high = Decimal(0)
    else:
        low, high = guess.cost_range(app.prices, ready.model, count.tokens, output)
    return {
        "index": index, "status": 200, "cached": ready.cached or shared,
        "duplicate_of": duplicate_of if shared else None,
        "provider": ready.provider.name, "model": ready.model,
        "template_version": ready.template_version,
        "input_tokens": count.tokens, "tokenizer": count.tokenizer,
        "output_tokens": {"low": output[0], "high": output[1]},
        "cost_usd": {"low": guess.usd(low), "high": guess.usd(high)},
    }


def _totals(results: list[dict[str, Any]]) -> dict[str, Any]:
    valid = [r for r in results if r["status"] == 200]
    to_run = [r for r in valid if not r["cached"]]
    unpriced = sum(1 for r in to_run if r["cost_usd"]["high"] is None)

    def total(field: str, end: str) -> Any:
        values = [r[field][end] for r in to_run]
        if None in values:
            return None  # unknown is not free: one unpriced item makes the total unknown
        return round(sum(Decimal(str(v)) for v in values), 6) if field == "cost_usd" \
            else sum(values)

    return {
        "items": len(results), "valid": len(valid), "failed": len(results) - len(valid),
        "cached": len(valid) - len(to_run), "to_run": len(to_run), "unpriced": unpriced,
        "input_tokens": sum(r["input_tokens"] for r in to_run),
        "output_tokens": {"low": total("output_tokens", "low"),
                          "high": total("output_tokens", "high")},
        "cost_usd": {"low": guess.usd(total("cost_usd", "low")),
                     "high": guess.usd(total("cost_usd", "high"))},
    }


def _fits(totals: dict[str, Any], budget: dict[str, Any]) -> dict[str, bool | None]:
    """Whether the high estimate fits what remains of the USD budgets (null: no budget, or a
    cost unknown) and whether the valid items fit the daily request quota (each item counts,
    cached ones too, as they do when the batch runs; null: no quota)."""
    remaining = [budget[p]["remaining_usd"] for p in ("day", "month")
                 if budget[p]["remaining_usd"] is not None]
    high = totals["cost_usd"]["high"]
    within_budget = None if not remaining or high is None else high <= min(remaining)
    quota = budget["day"]["remaining_requests"]
    return {"within_budget": within_budget,
            "within_quota": None if quota is None else totals["valid"] <= quota}
