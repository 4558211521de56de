"""Participants: what a registrant does with a ``join_url``, simulated.

:class:`ParticipantsMixin` gives ``ZoomStandIn`` the page a registrant's ``join_url``
opens (``/w/{id}?tk=…``: 200, or 403 once the registration is cancelled or denied, 404
for an unknown link) and ``join``, which sends ``participant_joined`` as Zoom does when
someone enters the meeting or webinar. Join tokens are made in
``registrants.RegistrantsMixin._register``; events go out through
``webhooks.WebhooksMixin._emit``.
"""

from __future__ import annotations

import html
import secrets
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .common import Result, _iso, _kind

if TYPE_CHECKING:
    from .registrants import _Session


class ParticipantsMixin:
    """The join page and simulated joins of ``ZoomStandIn`` (state created in ``standin.py``)."""

    _lock: threading.RLock
    _clock: Callable[[], float]
    _sessions: dict[tuple[str, str], _Session]
    _join_tokens: dict[str, tuple[str, str, str]]

    # simulated participants ------------------------------------------------------

    def join(
        self,
        zoom_id: str,
        registrant_id: str | None = None,
        email: str | None = None,
        user_name: str | None = None,
        *,
        kind: str | None = None,
    ) -> dict[str, Any]:
        """Send ``participant_joined``; ``email`` and ``registrant_id`` only when given,
        as Zoom often leaves them out. Returns the event sent."""
        zoom_id = str(zoom_id)
        with self._lock:
            session = None
            for candidate in [_kind(kind)] if kind else ["meeting", "webinar"]:
                session = self._sessions.get((candidate, zoom_id))
                if session is not None:
                    break
            if session is None:
                session = self._session(_kind(kind or "meeting"), zoom_id, create=True)
                assert session is not None
            registrant = session.by_id.get(registrant_id or "")
            if user_name is None:
                user_name = (
                    f"{registrant['first_name']} {registrant['last_name']}".strip()
                    if registrant
                    else "Guest"
                )
            participant: dict[str, Any] = {
                "user_id": str(16778240 + secrets.randbelow(10**6)),
                "user_name": user_name,
                "id": secrets.token_urlsafe(16),
                "participant_uuid": str(uuid.uuid4()).upper(),
                "join_time": _iso(self._clock()),
            }
            if email is not None:
                participant["email"] = email
            if registrant_id is not None:
                participant["registrant_id"] = registrant_id
            return self._emit(
                session, "participant_joined", {**self._object(session), "participant": participant}
            )

    # the page a join_url opens ---------------------------------------------------

    def _join_page(self, zoom_id: str, token: str) -> Result:
        with self._lock:
            target = self._join_tokens.get(token)
            session = self._sessions.get(target[:2]) if target and target[1] == zoom_id else None
            registrant = session.by_id.get(target[2]) if session and target else None
            if session is None or registrant is None:
                status, text = 404, "This join link is not valid."
            elif registrant["status"] in ("cancelled", "denied"):
                status, text = (
                    403,
                    f"Your registration for {session.topic} was {registrant['status']}.",
                )
            else:
                name = f"{registrant['first_name']} {registrant['last_name']}".strip()
                status, text = 200, f"Joining {session.topic} as {name}"
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>Zoom stand-in</title></head><body><p>{html.escape(text)}</p></body></html>"
        )
        return status, {"Content-Type": "text/html; charset=utf-8"}, page.encode()
