"""Local mode's server runs a bounded number of requests at once, in order of arrival;
and its processes leave what survived a full garbage collection out of the next."""

from __future__ import annotations

import gc
import threading
import time

import pytest

from infra.local.embedded import _freeze_after_full, freeze_survivors
from infra.local.gateway import API_AT_ONCE, BusyServer, Turns


def _wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_no_more_than_the_bound_hold_a_turn_at_once():
    turns = Turns(3)
    lock = threading.Lock()
    holding, most = [0], [0]

    def work() -> None:
        with turns:
            with lock:
                holding[0] += 1
                most[0] = max(most[0], holding[0])
            time.sleep(0.005)
            with lock:
                holding[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 3
    assert holding[0] == 0


def test_a_freed_turn_goes_to_the_longest_waiter_not_to_a_newcomer():
    turns = Turns(1)
    order: list[str] = []
    turns.__enter__()  # held: everyone else waits
    waiters = []
    for name in ("first", "second", "third"):

        def wait(name: str = name) -> None:
            with turns:
                order.append(name)

        thread = threading.Thread(target=wait)
        thread.start()
        waiters.append(thread)
        expected = len(waiters)
        _wait_for(lambda expected=expected: turns.waiting == expected)
    turns.__exit__(None, None, None)  # handed to "first", who may not have run yet
    with turns:  # a newcomer: behind the three
        order.append("newcomer")
    for thread in waiters:
        thread.join()
    assert order == ["first", "second", "third", "newcomer"]


def test_the_local_server_takes_its_turns():
    server = BusyServer(("127.0.0.1", 0), lambda *_: None)
    try:
        assert isinstance(server.turns, Turns)
        for _ in range(API_AT_ONCE):
            server.turns.__enter__()
        entered = threading.Event()

        def one_more() -> None:
            with server.turns:
                entered.set()

        thread = threading.Thread(target=one_more)
        thread.start()
        _wait_for(lambda: server.turns.waiting == 1)
        assert not entered.is_set()
        server.turns.__exit__(None, None, None)
        thread.join(5)
        assert entered.is_set()
    finally:
        server.server_close()


@pytest.fixture
def collector():
    callbacks, thresholds = list(gc.callbacks), gc.get_threshold()
    yield
    gc.callbacks[:] = callbacks
    gc.set_threshold(*thresholds)
    gc.unfreeze()


def test_survivors_of_a_full_collection_are_left_out_of_the_next(collector):
    freeze_survivors()
    freeze_survivors()  # once is enough
    assert gc.callbacks.count(_freeze_after_full) == 1
    kept = [object() for _ in range(1000)]
    gc.collect(1)
    assert gc.get_freeze_count() == 0  # a younger collection freezes nothing
    gc.collect()
    assert gc.get_freeze_count() >= len(kept)
