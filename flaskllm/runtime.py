"""Process settings for a serving process (``flaskllm serve``, ``wsgi.py``), not for tests:
the malloc arena cap and the garbage collector's tuning. Each was measured with bench/."""

from __future__ import annotations

import ctypes
import gc
import os
import platform

# glibc's mallopt() parameter for the number of malloc arenas (malloc.h: M_ARENA_MAX).
M_ARENA_MAX = -8
MALLOC_ARENAS = 2
# The collector runs a young collection after 700 new objects by default, and a full one
# (which walks every live object) about every ten young ones more. A request in flight holds
# some 450 objects, so with a thousand in flight full collections of ~450,000 objects ran
# twice a second, 190 ms each: a third of the CPU. Fewer collections, and the start-up
# objects moved out of their way (gc.freeze), took a proxied request from 1.27 to 1.01 ms
# of CPU at 32 connections and from 2.0 to 1.2 ms at 1,000, with the same resident memory.
GC_THRESHOLDS = (10_000, 50, 100)


def fewer_malloc_arenas() -> None:
    """Cap glibc's malloc arenas at MALLOC_ARENAS, as MALLOC_ARENA_MAX=2 would.

    glibc gives each thread that allocates its own arena (up to 8 per core), and memory
    freed in one is not reused by the others; a serving process has one event loop and a few
    helper threads. Under steady load the cap kept 5 MB off the resident size. An explicit
    MALLOC_ARENA_MAX, or another C library, is left alone. Call it before threads start."""
    if os.environ.get("MALLOC_ARENA_MAX") or platform.libc_ver()[0] != "glibc":
        return
    ctypes.CDLL(None).mallopt(M_ARENA_MAX, MALLOC_ARENAS)


def pause_gc() -> None:
    """No collections while the app is built: what start-up makes (modules, the spec, the
    routes) lives as long as the process, so collecting it is wasted work; ``tune_gc``
    turns the collector back on."""
    gc.disable()


def tune_gc() -> None:
    """Freeze what exists now (the imported modules and the app: they live as long as the
    process, and a forked worker then shares their pages instead of copying them when the
    collector touches them) and collect less often (GC_THRESHOLDS)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    gc.enable()
