"""One usage record: what one processed item (a batch item counts as one) used and cost.

Built by the pipeline after each item, handed to ``app.usage.record(rec)``, stored as a row of
``db.usage_records`` (or, while the database is away, as a line of the spool file). The id is
a fresh unique id (flaskllm/ids.py), made once, so every copy of a record (queue, spool, replay) is the same row.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from flaskllm.ids import new_id
from flaskllm.prices import micros, usd


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class UsageRecord:
    request_id: str
    token: str
    operation: str  # the spec's operationId, e.g. "process", "process_batch", "process_stream"
    type: str
    provider: str
    model: str
    input_tokens: int | None = 0  # None: the provider did not say (unknown, not 0)
    output_tokens: int | None = 0
    cost_usd: Decimal | None = None  # None: the model has no price (not 0: unknown ≠ free)
    latency: float = 0.0  # seconds, the whole item as the client saw it
    upstream_latency: float | None = None  # seconds spent waiting on the provider
    status: int = 200
    error_code: str | None = None  # the problem's code when status >= 400
    cached: bool = False
    prompt: str | None = None  # kept only with LOG_PROMPTS=true (the recorder drops them)
    response: str | None = None
    created_at: datetime = field(default_factory=_now)
    id: str = field(default_factory=new_id)

    def row(self) -> dict[str, Any]:
        """The ``db.usage_records`` row."""
        created = self.created_at.astimezone(timezone.utc)
        return {
            "id": self.id,
            "created_at": created,
            "day": created.strftime("%Y-%m-%d"),
            "request_id": self.request_id[:100],
            "token": self.token[:100],
            "operation": self.operation[:50],
            "type": self.type[:20],
            "provider": self.provider[:64],
            "model": self.model[:200],
            "input_tokens": _count(self.input_tokens),
            "output_tokens": _count(self.output_tokens),
            "cost_micros": micros(self.cost_usd),
            "latency_ms": round(self.latency * 1000, 3),
            "upstream_ms": (None if self.upstream_latency is None
                            else round(self.upstream_latency * 1000, 3)),
            "status": int(self.status),
            "error_code": self.error_code,
            "cached": bool(self.cached),
            "prompt": self.prompt,
            "response": self.response,
        }

    def to_json(self) -> str:
        """One spool line: exact (cost as a string, time in ISO 8601 with its offset)."""
        # Field by field, not dataclasses.asdict: that deep-copies every value, and this runs
        # on every request's path (the journal).
        data = {name: getattr(self, name) for name in _FIELDS}
        data["created_at"] = self.created_at.isoformat()
        data["cost_usd"] = None if self.cost_usd is None else str(self.cost_usd)
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> "UsageRecord":
        data = json.loads(line)
        data["created_at"] = datetime.fromisoformat(data["created_at"])
        data["cost_usd"] = None if data["cost_usd"] is None else Decimal(data["cost_usd"])
        return cls(**data)

    @classmethod
    def from_row(cls, row: Any) -> "UsageRecord":
        """A record read back from the database (reports, tests)."""
        m = row._mapping
        created = m["created_at"]
        if created.tzinfo is None:  # SQLite keeps no offset; every stored time is UTC
            created = created.replace(tzinfo=timezone.utc)
        return cls(
            id=m["id"], created_at=created, request_id=m["request_id"], token=m["token"],
            operation=m["operation"], type=m["type"], provider=m["provider"], model=m["model"],
            input_tokens=m["input_tokens"], output_tokens=m["output_tokens"],
            cost_usd=usd(m["cost_micros"]), latency=m["latency_ms"] / 1000,
            upstream_latency=None if m["upstream_ms"] is None else m["upstream_ms"] / 1000,
            status=m["status"], error_code=m["error_code"], cached=bool(m["cached"]),
            prompt=m["prompt"], response=m["response"])


def _count(tokens: int | None) -> int | None:
    return None if tokens is None else int(tokens)


_FIELDS = tuple(f.name for f in dataclasses.fields(UsageRecord))
