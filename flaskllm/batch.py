"""Batches: many items in one request, run through the same pipeline as a single prompt.

Each item is validated on its own against the spec's ``Prompt`` schema, so one bad cell fails
alone. Identical items are computed once; the distinct ones run concurrently, at most
UPSTREAM_CONCURRENCY at a time. Results keep the request's order, each with its own status.
With an Idempotency-Key the whole response is stored and replayed for a repeat of the batch.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import Any, Mapping

from connexion.exceptions import ProblemException

from flaskllm import context, errors, pipeline
from flaskllm.state import AppState

log = logging.getLogger("flaskllm.batch")


def items_of(body: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """The items, as Prompt-shaped dicts, and what to call them in error messages."""
    if "items" in body:
        return "items", list(body["items"])
    shared = {k: v for k, v in body.items() if k != "texts"}
    return "texts", [{**shared, "prompt": text} for text in body["texts"]]


def _invalid(app: AppState, label: str, index: int, item: Any) -> errors.APIProblem | None:
    # A missing prompt says more than the extra fields beside it: report "required" first.
    found = sorted(app.prompt_validator.iter_errors(item),
                   key=lambda e: (e.validator != "required", list(e.path)))
    error = found[0] if found else None
    if error is None:
        return None
    where = "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in error.path)
    if label == "texts" and where == ".prompt":
        where = ""  # the text itself: "texts[3]: ..." reads better than "texts[3].prompt"
    message = f"{label}[{index}]{where}: {error.message}"
    if error.validator == "maxLength" and error.path and error.path[-1] == "prompt":
        return errors.PromptTooLong(
            f"{label}[{index}]: the prompt has {len(item['prompt'])} characters; this server "
            f"accepts at most {app.settings.max_prompt_length} (MAX_PROMPT_LENGTH).")
    return errors.BadRequest(errors.shorten(message))


def _identity(job: pipeline.Job) -> str:
    """What makes two items the same computation: everything but the request id."""
    fields = {k: v for k, v in vars(job).items() if k != "request_id"}
    return json.dumps(fields, sort_keys=True, default=str)


async def run(app: AppState, body: Mapping[str, Any], *, request_id: str, token: str,
              no_cache: bool = False) -> dict[str, Any]:
    label, items = items_of(body)
    outcomes: list[Any] = [None] * len(items)
    groups: dict[str, list[int]] = {}
    jobs: dict[str, pipeline.Job] = {}
    for index, item in enumerate(items):
        problem = _invalid(app, label, index, item)
        if problem is not None:
            outcomes[index] = problem
            continue
        job = pipeline.Job.from_body(item, request_id=f"{request_id}-{index}", token=token,
                                     no_cache=no_cache, operation="webhook.batch")
        identity = _identity(job)
        groups.setdefault(identity, []).append(index)
        jobs.setdefault(identity, job)

    bound = asyncio.Semaphore(app.settings.upstream_concurrency)

    async def one(job: pipeline.Job) -> Any:
        async with bound:
            try:
                return await pipeline.answer(app, job)
            except ProblemException as exc:
                return exc
            except Exception:  # one item's bug must not fail the other items
                log.exception("batch item %s failed", job.request_id)
                return errors.InternalError()

    answers = await asyncio.gather(*(one(job) for job in jobs.values()))
    for identity, answer in zip(jobs, answers):
        for position, index in enumerate(groups[identity]):
            if isinstance(answer, dict) and position:
                answer = {**answer, "request_id": f"{request_id}-{index}"}
            outcomes[index] = answer

    results = [_result(app, index, outcome) for index, outcome in enumerate(outcomes)]
    succeeded = sum(1 for r in results if r["status"] == 200)
    usages = [r["result"]["usage"] for r in results if r["status"] == 200]
    context.current().batch_done(
        items=len(results), failed=len(results) - succeeded, **_totals(usages))
    return {"succeeded": succeeded, "failed": len(results) - succeeded, "results": results}


def _totals(usages: list[dict[str, Any]]) -> dict[str, Any]:
    """The items' usage summed; unknown (None) when any item's is."""
    totals: dict[str, Any] = {}
    for name in ("input_tokens", "output_tokens", "cost_usd"):
        values = [u[name] for u in usages]
        totals[name] = None if None in values else sum(values)
    if totals["cost_usd"] is not None:
        totals["cost_usd"] = round(totals["cost_usd"], 6)
    return totals


def _result(app: AppState, index: int, outcome: Any) -> dict[str, Any]:
    """One item's entry, counted as the middleware counts a whole request (alerts, refusals)."""
    if isinstance(outcome, dict):
        app.alerts.observe(200, provider=outcome["provider"])
        return {"index": index, "status": 200, "result": outcome}
    problem, _headers = errors.as_problem(outcome)
    app.metrics.refused(problem["code"])
    app.alerts.observe(problem["status"], code=problem["code"])
    return {"index": index, "status": problem["status"], "error": problem}


# Idempotency -------------------------------------------------------------------------------


def body_digest(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()


def _idempotency_key(token: str, key: str) -> str:
    return "idem:" + hashlib.sha256(f"{token}\0{key}".encode()).hexdigest()


async def replayed(app: AppState, token: str, key: str, digest: str) -> dict | None:
    """The stored response for this token's key, if the same body was sent with it before."""
    raw = await app.cache.store.get(_idempotency_key(token, key))
    if raw is None:
        return None
    stored = json.loads(raw)
    if stored["digest"] != digest:
        raise errors.IdempotencyKeyReused()
    return stored["response"]


async def remember(app: AppState, token: str, key: str, digest: str,
                   response: dict[str, Any]) -> None:
    value = json.dumps({"digest": digest, "response": response}, separators=(",", ":"))
    await app.cache.store.set(_idempotency_key(token, key), value.encode(),
                              app.settings.idempotency_ttl)
