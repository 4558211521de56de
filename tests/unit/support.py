"""Small helpers shared by the unit tests: events with other settings, refusals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.domain.events import Event
from chalicelib.entrypoints.http import ANSWERED, Problem, problem_for
from chalicelib.ports import Services
from tests.builders import event_body

EVENT_ID = "conf"


def configure(majlis: Services, event_id: str = EVENT_ID, **overrides: Any) -> Event:
    """Store an event like the reference one, with ``overrides`` (e.g. ``capacity=2``).

    When ``languages`` is overridden, titles keep only the languages offered (plus the
    default), so the event stays valid.
    """
    body = event_body(**overrides)
    offered = set(body["languages"])
    body["title"] = {k: v for k, v in body["title"].items() if k in offered}
    for session in body["sessions"]:
        session["title"] = {k: v for k, v in session["title"].items() if k in offered}
    event = Event.model_validate({**body, "id": event_id})
    majlis.events.put(event, majlis.clock())
    return event


def problem_of(call: Callable[[], Any]) -> Problem:
    """The problem document a refused call becomes (the entrypoints' one mapping)."""
    with pytest.raises(ANSWERED) as caught:
        call()
    return problem_for(caught.value)


def field_codes(problem: Problem) -> list[tuple[str, str]]:
    return [(error.field, error.code) for error in problem.errors]
