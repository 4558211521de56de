"""A webinar's panelists: ``GET``/``POST /v2/webinars/{id}/panelists`` and
``DELETE /v2/webinars/{id}/panelists/{panelistId}``.

:class:`PanelistsMixin` gives ``ZoomStandIn`` Zoom's panelist rules: a POST adds each
``{"name", "email"}`` (an email already a panelist keeps its id and takes the new name),
at most :data:`PANELISTS_MAX` in a webinar; each panelist has an id and a join URL of its
own; a webinar's interpreters are panelists too (``settings``). Panelists are never
registrants: they appear in no registrant list and send no registration webhook.
Meetings have no panelists (their ``…/panelists`` paths answer 404). Handlers run with
the lock held and raise :class:`~.common.ApiError`.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from typing import Any

from .common import ApiError, Result, _invalid, _iso
from .registrants import _EMAIL, _Session

PANELISTS_MAX = 100  # a webinar's panelists, whatever its licence


class PanelistsMixin:
    """Webinar panelists of ``ZoomStandIn`` (state created in ``standin.py``)."""

    _join_origin: str
    _lock: threading.RLock
    _clock: Callable[[], float]
    _sessions: dict[tuple[str, str], _Session]
    _json_object: Callable[[bytes], dict[str, Any]]

    def panelists(self, webinar_id: str) -> list[dict[str, Any]]:
        """Copies of a webinar's panelists, in the order they were added."""
        with self._lock:
            session = self._sessions.get(("webinar", str(webinar_id)))
            return [dict(p) for p in session.panelists] if session is not None else []

    def _new_panelist(
        self, session: _Session, name: str, email: str, *, interpreter: bool = False
    ) -> dict[str, Any]:
        panelist = {
            "id": secrets.token_urlsafe(16),
            "name": name,
            "email": email,
            "join_url": f"{self._join_origin}/w/{session.zoom_id}?tk={secrets.token_urlsafe(32)}",
            "created_at": _iso(self._clock()),
            "interpreter": interpreter,
        }
        session.panelists.append(panelist)
        return panelist

    def _list_panelists(self, session: _Session, _query: dict, _body: bytes) -> Result:
        fields = ("id", "name", "email", "join_url")
        listed = [{name: p[name] for name in fields} for p in session.panelists]
        return 200, {}, {"total_records": len(listed), "panelists": listed}

    def _add_panelists(self, session: _Session, _query: dict, body: bytes) -> Result:
        data = self._json_object(body)
        people = data.get("panelists")
        if not isinstance(people, list) or not people:
            raise _invalid("panelists", "This field is required.")
        for index, person in enumerate(people):
            at = f"panelists[{index}]"
            if not isinstance(person, dict):
                raise _invalid(at)
            email = person.get("email")
            if not isinstance(email, str) or not _EMAIL.fullmatch(email.strip()):
                raise _invalid(f"{at}.email", "Invalid email.")
            name = person.get("name")
            if not isinstance(name, str) or not name.strip() or len(name) > 64:
                raise _invalid(f"{at}.name")
        by_email = {p["email"].lower(): p for p in session.panelists}
        new = {p["email"].strip().lower() for p in people} - by_email.keys()
        if len(session.panelists) + len(new) > PANELISTS_MAX:
            raise ApiError(
                400,
                {"code": 300, "message": f"A webinar takes at most {PANELISTS_MAX} panelists."},
            )
        for person in people:
            email = person["email"].strip()
            found = by_email.get(email.lower())
            if found is not None:
                found["name"] = person["name"]
                continue
            by_email[email.lower()] = self._new_panelist(session, person["name"], email)
        return 201, {}, {"id": session.zoom_id, "updated_at": _iso(self._clock())}

    def _remove_panelist(self, session: _Session, panelist_id: str) -> Result:
        for index, panelist in enumerate(session.panelists):
            if panelist["id"] == panelist_id:
                del session.panelists[index]
                return 204, {}, None
        raise ApiError(404, {"code": 404, "message": f"Panelist does not exist: {panelist_id}."})
