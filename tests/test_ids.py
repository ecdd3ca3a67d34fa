"""flaskllm/ids.py: ids stay unique across processes, also when the fork happened in C (as
uWSGI forks its workers after importing the app), where Python's at-fork handlers never run:
two workers with one prefix once made the same usage-record ids, and one record was dropped
as a duplicate (tests/test_uwsgi.py counts them)."""

from __future__ import annotations

import ctypes
import os

import pytest

from flaskllm.ids import new_id


def _child_id(fork) -> str:
    read, write = os.pipe()
    pid = fork()
    if pid == 0:  # the child: one id, then out without running the parent's cleanup
        os.write(write, new_id().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        return pipe.read()


@pytest.mark.parametrize("fork", [os.fork, ctypes.CDLL(None).fork], ids=["os.fork", "libc"])
def test_a_forked_child_makes_ids_of_its_own(fork):
    before = new_id()
    child = _child_id(fork)
    after = new_id()
    assert len(child) == len(before) == 32 and int(child, 16) >= 0
    assert child[:16] != before[:16] == after[:16]  # the child drew its own prefix


def test_ids_do_not_repeat():
    made = [new_id() for _ in range(100_000)]
    assert len(set(made)) == len(made)
