"""Budgets and quotas per token: daily and monthly USD budgets, a daily request quota.

    est = app.budgets.estimate(model, prompt_chars, max_output_tokens)   Decimal | None
    res = await app.budgets.reserve(token, est, requests=1)    429 BUDGET_EXCEEDED, or a hold
    ...the provider call...
    await app.budgets.settle(res, actual_cost)   the hold becomes what the call really cost
    await app.budgets.release(res)               the call never happened: nothing is counted

A reservation is admitted only if ``spent + reserved + estimate <= limit`` for today and this
month, checked and counted in one atomic step (a conditional UPDATE in the database, or a
Lua script in Redis when REDIS_URL is set), so concurrent requests in any number of workers
cannot together pass a limit: each one's estimate is held until it settles.

The in-flight margin: spending can pass a USD budget only by what calls cost beyond their
estimates. The estimate counts max_output_tokens in full (output cannot exceed it) and the
prompt at CHARS_PER_TOKEN characters a token plus PROMPT_OVERHEAD_TOKENS; ``prompt_chars`` is
the whole rendered prompt (template, text, variables, schema: flaskllm/pipeline.py), so the
overshoot is at most the input that text denser than that adds, per request in flight. The
request quota has no margin: at most ``quota`` requests a day are admitted, ever.

Periods are UTC days and months; a refusal says when it resets (Retry-After, ``resets_at``).
Spending is counted from when a budget is set, seeded with the day's and month's usage
records; tokens without limits skip all of this (one cached lookup). Alerts go out once per
token, period and level at 80% and 100% of a budget or quota, whichever is higher.
"""

from __future__ import annotations

import asyncio
import logging
import time
from flaskllm.ids import new_id
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from flaskllm import errors
from flaskllm.lookups import Lookups
from flaskllm.prices import micros, usd
from flaskllm.tokens import ENV_TOKEN_NAME

if TYPE_CHECKING:
    from flaskllm.alerts import Alerter
    from flaskllm.prices import Prices

log = logging.getLogger("flaskllm.budgets")

CHARS_PER_TOKEN = 2  # conservative: English runs about 4 characters a token
PROMPT_OVERHEAD_TOKENS = 300  # a margin: message framing, a repair's extra turns
LIMITS_CACHE_SECONDS = 5.0  # a changed budget takes effect in every worker within this time
STALE_SECONDS = 900.0  # a reservation this old belongs to a worker that died: release it
SWEEP_SECONDS = 60.0
OUTAGE_LOG_SECONDS = 60.0
RETRY_AFTER = 5  # seconds, in a 503 BUDGETS_UNAVAILABLE
LEVELS = (100, 80)  # alert thresholds, percent


@dataclass(frozen=True)
class Limits:
    daily_micros: int | None = None
    monthly_micros: int | None = None
    daily_requests: int | None = None

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.daily_micros, self.monthly_micros,
                                           self.daily_requests))

    def for_period(self, monthly: bool) -> tuple[int | None, int | None]:
        """(USD limit in micro-dollars, request quota) of a day or a month."""
        return (self.monthly_micros, None) if monthly else (self.daily_micros,
                                                            self.daily_requests)

    def as_dict(self) -> dict[str, Any]:
        return {"daily_usd": _float(self.daily_micros), "monthly_usd": _float(self.monthly_micros),
                "daily_requests": self.daily_requests}


@dataclass
class Reservation:
    token: str
    day: str  # 2025-01-31
    month: str  # 2025-01
    micros: int = 0
    requests: int = 0
    limits: Limits = field(default_factory=Limits)
    id: str = field(default_factory=new_id)
    done: bool = False

    @property
    def counted(self) -> bool:
        """False for tokens without limits: nothing was held, nothing is settled."""
        return self.limits.any


@dataclass(frozen=True)
class PeriodUse:
    period: str
    spent: int  # micro-dollars
    reserved: int
    requests: int
    alerted: int  # the highest alert level sent, percent


@dataclass(frozen=True)
class Refusal:
    period: str
    reason: str  # "budget" or "quota"
    used: int  # micro-dollars (budget) or requests (quota), reservations included


class Store(Protocol):
    """Where the counts live: the database (budget_sql.py) or Redis (budget_redis.py)."""

    async def reserve(self, res: Reservation) -> Refusal | None: ...
    async def settle(self, res: Reservation, actual: int, refund: int) -> list[PeriodUse]: ...
    async def claim_alert(self, token: str, period: str, level: int) -> bool: ...
    async def usage(self, token: str, periods: list[str]) -> dict[str, PeriodUse]: ...
    async def seed(self, token: str, uses: list[PeriodUse]) -> None: ...
    async def sweep(self, older_than: float) -> int: ...
    async def aclose(self) -> None: ...


def periods(now: datetime) -> tuple[str, str]:
    return now.strftime("%Y-%m-%d"), now.strftime("%Y-%m")


def resets_at(period: str) -> datetime:
    """The start of the next UTC day (2025-01-31) or month (2025-01)."""
    if len(period) == 7:
        year, month = map(int, period.split("-"))
        return datetime(year + month // 12, month % 12 + 1, 1, tzinfo=timezone.utc)
    start = datetime.strptime(period, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    return start + timedelta(days=1)


class Budgets:
    def __init__(self, limits_source: Any, store: Store, prices: "Prices",
                 alerts: "Alerter | None" = None, *, clock=lambda: datetime.now(timezone.utc),
                 stale_seconds: float = 0.0):
        self.limits_source = limits_source  # has read(token) and write(token, limits), sync
        self.store = store
        self.prices = prices
        self.alerts = alerts
        self.clock = clock
        # While the database is away, limits read in the last STALE_TOKEN_TTL still count:
        # a token without limits goes on, one with limits is counted in Redis (if set).
        self._limits = Lookups(LIMITS_CACHE_SECONDS, stale_seconds=stale_seconds,
                               what="budget limits")
        self._swept = 0.0
        self._logged = float("-inf")

    # Limits (the CLI and the admin API) ------------------------------------------------------

    async def limits(self, token: str) -> Limits:
        if token == ENV_TOKEN_NAME:  # the server's API_TOKEN has no row, so never limits
            return Limits()
        return await self._limits.get(token, self.limits_source.read, token)

    async def set_limits(self, token: str, **changes: Decimal | int | None) -> Limits:
        """Change some of a token's limits (``daily_usd``, ``monthly_usd``, ``daily_requests``;
        None clears one, a missing keyword keeps it). Raises ValueError for an unknown token."""
        names = {"daily_usd": "daily_micros", "monthly_usd": "monthly_micros",
                 "daily_requests": "daily_requests"}
        unknown = set(changes) - set(names)
        if unknown:
            raise TypeError(f"unknown limits: {', '.join(sorted(unknown))}")
        values = {names[k]: (micros(Decimal(v)) if k.endswith("usd") and v is not None else v)
                  for k, v in changes.items()}
        limits = await asyncio.to_thread(self.limits_source.write, token, values)
        self._limits.forget(token)
        # Count what the token already used this day and month, not only what comes next.
        day, month = periods(self.clock())
        await self.store.seed(token, await asyncio.to_thread(
            self.limits_source.used, token, day, month))
        return limits

    async def status(self, token: str) -> dict[str, Any]:
        """Limits, spending and what is held for one token, for today and this month."""
        limits = await self.limits(token)
        day, month = periods(self.clock())
        use = await self.store.usage(token, [day, month]) if limits.any else {}
        out: dict[str, Any] = {"limits": limits.as_dict()}
        for name, period in (("day", day), ("month", month)):
            u = use.get(period) or PeriodUse(period, 0, 0, 0, 0)
            out[name] = {"period": period, "spent_usd": _float(u.spent),
                         "reserved_usd": _float(u.reserved), "requests": u.requests,
                         "resets_at": _iso(resets_at(period))}
        return out

    # The request path ------------------------------------------------------------------------

    def estimate(self, model: str, prompt_chars: int, max_output_tokens: int) -> Decimal | None:
        """The most one call should cost (None: the model has no price)."""
        input_tokens = -(-prompt_chars // CHARS_PER_TOKEN) + PROMPT_OVERHEAD_TOKENS
        return self.prices.cost(model, input_tokens, max_output_tokens)

    async def reserve(self, token: str, estimate: Decimal | None,
                      requests: int = 1) -> Reservation:
        """Hold ``estimate`` (USD, for all ``requests`` together) against the token's limits,
        or raise BudgetExceeded (429). An unpriced estimate (None) holds nothing, but the
        request still counts against the quota and is refused once a budget is spent. A
        token without limits holds nothing: its reservation names no period and no id."""
        try:
            limits = await self.limits(token)
            if not limits.any:
                return Reservation(token, "", "", 0, requests, limits, id="")
            day, month = periods(self.clock())
            res = Reservation(token, day, month, micros(estimate) or 0, requests, limits)
            await self._sweep()
            refusal = await self.store.reserve(res)
        except Exception as exc:  # fail closed: a budget is money
            self._log_outage("budgets cannot be checked; tokens with a budget or quota get "
                             "503 BUDGETS_UNAVAILABLE until they can", exc)
            raise errors.BudgetsUnavailable(
                "This token's budget or quota cannot be checked right now (its store, or "
                "the database that holds its limits, does not answer); try again shortly.", headers={"Retry-After": str(RETRY_AFTER)}) from exc
        if refusal is not None:
            raise self._exceeded(res, refusal)
        return res

    async def settle(self, res: Reservation, actual: Decimal | None) -> None:
        """Replace the hold with the call's real cost (None: unpriced, counted as 0)."""
        await self._finish(res, micros(actual) or 0, refund=0)

    async def release(self, res: Reservation) -> None:
        """Drop the hold and the request count: the call did not take place."""
        await self._finish(res, 0, refund=res.requests)

    async def _finish(self, res: Reservation, actual: int, refund: int) -> None:
        if res.done or not res.counted:
            return
        res.done = True
        try:
            uses = await self.store.settle(res, actual, refund)
            for use in uses:
                await self._alert(res, use)
        except Exception as exc:  # the answer is out; the sweep returns the hold later
            self._log_outage(f"the budget of {res.token!r} was not settled: ${usd(actual)} "
                             f"spent is not counted", exc)

    async def _alert(self, res: Reservation, use: PeriodUse) -> None:
        limit, quota = res.limits.for_period(monthly=len(use.period) == 7)
        shares = [use.spent / limit if limit else 0.0, use.requests / quota if quota else 0.0]
        level = next((lvl for lvl in LEVELS if max(shares) * 100 >= lvl), 0)
        if level <= use.alerted or not await self.store.claim_alert(res.token, use.period, level):
            return
        what = "monthly" if len(use.period) == 7 else "daily"
        parts = []
        if limit:
            parts.append(f"${usd(use.spent)} of its {what} budget of ${usd(limit)}")
        if quota:
            parts.append(f"{use.requests} of its {quota} daily requests")
        message = f"Token {res.token!r} has used {level}% or more: {' and '.join(parts)}"
        log.warning(message)
        if self.alerts is not None:
            self.alerts.fire("budget", f"{res.token}:{use.period}:{level}", message,
                             token=res.token, period=use.period, level=level,
                             resets_at=_iso(resets_at(use.period)))

    def _exceeded(self, res: Reservation, refusal: Refusal) -> errors.BudgetExceeded:
        monthly = len(refusal.period) == 7
        reset = resets_at(refusal.period)
        wait = max(1, int((reset - self.clock()).total_seconds() + 0.999))
        limit, quota = res.limits.for_period(monthly)
        what = "monthly" if monthly else "daily"
        if refusal.reason == "quota":
            detail = f"Token {res.token!r} has made its {quota} requests for today"
            name = "daily_requests"
        else:
            detail = (f"Token {res.token!r} would pass its {what} budget of ${usd(limit)}: "
                      f"${usd(refusal.used)} is spent or held by requests in flight and this "
                      f"request may cost up to ${usd(res.micros)}")
            name = f"{what}_usd"
        return errors.BudgetExceeded(f"{detail}; it resets at {_iso(reset)}.",
                                     headers={"Retry-After": str(wait)}, limit=name,
                                     resets_at=_iso(reset))

    async def _sweep(self) -> None:
        now = time.monotonic()
        if now - self._swept < SWEEP_SECONDS:
            return
        self._swept = now
        try:
            released = await self.store.sweep(STALE_SECONDS)
        except Exception as exc:  # the next sweep tries again; this request goes on
            log.warning("stale budget reservations not released (%s)", type(exc).__name__)
            return
        if released:
            log.warning("released %d budget reservations older than %ds (a worker stopped "
                        "between reserve and settle)", released, STALE_SECONDS)

    def _log_outage(self, what: str, exc: BaseException) -> None:
        # Once a minute, not once a request; the driver's message, without SQL parameters.
        now = time.monotonic()
        if now - self._logged >= OUTAGE_LOG_SECONDS:
            self._logged = now
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            log.warning("%s (%s: %s)", what, type(exc).__name__, reason)

    async def aclose(self) -> None:
        await self.store.aclose()


def build(settings: Any, engine: Any, prices: "Prices", alerts: "Alerter | None" = None
          ) -> Budgets:
    """Limits in the database; counts in Redis when REDIS_URL is set, else the database."""
    from flaskllm.usage.budget_sql import LimitsTable, SqlStore

    if settings.redis_url:
        from flaskllm.usage.budget_redis import RedisStore

        store: Store = RedisStore(settings.redis_url, settings.redis_key_prefix)
    else:
        store = SqlStore(engine)
    return Budgets(LimitsTable(engine), store, prices, alerts,
                   stale_seconds=settings.stale_token_ttl)


def _float(micro_dollars: int | None) -> float | None:
    return None if micro_dollars is None else float(usd(micro_dollars))


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


async def remaining(budgets: "Budgets", token: str) -> dict[str, Any]:
    """``budgets.status(token)``, with what remains of each limit. A token without limits has
    no budget counts, so its spending today and this month comes from the usage records."""
    try:
        status = await budgets.status(token)
        limits = status["limits"]
        if not any(v is not None for v in limits.values()):
            day, month = periods(budgets.clock())
            used = await asyncio.to_thread(budgets.limits_source.used, token, day, month)
            for name, use in zip(("day", "month"), used):
                status[name].update(spent_usd=float(usd(use.spent) or 0),
                                    requests=use.requests)
    except Exception as exc:  # Redis or the database away: say so, as reserve() does
        raise errors.ServiceUnavailable("Budgets cannot be read right now; try again shortly.",
                                        headers={"Retry-After": "5"}) from exc
    for name, monthly in (("day", False), ("month", True)):
        period = status[name]
        limit = limits["monthly_usd" if monthly else "daily_usd"]
        period["remaining_usd"] = None if limit is None else float(max(
            Decimal(0), _dec(limit) - _dec(period["spent_usd"]) - _dec(period["reserved_usd"])))
        quota = None if monthly else limits["daily_requests"]
        period["remaining_requests"] = None if quota is None else max(0, quota -
                                                                      period["requests"])
    return status


def _dec(value: float | None) -> Decimal:
    # Through str: the floats here come from micro-dollar integers, and str keeps them exact.
    return Decimal(str(value or 0))
