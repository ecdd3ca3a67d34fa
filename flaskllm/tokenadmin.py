"""Token administration: create, list, change, revoke and purge tokens, each change written to
the audit log. The admin API (operations/admin_tokens.py) and ``flaskllm tokens`` both call
these functions, with an ``AppState``:

    created = await create(app, actor, "excel-team", admin=False, limits={"daily_usd": 5})
    created["token"]            shown this once; only its hash is stored
    await listing(app)          every token with its limits and spending today and this month
    await update(app, actor, "excel-team", admin=True, limits={"daily_requests": None})
    await revoke(app, actor, "excel-team", purge=False)
    await audit(app, limit=100) the latest changes, newest first

``actor`` is who asked: a token's name (the admin API), or ``cli:USER`` (the command).
A revoked token stops working at once in this process and, with Redis, within a second in
every other (flaskllm/tokenevents.py). Purging deletes the row so that its name can be used
again; usage records and audit rows keep the name.

    dev_token(settings)         the development token of this database (flaskllm serve)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import sqlalchemy as sa

from flaskllm import db, errors
from flaskllm.tokens import TokenRow, TokenStore
from flaskllm.settings import Settings

if TYPE_CHECKING:
    from flaskllm.state import AppState

# Letters, digits and . _ @ - (the spec's TokenName); ':' is kept for actors such as cli:USER.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")
LIMIT_NAMES = ("daily_usd", "monthly_usd", "daily_requests")
AUDIT_LIMIT = 100  # rows GET /api/v1/admin/audit answers unless asked for fewer or more
DEV_TOKEN_NAME = "dev"
# The development token of each database, in a file of its own (mode 600): instance/dev-tokens/
# <hash of DATABASE_URL>. Its hash lives in that database as the admin token `dev`; a server on
# another database keeps its own and never touches this one.
DEV_TOKEN_DIR_NAME = "dev-tokens"  # in INSTANCE_PATH


def check_name(name: str) -> None:
    if not NAME.fullmatch(name):
        raise errors.BadRequest(f"{name!r} is not a token name: use up to 100 letters, digits "
                                f"and . _ @ -, starting with a letter or digit.")


async def create(app: "AppState", actor: str, name: str, *, admin: bool = False,
                 limits: Mapping[str, Any] | None = None) -> dict[str, Any]:
    check_name(name)
    try:
        token = await asyncio.to_thread(app.tokens.create, name, admin=admin)
    except ValueError:
        raise errors.TokenExists(f"A token named {name!r} exists (a revoked one keeps its name "
                                 f"until it is purged: DELETE …/admin/tokens/{name}"
                                 f"?purge=true, or flaskllm tokens revoke {name} "
                                 f"--purge).") from None
    if limits:
        await app.budgets.set_limits(name, **limits)
    await _audit(app, actor, "create", name, {"admin": admin, **_shown(limits)})
    return {**await view(app, await _row(app, name)), "token": token}


async def listing(app: "AppState") -> list[dict[str, Any]]:
    rows = await asyncio.to_thread(app.tokens.list)
    return [await view(app, row) for row in rows]


async def update(app: "AppState", actor: str, name: str, *, admin: bool | None = None,
                 limits: Mapping[str, Any] | None = None) -> dict[str, Any]:
    if (await _row(app, name)).revoked:  # its row stays for the record; it has no scope left
        raise errors.TokenNotFound(f"The token {name!r} is revoked: it can only be purged "
                                   f"(DELETE …/admin/tokens/{name}?purge=true), then made "
                                   f"again.")
    changes: dict[str, Any] = dict(_shown(limits))
    if admin is not None:
        await asyncio.to_thread(app.tokens.set_admin, name, admin)
        changes["admin"] = admin
    if limits:
        await app.budgets.set_limits(name, **limits)
    if changes:
        await _audit(app, actor, "update", name, changes)
        await app.tokens.events.announce(name)
    return await view(app, await _row(app, name))


async def revoke(app: "AppState", actor: str, name: str, *, purge: bool = False
                 ) -> dict[str, Any]:
    """Revoke (the row stays, marked revoked) or purge (the row goes; limits are cleared so
    that a new token of the same name starts without them). Either way the token's cached
    verification is dropped here and announced to the other processes."""
    row = await _row(app, name)
    if purge:
        await app.budgets.set_limits(name, **{limit: None for limit in LIMIT_NAMES})
        await asyncio.to_thread(app.tokens.delete, name)
    else:
        await asyncio.to_thread(app.tokens.revoke, name)
    await _audit(app, actor, "purge" if purge else "revoke", name, {"was_revoked": row.revoked})
    announced = await app.tokens.events.announce(name)
    return {"name": name, "revoked": True, "purged": purge,
            "others_told": announced if app.tokens.events.enabled else None}


async def audit(app: "AppState", limit: int = AUDIT_LIMIT, token: str | None = None
                ) -> list[dict[str, Any]]:
    a = db.audit_log.c
    query = sa.select(a.at, a.actor, a.action, a.token, a.details).order_by(a.id.desc())
    if token is not None:
        query = query.where(a.token == token)

    def read():
        with app.engine.connect() as conn:
            return conn.execute(query.limit(limit)).all()

    return [{"at": _iso(at), "actor": actor, "action": action, "token": name,
             "details": json.loads(details)} for at, actor, action, name, details
            in await asyncio.to_thread(read)]


async def view(app: "AppState", row: TokenRow) -> dict[str, Any]:
    """A token as the admin API shows it (never the token itself)."""
    from flaskllm.usage.budgets import remaining  # the same numbers as GET /usage

    return {"name": row.name, "admin": bool(row.admin), "revoked": bool(row.revoked),
            "created_at": _iso(row.created_at), "last_used_at": _iso(row.last_used_at),
            "budget": await remaining(app.budgets, row.name)}


async def _row(app: "AppState", name: str) -> TokenRow:
    row = await asyncio.to_thread(app.tokens.get, name)
    if row is None:
        raise errors.TokenNotFound(f"No token is named {name!r} (flaskllm tokens list, or GET "
                                   f"/api/v1/admin/tokens, lists them).")
    return row


async def _audit(app: "AppState", actor: str, action: str, name: str,
                 details: Mapping[str, Any]) -> None:
    row = {"at": datetime.now(timezone.utc), "actor": actor, "action": action, "token": name,
           "details": json.dumps(details, sort_keys=True)}

    def write():
        with app.engine.begin() as conn:
            conn.execute(db.audit_log.insert().values(**row))

    await asyncio.to_thread(write)


def _shown(limits: Mapping[str, Any] | None) -> dict[str, Any]:
    """Limits for the audit log, as JSON numbers (None: cleared)."""
    return {k: (float(v) if isinstance(v, Decimal) else v) for k, v in (limits or {}).items()}


def _iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    if when.tzinfo is None:  # SQLite hands back naive times; they were stored as UTC
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# The development token (flaskllm serve, outside production) ------------------------------


def dev_token_file(settings: Settings) -> Path:
    key = hashlib.sha256(db.normalize_url(settings.database_url).encode()).hexdigest()[:16]
    return settings.instance / DEV_TOKEN_DIR_NAME / key


def dev_token(settings: Settings) -> str:
    """The development token of this database: the admin token `dev`, made once, the same
    at every start. If its file is gone (or `dev` was revoked) `dev` gets a new token."""
    store = TokenStore(db.create_engine(settings.database_url, settings.instance))
    path = dev_token_file(settings)
    if path.is_file():
        token = path.read_text().strip()
        info = store.lookup(token)
        if info is not None and info.name == DEV_TOKEN_NAME:
            if not info.admin:
                store.set_admin(DEV_TOKEN_NAME, True)
            return token
    if store.get(DEV_TOKEN_NAME) is None:
        token = store.create(DEV_TOKEN_NAME, admin=True)
    else:
        token = store.reissue(DEV_TOKEN_NAME, admin=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return token
