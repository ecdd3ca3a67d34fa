"""Unique ids for requests, usage records and budget holds: 32 hex characters, like a uuid4's.

A per-process random prefix (64 bits, drawn again in a forked child, so workers never share
one) and a counter. It is unique without a system call per id: ``uuid.uuid4()`` reads
``os.urandom`` each time, 2.8 µs here against 0.36 µs, and a request made three of them.
Not secret: nothing may use these as a credential.
"""

from __future__ import annotations

import itertools
import os

_prefix = ""
_counter = itertools.count()


def _reseed() -> None:
    global _prefix, _counter
    _prefix = os.urandom(8).hex()
    _counter = itertools.count()


_reseed()
os.register_at_fork(after_in_child=_reseed)


def new_id() -> str:
    return f"{_prefix}{next(_counter) & 0xFFFFFFFFFFFFFFFF:016x}"
