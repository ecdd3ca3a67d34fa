"""Usage reports: totals and breakdowns (by day, type, model, token) over a time range.

    report = build(engine, since, until, token=None)   one token, or every token (admin)
    report.as_dict()                                   for the API and ``--format json``
    render(report, "table" | "csv" | "json")           for ``flaskllm usage``

Money is summed in SQL as integer micro-dollars, so a report adds up to the cent (and the
micro-dollar) on SQLite and PostgreSQL alike. Records of unpriced models are counted in
``unpriced`` and left out of ``cost_usd``; a group made only of them has cost null.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from flaskllm import db
from flaskllm.prices import usd

FORMATS = ("table", "csv", "json")
_AGO = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """``7d``, ``24h``, ``30m``, ``2w`` (that long ago), or an ISO date or time (UTC unless it
    says otherwise). Raises ValueError with the forms it accepts."""
    now = now or datetime.now(timezone.utc)
    match = _AGO.match(text)
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"expected a duration such as 7d, 24h or 30m, or a date such as "
                         f"2025-01-31 (got {text!r})") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


@dataclass
class Line:
    """The sums of one group of records."""

    key: str
    requests: int = 0
    errors: int = 0
    cached: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal | None = None  # None: every record in the group is unpriced
    unpriced: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "requests": self.requests, "errors": self.errors,
                "cached": self.cached, "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens,
                "cost_usd": None if self.cost_usd is None else float(self.cost_usd),
                "unpriced": self.unpriced}


@dataclass
class Report:
    since: datetime
    until: datetime
    token: str | None
    totals: Line
    by_day: list[Line] = field(default_factory=list)
    by_type: list[Line] = field(default_factory=list)
    by_model: list[Line] = field(default_factory=list)
    by_token: list[Line] = field(default_factory=list)  # only for every token

    def as_dict(self) -> dict[str, Any]:
        out = {"since": self.since.isoformat(), "until": self.until.isoformat(),
               "token": self.token, "totals": self.totals.as_dict()}
        for group in ("by_day", "by_type", "by_model", "by_token"):
            out[group] = [line.as_dict() for line in getattr(self, group)]
        return out


def build(engine: Engine, since: datetime, until: datetime | None = None,
          token: str | None = None) -> Report:
    until = until or datetime.now(timezone.utc)
    since, until = _utc(since), _utc(until)
    t = db.usage_records.c
    where = [t.created_at >= since, t.created_at < until,
             # The day bounds add nothing logically; they let the (day, token) index narrow it.
             t.day >= since.strftime("%Y-%m-%d"), t.day <= until.strftime("%Y-%m-%d")]
    if token is not None:
        where.append(t.token == token)
    sums = [
        sa.func.count().label("requests"),
        sa.func.sum(sa.case((t.status >= 400, 1), else_=0)).label("errors"),
        sa.func.sum(sa.case((t.cached.is_(True), 1), else_=0)).label("cached"),
        sa.func.sum(t.input_tokens).label("input_tokens"),
        sa.func.sum(t.output_tokens).label("output_tokens"),
        sa.func.sum(t.cost_micros).label("cost_micros"),
        sa.func.sum(sa.case((t.cost_micros.is_(None), 1), else_=0)).label("unpriced"),
    ]
    groups = {"by_day": t.day, "by_type": t.type, "by_model": t.model}
    if token is None:
        groups["by_token"] = t.token
    with engine.connect() as conn:
        totals = _line("total", conn.execute(sa.select(*sums).where(*where)).one())
        report = Report(since, until, token, totals)
        for name, column in groups.items():
            query = (sa.select(column.label("key"), *sums).where(*where)
                     .group_by(column).order_by(column))
            setattr(report, name, [_line(row.key, row) for row in conn.execute(query)])
    return report


def _utc(when: datetime) -> datetime:
    if isinstance(when, date) and not isinstance(when, datetime):
        when = datetime.combine(when, time())
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(
        timezone.utc)


def _line(key: str, row: Any) -> Line:
    return Line(key=str(key), requests=row.requests or 0, errors=int(row.errors or 0),
                cached=int(row.cached or 0), input_tokens=int(row.input_tokens or 0),
                output_tokens=int(row.output_tokens or 0),
                cost_usd=usd(None if row.cost_micros is None else int(row.cost_micros)),
                unpriced=int(row.unpriced or 0))


# Rendering ---------------------------------------------------------------------------------

COLUMNS = ("requests", "errors", "cached", "input_tokens", "output_tokens", "cost_usd",
           "unpriced")


def render(report: Report, fmt: str = "table") -> str:
    if fmt == "json":
        return json.dumps(report.as_dict(), indent=2) + "\n"
    if fmt == "csv":
        return _csv(report)
    if fmt == "table":
        return _table(report)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}")


def _groups(report: Report) -> list[tuple[str, list[Line]]]:
    groups = [("total", [report.totals]), ("day", report.by_day), ("type", report.by_type),
              ("model", report.by_model)]
    if report.token is None:
        groups.append(("token", report.by_token))
    return groups


def _cost(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:.6f}"


def _csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("group", "key") + COLUMNS)
    for group, lines in _groups(report):
        for line in lines:
            values = line.as_dict()
            values["cost_usd"] = "" if line.cost_usd is None else _cost(line.cost_usd)
            writer.writerow([group, line.key] + [values[c] for c in COLUMNS])
    return out.getvalue()


def _table(report: Report) -> str:
    who = f"token {report.token}" if report.token else "all tokens"
    out = [f"Usage of {who}, {report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} "
           f"UTC", ""]
    heads = ("REQUESTS", "ERRORS", "CACHED", "INPUT TOK", "OUTPUT TOK", "COST USD", "UNPRICED")
    for group, lines in _groups(report):
        if not lines:
            continue
        width = max(24, *(len(line.key) for line in lines))
        out.append(f"{group.upper():{width}} " + " ".join(f"{h:>12}" for h in heads))
        for line in lines:
            cells = (line.requests, line.errors, line.cached, line.input_tokens,
                     line.output_tokens, _cost(line.cost_usd), line.unpriced)
            out.append(f"{line.key:{width}} " + " ".join(f"{c:>12}" for c in cells))
        out.append("")
    return "\n".join(out)
