"""programme_change: a session moved, told to everyone who holds it, in local mode.

``PEOPLE`` registrants (7 languages, several zones) hold the session; local mode starts
with them already in its table (their confirmations long sent), then an organiser's
``PUT /events/{id}`` moves the session by 30 minutes. The figure is the time from that
PUT to the last change email in the outbox, with the AWS calls it took per person told
(the pump, the fan-out and the mail worker all run in this process); the floor is what
SES's pace alone requires: the people ÷ local mode's send rate.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any


def _state(root: Path, event_id: str, body: dict[str, Any], people: int) -> None:
    """The table as local mode keeps it across restarts: the event and its registrants."""
    from chalicelib.adapters.dynamo import schema
    from chalicelib.domain.addresses import parse_address
    from chalicelib.domain.events import Event
    from chalicelib.domain.registrations import Registration, Status
    from tests.builders import LANGUAGES, NOW

    zones = [
        "Asia/Jerusalem",
        "Asia/Karachi",
        "Europe/Istanbul",
        "America/New_York",
        "Asia/Kuala_Lumpur",
    ]
    # Registered a day ago on local mode's clock (the real one): before the change
    registered_at = datetime.now(UTC) - timedelta(days=1)
    event = Event.model_validate({**body, "id": event_id})
    items = [
        schema.event_item(event, NOW),
        schema.seats_item(event_id),
        schema.event_index_item(event_id),
    ]
    for n in range(people):
        address = parse_address(f"moved{n}@example.org")
        registration = Registration(
            registration_id=f"01j{n:023d}",
            event_id=event_id,
            email=address.as_given,
            email_key=address.key,
            first_name=f"Person {n}",
            country="JO",
            language=LANGUAGES[n % len(LANGUAGES)],
            timezone=zones[n % len(zones)],
            sessions=["education", "family"],
            clicks={"education": {}, "family": {}},
            status=Status.REGISTERED,
            created_at=registered_at,
            updated_at=registered_at,
            mail_requested_at=registered_at,
        )
        items.append(schema.registration_item(registration))
        items.append(schema.email_item(registration))
    # registration_item is written as attributes already; the others are plain values
    lines = [
        json.dumps(item if isinstance(item.get("pk"), dict) else schema.to_attributes(item))
        for item in items
    ]
    path = root / "state" / "table.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def programme_change(people: int = 1000, timeout: float = 900.0) -> dict[str, Any]:
    import botocore.client
    import requests

    from infra.local.runner import LocalMajlis
    from tests.builders import event_body, zoom_base_for

    event_id = "bench-change"
    body = event_body(zoom_base_for(event_id), registration={"opens_at": "2020-01-01T00:00:00Z"})
    for session in body["sessions"]:
        session.pop("zoom")  # the email is what is measured, not Zoom
    saved = dict(os.environ)
    root = Path(tempfile.mkdtemp(prefix="majlis-bench-change-"))
    _state(root, event_id, body, people)
    calls: Counter[str] = Counter()
    counting = threading.Event()
    make_api_call = botocore.client.BaseClient._make_api_call

    def counted(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if counting.is_set():
            calls[operation] += 1
        return make_api_call(self, operation, params)

    botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]
    local = LocalMajlis(root=root, port=0, keep_state=True).start()
    try:
        moved = copy.deepcopy(body)
        for session in moved["sessions"]:
            if session["id"] == "education":
                session.update(starts_at="2027-03-06T12:30:00Z", ends_at="2027-03-06T14:30:00Z")
        headers = {"Authorization": f"Bearer {local.organizer_token}"}
        counting.set()
        started = time.perf_counter()
        answer = requests.put(
            f"{local.url}/events/{event_id}", json=moved, headers=headers, timeout=120
        )
        answered = time.perf_counter() - started
        assert answer.status_code == 200, answer.text
        notifying = answer.json()["notifying"]
        assert notifying == people, f"{notifying} of {people} to be told"
        last = started
        sent = 0
        while time.perf_counter() - started < timeout:
            files = list(local.outbox.glob("*.eml")) if local.outbox.exists() else []
            if len(files) > sent:
                sent, last = len(files), time.perf_counter()
            if sent >= people:
                break
            time.sleep(0.1)
        counting.clear()
        rate = float(os.environ.get("MAJLIS_SES_MAX_SEND_RATE", "50"))
        seconds = last - started
        floor = people / rate
        return {
            "people": people,
            "notifying": notifying,
            "sent": sent,
            "put_seconds": answered,
            "seconds": seconds,
            "floor_seconds": floor,
            "ratio": seconds / floor,
            "calls_per_person": sum(calls.values()) / max(1, sent),
            "calls": dict(calls.most_common()),
            "errors": [f"{where}: {error!r}" for where, error in local.errors][:5],
        }
    finally:
        botocore.client.BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]
        local.stop()
        os.environ.clear()
        os.environ.update(saved)
