"""One item's accounting, around the provider call: the budget hold before it, and after it
the cost, the settled budget and the usage record (written off the request's path).

    meter = await Meter.open(app, job, provider, prompt_chars)   # may raise BudgetExceeded
    ... the call ...
    cost = meter.succeeded(result, cached, upstream_seconds)
    meter.ended(exc, text_so_far)   # in the pipeline's `finally`: a problem, a bug, a client
                                    # that went away; does nothing after succeeded()

Every opened meter is closed exactly once, so the budget is always settled or released and
one usage record is always written.

Cost: 0 for a free provider and for an answer that made no upstream call of its own (a cache
hit or a share of an identical call in flight); otherwise from the price table, or None for a
model without a price or a call whose token counts are unknown (unknown is not free).
"""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal
from typing import Any

from connexion.exceptions import ProblemException

from flaskllm import context, errors
from flaskllm.llm.base import MAX_OUTPUT_TOKENS, Provider, Result
from flaskllm.usage.records import UsageRecord

log = logging.getLogger("flaskllm.usage")
DISCONNECTED = 499  # the client went away (nginx's convention; never sent to anyone)


class Meter:
    def __init__(self, app: Any, job: Any, provider: Provider, reservation: Any):
        self.app = app
        self.job = job
        self.provider = provider
        self.reservation = reservation
        self.started = time.perf_counter()
        self.closed = False
        self._tasks: set[asyncio.Task] = set()

    @classmethod
    async def open(cls, app: Any, job: Any, provider: Provider, prompt_chars: int) -> "Meter":
        """Hold the most this item can cost: ``prompt_chars`` of rendered prompt (instructions,
        the user's text, variables, schema) and MAX_OUTPUT_TOKENS of answer."""
        model = job.model or provider.default_model
        estimate = (Decimal(0) if provider.free else
                    app.budgets.estimate(model, prompt_chars, MAX_OUTPUT_TOKENS))
        return cls(app, job, provider, await app.budgets.reserve(job.token, estimate))

    def cost(self, result: Result, cached: bool) -> Decimal | None:
        # Free only when the free provider itself answered (not a paid fallback).
        if cached or (self.provider.free and result.provider in (None, self.provider.name)):
            return Decimal(0)
        if result.input_tokens is None or result.output_tokens is None:
            return None  # the provider did not say what it used
        return self.app.prices.cost(result.model, result.input_tokens, result.output_tokens)

    def succeeded(self, result: Result, cached: bool, upstream: float | None) -> Decimal | None:
        self.closed = True
        cost = self.cost(result, cached)
        self._settle(cost)
        self._record(result.provider or self.provider.name, result.model, result.input_tokens,
                     result.output_tokens, cost, upstream, 200, None, cached,
                     response=result.text)
        return cost

    def ended(self, exc: BaseException, text_so_far: str = "") -> None:
        """Close the meter for whatever ended the item instead of a result (nothing once it
        succeeded): a problem, a client that went away, or a bug (recorded as a 500)."""
        if self.closed:
            return
        if isinstance(exc, ProblemException):
            self.failed(exc)
        elif isinstance(exc, Exception):
            self.failed(errors.InternalError())
        else:  # CancelledError, GeneratorExit: the client went away
            self.disconnected(text_so_far)

    def failed(self, exc: BaseException) -> None:
        """A problem answered instead of a result (the provider's, or ours). What the provider
        used is unknown: the tokens are None."""
        self.closed = True
        body, _headers = errors.as_problem(exc)
        self._settle(None)
        self._record(self.provider.name, self.job.model or self.provider.default_model, None,
                     None, None, None, body["status"], body["code"], False)

    def disconnected(self, text_so_far: str) -> None:
        """The client left before the result: record an estimate from the text so far (the
        provider had not reported its usage yet), priced like any call."""
        from flaskllm.llm.offline import count_tokens  # the same rough count offline uses

        self.closed = True
        log.info("%s: the client went away; upstream call cancelled", self.job.request_id)
        model = self.job.model or self.provider.default_model
        usage = count_tokens(self.job.text), count_tokens(text_so_far)
        cost = (Decimal(0) if self.provider.free
                else self.app.prices.cost(model, usage[0], usage[1]))
        self._settle(cost)
        self._record(self.provider.name, model, usage[0], usage[1], cost, None, DISCONNECTED,
                     "CLIENT_DISCONNECTED", False, response=text_so_far)

    def _settle(self, cost: Decimal | None) -> None:
        if not self.reservation.counted:  # a token without limits held nothing
            return
        # Off the request's path: the answer does not wait for the budget store.
        task = asyncio.get_running_loop().create_task(
            self.app.budgets.settle(self.reservation, cost))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _record(self, provider: str, model: str, input_tokens: int | None,
                output_tokens: int | None, cost: Decimal | None, upstream: float | None,
                status: int, code: str | None, cached: bool,
                response: str | None = None) -> None:
        job = self.job
        rec = UsageRecord(
            request_id=job.request_id, token=job.token, operation=job.operation, type=job.type,
            provider=provider, model=model, input_tokens=input_tokens,
            output_tokens=output_tokens, cost_usd=cost,
            latency=time.perf_counter() - self.started, upstream_latency=upstream,
            status=status, error_code=code, cached=cached, prompt=job.text, response=response)
        self.app.usage.record(rec)
        self.app.metrics.observe_record(rec)
        if job.operation != "webhook.batch":  # a batch logs its totals once (flaskllm/batch.py)
            context.current().used(
                type=rec.type, provider=rec.provider, model=rec.model, cached=rec.cached,
                input_tokens=rec.input_tokens, output_tokens=rec.output_tokens,
                cost_usd=rec.cost_usd, upstream_seconds=upstream, status=rec.status, code=code,
                prompt=job.text)
