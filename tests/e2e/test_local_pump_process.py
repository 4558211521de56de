"""Local mode's event pump runs in an interpreter of its own, and answers the runner.

Paused, it reads nothing more: a registration is answered, and its confirmation waits
until the pump is resumed, then is sent once. A schedule fired from the runner runs in
the pump's process. If that process ends, the runner's errors say so.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
import requests

from infra.local.demo import EVENT_ID
from infra.local.pump_process import PumpError
from tests.builders import person


def _emails_to(local, address: str) -> int:
    return sum(1 for path in local.outbox.glob("*.eml") if address in path.read_text().lower())


def _wait(what, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while not (found := what()):
        assert time.monotonic() < deadline, "waited in vain"
        time.sleep(0.2)
    return found


def test_the_pump_is_a_process_of_its_own(local):
    assert local.pump.pid not in (None, os.getpid())
    os.kill(local.pump.pid, 0)  # alive


def test_a_paused_pump_holds_the_confirmation_until_resumed(local):
    local.pump.pause()
    try:
        before = local.pump.invocations
        answer = requests.post(
            f"{local.url}/events/{EVENT_ID}/registrations",
            json=person(7001, email="held@example.org"),
            timeout=30,
        )
        assert answer.status_code == 201
        time.sleep(3)
        assert _emails_to(local, "held@example.org") == 0
        assert local.pump.invocations == before  # nothing read meanwhile
    finally:
        local.pump.resume()
    _wait(lambda: _emails_to(local, "held@example.org"))
    time.sleep(2)
    assert _emails_to(local, "held@example.org") == 1
    assert local.errors == []


def test_a_schedule_fired_from_the_runner_runs_in_the_pump(local):
    before = local.pump.invocations
    local.pump.fire("send_reminders")
    assert local.pump.invocations == before + 1
    with pytest.raises(PumpError, match="KeyError: 'no_such_schedule'"):
        local.pump.fire("no_such_schedule")  # the child says so; the runner raises it
    assert local.errors == []


def test_the_runner_hears_when_the_pump_s_process_ends(local):
    """The last test of this module: it leaves local mode without its pump."""
    os.kill(local.pump.pid, signal.SIGKILL)
    where, error = _wait(lambda: local.errors)[0]
    assert where == "pump"
    assert isinstance(error, PumpError)
    assert "ended" in str(error)
    with pytest.raises(PumpError, match=r"not running|gone|ended"):
        local.pump.fire("send_reminders")
