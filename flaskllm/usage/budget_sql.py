"""Budgets in the database: the limits of every token, and the counts when Redis is not set.

The atomic step is a conditional UPDATE of the token's row for the period:

    UPDATE budget_usage SET reserved = reserved + :est, requests = requests + :n
     WHERE token = :t AND period = :day
       AND spent + reserved + :est <= :daily_limit AND requests + :n <= :quota

PostgreSQL re-checks the WHERE on the newest row version after waiting for a concurrent
writer's lock, and so does MySQL/MariaDB (InnoDB's UPDATE reads the newest version, locked);
SQLite lets one writer at a time in. Either way no two workers can both pass on the same
remaining budget. The day row and the month row are updated in one transaction, always in that
order (no deadlocks), with the reservation row that lets a stale hold be found. The period
rows are made beforehand, in a transaction of their own: MySQL's INSERT IGNORE share-locks an
existing row, and two transactions that each hold that lock and then update the row deadlock.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from flaskllm import db
from flaskllm.usage.budgets import Limits, PeriodUse, Refusal, Reservation

SWEEP_BATCH = 500


class LimitsTable:
    """The ``budgets`` table: each token's limits (always in the database, also with Redis)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def read(self, token: str) -> Limits:
        b = db.budgets.c
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(b.daily_micros, b.monthly_micros, b.daily_requests)
                               .where(b.token == token)).first()
        return Limits() if row is None else Limits(*row)

    def write(self, token: str, values: dict[str, int | None]) -> Limits:
        with self.engine.begin() as conn:
            known = conn.execute(sa.select(db.tokens.c.id).where(db.tokens.c.name == token))
            if known.first() is None:
                raise ValueError(f"no token named {token!r}")
            db.insert_ignore(conn, db.budgets, [{"token": token}])
            if values:
                conn.execute(db.budgets.update().where(db.budgets.c.token == token)
                             .values(**values))
        return self.read(token)

    def used(self, token: str, day: str, month: str) -> list[PeriodUse]:
        """What the usage records say the token spent and asked for today and this month."""
        t = db.usage_records.c
        uses = []
        for period, match in ((day, t.day == day), (month, t.day.like(month + "-%"))):
            query = sa.select(sa.func.coalesce(sa.func.sum(t.cost_micros), 0),
                              sa.func.count()).where(t.token == token, match)
            with self.engine.connect() as conn:
                spent, requests = conn.execute(query).one()
            uses.append(PeriodUse(period, int(spent), 0, int(requests), 0))
        return uses


class _Refused(Exception):
    def __init__(self, refusal: Refusal):
        self.refusal = refusal


class SqlStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    async def reserve(self, res: Reservation) -> Refusal | None:
        return await asyncio.to_thread(self._reserve, res)

    async def settle(self, res: Reservation, actual: int, refund: int) -> list[PeriodUse]:
        return await asyncio.to_thread(self._settle, res, actual, refund)

    async def claim_alert(self, token: str, period: str, level: int) -> bool:
        return await asyncio.to_thread(self._claim_alert, token, period, level)

    async def usage(self, token: str, periods: list[str]) -> dict[str, PeriodUse]:
        return await asyncio.to_thread(self._usage, token, periods)

    async def seed(self, token: str, uses: list[PeriodUse]) -> None:
        await asyncio.to_thread(self._seed, token, uses)

    async def sweep(self, older_than: float) -> int:
        return await asyncio.to_thread(self._sweep, older_than)

    async def aclose(self) -> None:
        """The engine belongs to the app."""

    # In a worker thread ----------------------------------------------------------------------

    def _reserve(self, res: Reservation) -> Refusal | None:
        u = db.budget_usage.c
        self._make_rows(res.token, (res.day, res.month))
        try:
            with self.engine.begin() as conn:
                for period, monthly in ((res.day, False), (res.month, True)):
                    limit, quota = res.limits.for_period(monthly)
                    where = [u.token == res.token, u.period == period]
                    if limit is not None:
                        # At least one micro-dollar: a spent budget refuses even calls whose
                        # cost is unknown (an unpriced model's estimate is 0).
                        where.append(u.spent_micros + u.reserved_micros + max(res.micros, 1)
                                     <= limit)
                    if quota is not None:
                        where.append(u.requests + res.requests <= quota)
                    updated = conn.execute(db.budget_usage.update().where(*where).values(
                        reserved_micros=u.reserved_micros + res.micros,
                        requests=u.requests + res.requests))
                    if updated.rowcount != 1:
                        raise _Refused(self._refusal(conn, res, period, quota))
                conn.execute(db.budget_reservations.insert().values(
                    id=res.id, token=res.token, day=res.day, month=res.month, micros=res.micros,
                    created_at=datetime.now(timezone.utc)))
        except _Refused as refused:  # raised inside the transaction to roll the day row back
            return refused.refusal
        return None

    def _make_rows(self, token: str, periods) -> None:
        with self.engine.begin() as conn:
            db.insert_ignore(conn, db.budget_usage, [_empty(token, p) for p in periods])

    def _refusal(self, conn: sa.Connection, res: Reservation, period: str,
                 quota: int | None) -> Refusal:
        use = self._read(conn, res.token, [period])[period]
        if quota is not None and use.requests + res.requests > quota:
            return Refusal(period, "quota", use.requests)
        return Refusal(period, "budget", use.spent + use.reserved)

    def _settle(self, res: Reservation, actual: int, refund: int) -> list[PeriodUse]:
        with self.engine.begin() as conn:
            held = self._drop_reservation(conn, res.id)
            self._adjust(conn, res.token, (res.day, res.month), spent=actual, reserved=-held,
                         requests=-refund)
            return list(self._read(conn, res.token, [res.day, res.month]).values())

    def _drop_reservation(self, conn: sa.Connection, res_id: str) -> int:
        """The micro-dollars the reservation held, or 0 if the sweep released it already."""
        r = db.budget_reservations.c
        row = conn.execute(sa.select(r.micros).where(r.id == res_id)).first()
        if row is None:
            return 0
        gone = conn.execute(db.budget_reservations.delete().where(r.id == res_id)).rowcount
        return row.micros if gone == 1 else 0

    def _adjust(self, conn: sa.Connection, token: str, periods: tuple[str, ...], *,
                spent: int = 0, reserved: int = 0, requests: int = 0) -> None:
        u = db.budget_usage.c
        for period in periods:
            conn.execute(db.budget_usage.update()
                         .where(u.token == token, u.period == period)
                         .values(spent_micros=u.spent_micros + spent,
                                 reserved_micros=u.reserved_micros + reserved,
                                 requests=u.requests + requests))

    def _claim_alert(self, token: str, period: str, level: int) -> bool:
        u = db.budget_usage.c
        with self.engine.begin() as conn:
            claimed = conn.execute(db.budget_usage.update().where(
                u.token == token, u.period == period, u.alerted < level).values(alerted=level))
            return claimed.rowcount == 1

    def _usage(self, token: str, periods: list[str]) -> dict[str, PeriodUse]:
        with self.engine.connect() as conn:
            return self._read(conn, token, periods)

    def _read(self, conn: sa.Connection, token: str, periods: list[str]
              ) -> dict[str, PeriodUse]:
        u = db.budget_usage.c
        rows = conn.execute(sa.select(u.period, u.spent_micros, u.reserved_micros, u.requests,
                                      u.alerted).where(u.token == token,
                                                       u.period.in_(periods)))
        return {row.period: PeriodUse(*row) for row in rows}

    def _seed(self, token: str, uses: list[PeriodUse]) -> None:
        u = db.budget_usage.c
        self._make_rows(token, [use.period for use in uses])
        with self.engine.begin() as conn:
            for use in uses:
                # Raise, never lower: the counters may be ahead of the records (those are
                # written a moment later), never behind what the records already show.
                where = (u.token == token, u.period == use.period)
                conn.execute(db.budget_usage.update().where(*where, u.spent_micros < use.spent)
                             .values(spent_micros=use.spent))
                conn.execute(db.budget_usage.update().where(*where, u.requests < use.requests)
                             .values(requests=use.requests))

    def _sweep(self, older_than: float) -> int:
        r = db.budget_reservations.c
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=older_than)
        with self.engine.connect() as conn:
            stale = conn.execute(sa.select(r.id, r.token, r.day, r.month)
                                 .where(r.created_at < cutoff).limit(SWEEP_BATCH)).all()
        released = 0
        for row in stale:
            with self.engine.begin() as conn:
                held = self._drop_reservation(conn, row.id)
                if held:
                    self._adjust(conn, row.token, (row.day, row.month), reserved=-held)
                    released += 1
        return released


def _empty(token: str, period: str) -> dict:
    return {"token": token, "period": period, "spent_micros": 0, "reserved_micros": 0,
            "requests": 0, "alerted": 0}
