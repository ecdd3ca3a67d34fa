"""The token store: named API tokens in the database as SHA-256 hashes, never as themselves,
looked up by hash and compared in constant time. The check connexion calls per request is
flaskllm/security.py; ``flaskllm tokens`` (flaskllm/cli.py) manages the rows.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from flaskllm import db, errors
from flaskllm.lookups import Lookups, Unreachable

if TYPE_CHECKING:
    from flaskllm.tokenevents import TokenEvents

log = logging.getLogger("flaskllm.tokens")

TOKEN_PREFIX = "fllm_"
ENV_TOKEN_NAME = "env:API_TOKEN"  # the name the server's API_TOKEN goes by (it has no row)
# A verified token is remembered this long, so the hot path does not hit the database on
# every request. A change (revoke, purge, scope) forgets it at once in the process that made
# it; other processes hear of it through Redis within a second (flaskllm/tokenevents.py), or
# without Redis forget it after this time.
CACHE_SECONDS = 5.0
# last_used_at is written at most this often per token, off the request path.
TOUCH_SECONDS = 60.0
RETRY_AFTER = 5  # seconds, in a 503 while the token database is unreachable


@dataclass(frozen=True)
class TokenInfo:
    name: str
    admin: bool = False


@dataclass(frozen=True)
class TokenRow:
    name: str
    admin: bool
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class TokenStore:
    """Named tokens in the database, with a short in-process cache of verified hashes. While
    the database is unreachable, a token verified in the last ``stale_seconds``
    (STALE_TOKEN_TTL) keeps its answer; another gets 503 TOKENS_UNAVAILABLE."""

    def __init__(self, engine: Engine, stale_seconds: float = 0.0,
                 events: "TokenEvents | None" = None):
        self.engine = engine
        self.events = events  # changes announced by other processes (with Redis)
        self.stale_seconds = stale_seconds
        self._lookups = Lookups(CACHE_SECONDS, stale_seconds=stale_seconds,
                                what="token lookups")  # by the token's hash
        self._touched: dict[str, float] = {}

    def create(self, name: str, *, admin: bool = False) -> str:
        """Store a new token and return it; this is the only time it is ever shown. Raises
        ValueError when the name is taken (revoked tokens keep theirs until purged)."""
        token = generate_token()
        try:
            with self.engine.begin() as conn:
                exists = conn.execute(sa.select(db.tokens.c.id).where(db.tokens.c.name == name))
                if exists.first() is not None:
                    raise ValueError(f"a token named {name!r} already exists")
                conn.execute(db.tokens.insert().values(
                    name=name, token_hash=hash_token(token), admin=admin,
                    created_at=datetime.now(timezone.utc), revoked=False))
        except sa.exc.IntegrityError:  # another process took the name between check and insert
            raise ValueError(f"a token named {name!r} already exists") from None
        return token

    def list(self) -> list[TokenRow]:
        t = db.tokens.c
        query = sa.select(t.name, t.admin, t.created_at, t.last_used_at, t.revoked).order_by(t.id)
        with self.engine.connect() as conn:
            return [TokenRow(*row) for row in conn.execute(query)]

    def get(self, name: str) -> TokenRow | None:
        t = db.tokens.c
        query = sa.select(t.name, t.admin, t.created_at, t.last_used_at, t.revoked)
        with self.engine.connect() as conn:
            row = conn.execute(query.where(t.name == name)).first()
        return None if row is None else TokenRow(*row)

    def _change(self, name: str, **values) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(db.tokens.update().where(db.tokens.c.name == name)
                                  .values(**values))
        self.forget()
        return result.rowcount > 0

    def revoke(self, name: str) -> bool:
        return self._change(name, revoked=True)

    def set_admin(self, name: str, admin: bool) -> bool:
        return self._change(name, admin=admin)

    def reissue(self, name: str, *, admin: bool) -> str:
        """A new token for an existing name (not revoked, with this scope); the old one stops."""
        token = generate_token()
        self._change(name, token_hash=hash_token(token), admin=admin, revoked=False)
        return token

    def delete(self, name: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(db.tokens.delete().where(db.tokens.c.name == name))
        self.forget()
        return result.rowcount > 0

    def forget(self) -> None:
        """Drop every cached verification: the next request of each token asks the database
        (called on any change here, and when another process announces one)."""
        self._lookups.forget()

    def lookup(self, token: str) -> TokenInfo | None:
        """The token's info if it is known and not revoked (synchronous, hits the database)."""
        digest = hash_token(token)
        t = db.tokens.c
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.name, t.admin, t.token_hash)
                               .where(t.token_hash == digest, t.revoked.is_(False))).first()
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            return None
        return TokenInfo(row.name, bool(row.admin))

    def touch(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(db.tokens.update().where(db.tokens.c.name == name)
                         .values(last_used_at=datetime.now(timezone.utc)))

    @property
    def down(self) -> bool:
        return self._lookups.down

    async def verify(self, token: str) -> TokenInfo | None:
        if self.events is not None:
            self.events.listen()  # started in the serving event loop, on its first request
        try:
            info = await self._lookups.get(hash_token(token), self.lookup, token)
        except Unreachable as exc:
            raise errors.TokensUnavailable(
                f"The token database cannot be reached, and this token was not verified in "
                f"the last {self.stale_seconds:g} seconds (STALE_TOKEN_TTL); retry shortly.",
                headers={"Retry-After": str(RETRY_AFTER)}) from exc
        now = time.monotonic()
        # Not while the database is away: last use is a nicety, the thread is not.
        if (info is not None and not self._lookups.down
                and self._touched.get(info.name, 0.0) < now - TOUCH_SECONDS):
            self._touched[info.name] = now
            future = asyncio.get_running_loop().run_in_executor(None, self.touch, info.name)
            future.add_done_callback(_log_touch_failure)
        return info

    async def aclose(self) -> None:
        if self.events is not None:
            await self.events.aclose()


def _log_touch_failure(future: asyncio.Future) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("could not record a token's last use: %r", future.exception())
