"""Budget counts in Redis (with REDIS_URL): the same checks as budget_sql.py, as Lua scripts,
so a check and its count are one atomic step however many workers and servers there are.

    {prefix}:budget:{token}:{period}   hash: spent, reserved, requests, alerted
    {prefix}:budget-res:{id}           hash: token, day, month, micros (a hold in flight)
    {prefix}:budget-res                sorted set of hold ids by time, for the stale sweep

The limits themselves stay in the database (``budgets`` table). Scripts name keys they derive
(the sweep's), so this expects one Redis, not a cluster. When Redis does not answer, the
store raises at once while its circuit is open (redisutil) and reserve() answers 503.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from flaskllm.redisutil import Outage, connect
from flaskllm.usage.budgets import STALE_SECONDS, PeriodUse, Refusal, Reservation

DAY_TTL = 3 * 86400  # counts outlive their period a little, for the status of yesterday
MONTH_TTL = 62 * 86400
NONE = -1  # "no limit" in script arguments

RESERVE = """
local micros, n = tonumber(ARGV[1]), tonumber(ARGV[2])
local function check(key, limit, quota)
  local v = redis.call('HMGET', key, 'spent', 'reserved', 'requests')
  local spent, held, requests = tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0
  if quota >= 0 and requests + n > quota then return {'quota', requests} end
  if limit >= 0 and spent + held + math.max(micros, 1) > limit then
    return {'budget', spent + held}
  end
  return nil
end
local refused = check(KEYS[1], tonumber(ARGV[3]), tonumber(ARGV[5]))
if refused then return {ARGV[8], refused[1], refused[2]} end
refused = check(KEYS[2], tonumber(ARGV[4]), -1)
if refused then return {ARGV[9], refused[1], refused[2]} end
for i, key in ipairs({KEYS[1], KEYS[2]}) do
  redis.call('HINCRBY', key, 'reserved', micros)
  redis.call('HINCRBY', key, 'requests', n)
  redis.call('EXPIRE', key, ARGV[10 + i])
end
redis.call('HSET', KEYS[3], 'token', ARGV[7], 'day', ARGV[8], 'month', ARGV[9], 'micros', micros)
redis.call('EXPIRE', KEYS[3], ARGV[13])
redis.call('ZADD', KEYS[4], ARGV[10], ARGV[6])
return false
"""

SETTLE = """
local held = tonumber(redis.call('HGET', KEYS[3], 'micros')) or 0
if redis.call('DEL', KEYS[3]) == 0 then held = 0 end
redis.call('ZREM', KEYS[4], ARGV[3])
local out = {}
for i, key in ipairs({KEYS[1], KEYS[2]}) do
  redis.call('HINCRBY', key, 'spent', ARGV[1])
  redis.call('HINCRBY', key, 'reserved', 0 - held)  -- not -held: Lua writes -0 as "-0"
  redis.call('HINCRBY', key, 'requests', 0 - tonumber(ARGV[2]))
  out[i] = redis.call('HMGET', key, 'spent', 'reserved', 'requests', 'alerted')
end
return out
"""

CLAIM_ALERT = """
if (tonumber(redis.call('HGET', KEYS[1], 'alerted')) or 0) < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'alerted', ARGV[1])
  return 1
end
return 0
"""

SEED = """
for i, key in ipairs(KEYS) do
  for j, name in ipairs({'spent', 'requests'}) do
    local value = tonumber(ARGV[2 * i + j - 2])
    if (tonumber(redis.call('HGET', key, name)) or 0) < value then
      redis.call('HSET', key, name, value)
    end
  end
  redis.call('EXPIRE', key, ARGV[2 * #KEYS + i])
end
return 0
"""

SWEEP = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 500)
local released = 0
for _, id in ipairs(ids) do
  local key = ARGV[3] .. id
  local v = redis.call('HMGET', key, 'token', 'day', 'month', 'micros')
  redis.call('ZREM', KEYS[1], id)
  if v[1] and redis.call('DEL', key) == 1 then
    local held = tonumber(v[4]) or 0
    if held > 0 then
      redis.call('HINCRBY', ARGV[2] .. v[1] .. ':' .. v[2], 'reserved', 0 - held)
      redis.call('HINCRBY', ARGV[2] .. v[1] .. ':' .. v[3], 'reserved', 0 - held)
      released = released + 1
    end
  end
end
return released
"""


class RedisStore:
    def __init__(self, url: str, prefix: str):
        self.url = url
        self.counts = prefix + ":budget:"
        self.holds = prefix + ":budget-res:"
        self.index = prefix + ":budget-res"
        self.outage = Outage("budgets", url, "requests of tokens with limits get 503")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Any = None
        self._scripts: dict[str, Any] = {}

    def _redis(self) -> Any:
        """The client for the running loop (a redis.asyncio client is bound to one loop)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._client = connect(self.url)
            self._scripts = {name: self._client.register_script(source) for name, source in
                             (("reserve", RESERVE), ("settle", SETTLE), ("seed", SEED),
                              ("claim", CLAIM_ALERT), ("sweep", SWEEP))}
            self._loop = loop
        return self._client

    async def _call(self, script: str, keys: list[str], args: list[Any]) -> Any:
        from redis.exceptions import ConnectionError, TimeoutError

        if self.outage.down():
            raise ConnectionError(f"Redis is skipped for {self.outage.retry_after()}s after "
                                  f"a failure")
        self._redis()
        try:
            async with self.outage.guard():
                value = await self._scripts[script](keys=keys, args=args)
        except (ConnectionError, TimeoutError, OSError) as exc:
            self.outage.failed(exc)
            raise
        self.outage.recovered()
        return value

    def _key(self, token: str, period: str) -> str:
        return f"{self.counts}{token}:{period}"

    async def reserve(self, res: Reservation) -> Refusal | None:
        daily, quota = res.limits.for_period(monthly=False)
        monthly, _ = res.limits.for_period(monthly=True)
        refused = await self._call("reserve", [
            self._key(res.token, res.day), self._key(res.token, res.month),
            self.holds + res.id, self.index,
        ], [res.micros, res.requests, _arg(daily), _arg(monthly), _arg(quota), res.id,
            res.token, res.day, res.month, time.time(), DAY_TTL, MONTH_TTL,
            int(STALE_SECONDS * 4)])
        if not refused:
            return None
        period, reason, used = (_text(v) for v in refused)
        return Refusal(period, reason, int(used))

    async def settle(self, res: Reservation, actual: int, refund: int) -> list[PeriodUse]:
        rows = await self._call("settle", [
            self._key(res.token, res.day), self._key(res.token, res.month),
            self.holds + res.id, self.index,
        ], [actual, refund, res.id])
        return [_use(period, row) for period, row in zip((res.day, res.month), rows)]

    async def claim_alert(self, token: str, period: str, level: int) -> bool:
        return bool(await self._call("claim", [self._key(token, period)], [level]))

    async def usage(self, token: str, periods: list[str]) -> dict[str, PeriodUse]:
        self._redis()
        pipe = self._client.pipeline(transaction=False)
        for period in periods:
            pipe.hmget(self._key(token, period), "spent", "reserved", "requests", "alerted")
        rows = await pipe.execute()
        return {period: _use(period, row) for period, row in zip(periods, rows)}

    async def seed(self, token: str, uses: list[PeriodUse]) -> None:
        args: list[Any] = []
        for use in uses:
            args += [use.spent, use.requests]
        args += [MONTH_TTL if len(use.period) == 7 else DAY_TTL for use in uses]
        await self._call("seed", [self._key(token, use.period) for use in uses], args)

    async def sweep(self, older_than: float) -> int:
        return int(await self._call("sweep", [self.index],
                                    [time.time() - older_than, self.counts, self.holds]))

    async def aclose(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.aclose()
        self._client = self._loop = None


def _arg(limit: int | None) -> int:
    return NONE if limit is None else limit


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _use(period: str, row: list[Any]) -> PeriodUse:
    spent, reserved, requests, alerted = (int(v or 0) for v in row)
    return PeriodUse(period, spent, reserved, requests, alerted)
