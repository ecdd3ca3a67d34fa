"""flaskllm.lookups: one database lookup per key at a time, kept for a few seconds."""

from __future__ import annotations

import asyncio
import threading
import time

from flaskllm.lookups import Lookups


class Database:
    """A slow lookup that counts its calls and how many ran at once."""

    def __init__(self, seconds: float = 0.05):
        self.seconds = seconds
        self.calls = 0
        self.value = "v1"
        self._lock = threading.Lock()

    def read(self, key: str) -> str:
        with self._lock:
            self.calls += 1
            value = self.value  # what the database held when the lookup began
        time.sleep(self.seconds)
        return f"{key}:{value}"


def test_requests_asking_at_once_share_one_lookup():
    db, lookups = Database(), Lookups(seconds=60)

    async def main():
        return await asyncio.gather(*(lookups.get("t", db.read, "t") for _ in range(500)))

    assert asyncio.run(main()) == ["t:v1"] * 500
    assert db.calls == 1
    assert asyncio.run(main()) == ["t:v1"] * 500  # kept: no second lookup
    assert db.calls == 1


def test_values_expire_and_keys_are_separate():
    db, lookups = Database(seconds=0), Lookups(seconds=0.05)

    async def main():
        first = await asyncio.gather(lookups.get("a", db.read, "a"), lookups.get("b", db.read, "b"))
        db.value = "v2"
        await asyncio.sleep(0.1)
        return first, await lookups.get("a", db.read, "a")

    assert asyncio.run(main()) == (["a:v1", "b:v1"], "a:v2")
    assert db.calls == 3


def test_forget_during_a_lookup_keeps_nothing_stale():
    db, lookups = Database(seconds=0.1), Lookups(seconds=60)

    async def main():
        running = asyncio.create_task(lookups.get("t", db.read, "t"))
        await asyncio.sleep(0.02)
        lookups.forget()  # a revocation while the old answer is on its way
        db.value = "revoked"
        stale = await running
        return stale, await lookups.get("t", db.read, "t")

    assert asyncio.run(main()) == ("t:v1", "t:revoked")
    assert db.calls == 2


def test_a_cancelled_request_does_not_cancel_the_others_lookup():
    db, lookups = Database(seconds=0.1), Lookups(seconds=60)

    async def main():
        first = asyncio.create_task(lookups.get("t", db.read, "t"))
        second = asyncio.create_task(lookups.get("t", db.read, "t"))
        await asyncio.sleep(0.02)
        first.cancel()  # its client went away
        return await second

    assert asyncio.run(main()) == "t:v1"
    assert db.calls == 1


# While the database is away (STALE_TOKEN_TTL) -----------------------------------------------

class Flaky(Database):
    """A lookup whose database can be switched off (an OperationalError, as SQLAlchemy raises
    for a refused connection)."""

    def __init__(self):
        super().__init__(seconds=0)
        self.up = True

    def read(self, key: str) -> str:
        import sqlalchemy as sa

        if not self.up:
            self.calls += 1
            raise sa.exc.OperationalError("SELECT", {}, ConnectionRefusedError("refused"))
        return super().read(key)


def test_the_last_answer_serves_while_the_database_is_away(caplog):
    import pytest

    from flaskllm import lookups as module

    db, lookups = Flaky(), Lookups(seconds=0.01, stale_seconds=60, what="tokens")

    async def main():
        assert await lookups.get("a", db.read, "a") == "a:v1"
        await asyncio.sleep(0.02)  # expired: the next get asks the database
        db.up = False
        assert await lookups.get("a", db.read, "a") == "a:v1"  # the kept answer
        calls = db.calls
        # For OUTAGE_RETRY_SECONDS nobody waits on the database: known keys answer from what
        # is kept, unknown ones raise at once.
        assert await lookups.get("a", db.read, "a") == "a:v1"
        with pytest.raises(module.Unreachable):
            await lookups.get("b", db.read, "b")
        assert db.calls == calls and lookups.down
        return calls

    asyncio.run(main())
    assert caplog.text.count("the database is unreachable") == 1  # once a minute


def test_staleness_is_bounded_and_errors_that_are_not_outages_pass():
    import pytest

    from flaskllm import lookups as module

    db, lookups = Flaky(), Lookups(seconds=0.01, stale_seconds=0.05)

    async def main():
        await lookups.get("a", db.read, "a")
        db.up = False
        await asyncio.sleep(0.1)  # older than stale_seconds: not served any more
        with pytest.raises(module.Unreachable):
            await lookups.get("a", db.read, "a")

    asyncio.run(main())

    def broken(key):
        raise ValueError("a bug, not an outage")

    with pytest.raises(ValueError):
        asyncio.run(Lookups(seconds=1, stale_seconds=60).get("k", broken, "k"))


def test_tokens_keep_working_while_the_database_is_away(app, client, auth, token):
    import sqlalchemy as sa

    from test_core import assert_problem

    assert client.post("/api/v1/webhook", json={"prompt": "Before."}, headers=auth).status_code \
        == 200
    other = app.state.tokens.create("other")  # created, but never used before the outage
    dead = sa.create_engine("sqlite:////nonexistent-dir/x.db")
    app.state.tokens.engine = app.state.budgets.limits_source.engine = dead
    for kept in (app.state.tokens._lookups, app.state.budgets._limits):
        for key, (value, _fresh_until, read_at) in list(kept._values.items()):
            kept._values[key] = (value, 0.0, read_at)  # expired: the next check asks the db
    response = client.post("/api/v1/webhook", json={"prompt": "During."}, headers=auth)
    assert response.status_code == 200, response.text
    refused = client.post("/api/v1/webhook", json={"prompt": "During."},
                          headers={"X-API-Token": other})
    assert_problem(refused, 503, "TOKENS_UNAVAILABLE")
    assert refused.headers["retry-after"]
