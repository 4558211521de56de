"""Keeping the stand-in's Zoom account across a restart: ``export_state`` and ``import_state``.

Zoom keeps its meetings, webinars and registrants whether Majlis runs or not; local mode
keeps the stand-in's the same way (``.local/state/zoom.json``). :class:`PersistenceMixin`
gives ``ZoomStandIn``:

- ``export_state()``: a JSON-serialisable copy of what a registrant's join link and
  Majlis's sync depend on: sessions (topic, times, uuid, approval, capacity, settings
  such as interpretation, panelists, livestream), their registrants in creation order
  (cancelled ones included) and who holds each email, the join links' tokens, deleted
  ids, today's add attempts per registrant (Zoom's daily limit outlives a restart), the
  host id, the account's custom languages, and webhooks not yet delivered. The address
  it served at is ``base_url``.
- ``import_state(state)``: put that back into a started stand-in, replacing its data.
  When it now serves at another address, every join URL (registrants' and panelists', and every
  pending webhook's body) is re-pointed from the exported ``base_url`` to the current one; pending
  webhooks go to the current ``webhook_url``, from their attempt on, as Zoom retries.

Access tokens, page tokens, call counts, the request log and webhook records are not
kept: Majlis asks for a new access token, as it does when one expires.
"""

from __future__ import annotations

import heapq
import json
import threading
import time
from typing import Any

from .common import _kind
from .registrants import _Session

STATE_VERSION = 1


class PersistenceMixin:
    """Export and import of ``ZoomStandIn``'s data (state created in ``standin.py``)."""

    host_id: str
    base_url: str
    _lock: threading.RLock
    _cond: threading.Condition
    _webhook_url: str | None
    _custom_languages: set[str]
    _sessions: dict[tuple[str, str], _Session]
    _deleted: set[str]
    _join_tokens: dict[str, tuple[str, str, str]]
    _attempts: dict[tuple[str, str, int], int]
    _outbox: list[tuple[float, int, dict[str, Any]]]
    _dropped: list[dict[str, Any]]
    _pending: int
    _sequence: int

    def export_state(self) -> dict[str, Any]:
        """What ``import_state`` needs to serve the same account again (JSON types only)."""
        with self._lock:
            sessions = []
            for session in self._sessions.values():
                sessions.append(
                    {
                        "kind": session.kind,
                        "zoom_id": session.zoom_id,
                        "topic": session.topic,
                        "start_time": session.start_time,
                        "duration": session.duration,
                        "timezone": session.timezone,
                        "approval_type": session.approval_type,
                        "uuid": session.uuid,
                        "active": session.active,
                        "registrants": [dict(r) for r in session.registrants],
                        "by_email": {email: r["id"] for email, r in session.by_email.items()},
                        "capacity": session.capacity,
                        "settings": json.loads(json.dumps(session.settings)),
                        "panelists": [dict(p) for p in session.panelists],
                        "livestream": json.loads(json.dumps(session.livestream)),
                    }
                )
            pending = [
                {
                    "event": delivery["event"],
                    "body": delivery["body"].decode("utf-8"),
                    "attempt": delivery["attempt"],
                }
                for _, _, delivery in sorted(self._outbox, key=lambda entry: entry[:2])
            ]
            return {
                "version": STATE_VERSION,
                "base_url": self.base_url,
                "host_id": self.host_id,
                "custom_languages": sorted(self._custom_languages),
                "sessions": sessions,
                "deleted": sorted(self._deleted),
                "join_tokens": {token: list(target) for token, target in self._join_tokens.items()},
                "attempts": [[*key, count] for key, count in self._attempts.items()],
                "webhooks": pending,
            }

    def import_state(self, state: dict[str, Any]) -> None:
        """Replace this stand-in's data with an exported state (call after ``start``)."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unknown Zoom stand-in state version: {state.get('version')!r}")
        old, new = state["base_url"].rstrip("/") + "/", self.base_url + "/"

        def moved(text: str) -> str:
            return text.replace(old, new) if old != new else text

        self._reset_data()
        with self._cond:
            self.host_id = state["host_id"]
            if "custom_languages" in state:
                self._custom_languages = set(state["custom_languages"])
            for saved in state["sessions"]:
                registrants = [
                    {**registrant, "join_url": moved(registrant["join_url"])}
                    for registrant in saved["registrants"]
                ]
                by_id = {r["id"]: r for r in registrants}
                session = _Session(
                    kind=_kind(saved["kind"]),
                    zoom_id=str(saved["zoom_id"]),
                    topic=saved["topic"],
                    start_time=saved["start_time"],
                    duration=saved["duration"],
                    timezone=saved["timezone"],
                    approval_type=saved["approval_type"],
                    uuid=saved["uuid"],
                    registrants=registrants,
                    by_id=by_id,
                    by_email={email: by_id[rid] for email, rid in saved["by_email"].items()},
                    active=saved["active"],
                    # Absent from states exported before rooms, interpretation and panelists.
                    capacity=saved.get("capacity"),
                    settings=saved.get("settings", {}),
                    panelists=[
                        {**p, "join_url": moved(p["join_url"])} for p in saved.get("panelists", [])
                    ],
                    livestream=saved.get("livestream", {}),
                )
                self._sessions[(session.kind, session.zoom_id)] = session
            self._deleted = set(state["deleted"])
            self._join_tokens = {
                token: (kind, zoom_id, registrant_id)
                for token, (kind, zoom_id, registrant_id) in state["join_tokens"].items()
            }
            self._attempts = {
                (zoom_id, email, int(day)): int(count)
                for zoom_id, email, day, count in state["attempts"]
            }
            for saved in state["webhooks"]:
                body = moved(saved["body"]).encode("utf-8")
                record = {"event": saved["event"], "body": body, "json": json.loads(body)}
                if self._webhook_url is None:
                    self._dropped.append({**record, "reason": "no webhook_url"})
                    continue
                self._sequence += 1
                delivery = {**record, "url": self._webhook_url, "attempt": saved["attempt"]}
                heapq.heappush(self._outbox, (time.monotonic(), self._sequence, delivery))
                self._pending += 1
            self._cond.notify_all()
