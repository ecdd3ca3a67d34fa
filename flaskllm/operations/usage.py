"""GET /api/v1/usage: the calling token's usage, cost and remaining budget; and the date
range and report that GET /api/v1/admin/usage (operations/admin.py) shares with it.

The range is whole UTC days, ``from`` to ``to``, both included: the same days as the report's
``by_day`` lines and as budgets' periods, so the numbers line up with each other."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, Mapping

from flaskllm import errors, state
from flaskllm.prices import usd
from flaskllm.responses import json_response
from flaskllm.usage import report
from flaskllm.usage.budgets import remaining

DEFAULT_DAYS = 7


def date_range(query: Mapping[str, Any], today: date | None = None) -> tuple[date, date]:
    """(first, last) UTC day from the ``from`` and ``to`` query parameters. The spec checks
    their shape (years 2000 to 2999); a day that does not exist is a 400, ``from`` after
    ``to`` a 422."""
    today = today or datetime.now(timezone.utc).date()
    last = _day(query.get("to"), "to") or today
    first = _day(query.get("from"), "from") or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise errors.InvalidRange(f"from ({first}) is after to ({last}): the range is empty.")
    return first, last


def _day(raw: str | None, name: str) -> date | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise errors.BadRequest(f"{name}: {raw!r} is not a date such as 2025-01-31.") from None


async def report_body(app: "state.AppState", first: date, last: date,
                      token: str | None) -> dict[str, Any]:
    """The report of ``token`` (None: every token) over the days, as the API answers it."""
    since = datetime.combine(first, time(), tzinfo=timezone.utc)
    until = datetime.combine(last + timedelta(days=1), time(), tzinfo=timezone.utc)
    found = await asyncio.to_thread(report.build, app.engine, since, until, token)
    return {"from": first.isoformat(), "to": last.isoformat(), **found.as_dict()}


async def search(user: str, **query: Any):
    app = state.get()
    first, last = date_range(query)
    body = await report_body(app, first, last, user)
    del body["by_token"]  # always the caller alone
    body["budget"] = await remaining(app.budgets, user)
    return json_response(body)
