"""A meeting's or webinar's own settings: ``GET``/``PATCH /v2/{meetings|webinars}/{id}``
(language interpretation above all) and its livestream (``…/livestream``,
``…/livestream/status``).

:class:`SettingsMixin` gives ``ZoomStandIn`` Zoom's rules for
``settings.language_interpretation`` (``{"enable": true, "interpreters": [{"email",
"languages": "US,FR"}]}``, or the newer ``"interpreter_languages": "English,Arabic"``):

- the older ``languages`` form takes the codes of Zoom's built-in languages only
  (:data:`BUILT_IN_LANGUAGES`); the newer ``interpreter_languages`` takes their names, or
  the names of the account's custom languages (``standin.custom_languages``, none by
  default: an account defines them in Zoom's web portal, never through the API);
- a language that is neither is refused (400, :func:`_undefined`), the whole request with it;
- at most :data:`INTERPRETERS_MAX` interpreters; each works between two languages;
- in a webinar, interpreters become panelists (``panelists``, marked as such).

Handlers run with the lock held and raise :class:`~.common.ApiError`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .common import ApiError, Result, _invalid, _kind
from .registrants import _EMAIL, _Session

# Zoom's built-in interpretation languages, by name, with the code the older form uses.
BUILT_IN_LANGUAGES = {
    "English": "US",
    "Chinese": "CN",
    "Japanese": "JP",
    "German": "DE",
    "French": "FR",
    "Russian": "RU",
    "Portuguese": "PT",
    "Spanish": "ES",
    "Korean": "KR",
}
INTERPRETERS_MAX = 20
LIVESTREAM_FIELDS = ("stream_url", "stream_key", "page_url", "resolution")
LIVESTREAM_ACTIONS = {"start": "started", "stop": "stopped"}


def _undefined(language: str, field_name: str) -> ApiError:
    # Zoom's reference documents no code or wording for this refusal; 300 is the code of
    # its validation failures, and the message names the language as Zoom's do.
    return ApiError(
        400,
        {
            "code": 300,
            "message": f"Invalid interpreter language: {language}.",
            "errors": [{"field": field_name, "message": f"Language {language} is not defined."}],
        },
    )


class SettingsMixin:
    """Meeting and webinar settings of ``ZoomStandIn`` (state created in ``standin.py``)."""

    _lock: threading.RLock
    _custom_languages: set[str]
    _sessions: dict[tuple[str, str], _Session]
    _json_object: Callable[[bytes], dict[str, Any]]
    _new_panelist: Callable[..., dict[str, Any]]

    # configuration ---------------------------------------------------------------

    @property
    def custom_languages(self) -> set[str]:
        """The account's custom interpretation languages, by name (e.g. {"Arabic"})."""
        with self._lock:
            return set(self._custom_languages)

    @custom_languages.setter
    def custom_languages(self, names: set[str] | list[str] | tuple[str, ...]) -> None:
        with self._lock:
            self._custom_languages = {str(name).strip() for name in names if str(name).strip()}

    # observability ---------------------------------------------------------------

    def settings_of(self, kind: str, zoom_id: str) -> dict[str, Any]:
        """A copy of a session's settings as PATCHed ({} for an unknown one)."""
        with self._lock:
            session = self._sessions.get((_kind(kind), str(zoom_id)))
            return _copy(session.settings) if session is not None else {}

    def livestream(self, kind: str, zoom_id: str) -> dict[str, Any]:
        """A copy of a session's livestream settings and ``status`` ({} when never set)."""
        with self._lock:
            session = self._sessions.get((_kind(kind), str(zoom_id)))
            return dict(session.livestream) if session is not None else {}

    # endpoints -------------------------------------------------------------------

    def _get_session(self, session: _Session, _query: dict, _body: bytes) -> Result:
        answer: dict[str, Any] = {
            "id": int(session.zoom_id),
            "uuid": session.uuid,
            "topic": session.topic,
            "type": session.type,
            "start_time": session.start_time,
            "duration": session.duration,
            "timezone": session.timezone,
            "settings": {"approval_type": session.approval_type, **_copy(session.settings)},
        }
        return 200, {}, answer

    def _update_session(self, session: _Session, _query: dict, body: bytes) -> Result:
        data = self._json_object(body)
        settings = data.get("settings", {})
        if not isinstance(settings, dict):
            raise _invalid("settings")
        interpretation = None
        if "language_interpretation" in settings:
            interpretation = self._interpretation(settings["language_interpretation"])
        # Checked whole before anything changes: a refused request changes nothing.
        for name in ("topic", "start_time", "timezone"):
            if name in data and not isinstance(data[name], str):
                raise _invalid(name)
        if "duration" in data and not isinstance(data["duration"], int):
            raise _invalid("duration")
        for name in ("topic", "start_time", "timezone", "duration"):
            if name in data:
                setattr(session, name, data[name])
        if "approval_type" in settings and settings["approval_type"] in (0, 1, 2):
            session.approval_type = int(settings["approval_type"])
        for name, value in settings.items():
            if name not in ("approval_type", "language_interpretation"):
                session.settings[name] = _copy(value)
        if interpretation is not None:
            session.settings["language_interpretation"] = interpretation
            if session.kind == "webinar":
                self._interpreters_as_panelists(session, interpretation["interpreters"])
        return 204, {}, None

    def _interpretation(self, value: Any) -> dict[str, Any]:
        prefix = "settings.language_interpretation"
        if not isinstance(value, dict):
            raise _invalid(prefix)
        enable = value.get("enable", False)
        if not isinstance(enable, bool):
            raise _invalid(f"{prefix}.enable")
        interpreters = value.get("interpreters", [])
        if not isinstance(interpreters, list):
            raise _invalid(f"{prefix}.interpreters")
        if len(interpreters) > INTERPRETERS_MAX:
            raise _invalid(
                f"{prefix}.interpreters", f"At most {INTERPRETERS_MAX} interpreters are allowed."
            )
        names = {name.lower(): name for name in (*BUILT_IN_LANGUAGES, *self._custom_languages)}
        codes = {code.lower(): name for name, code in BUILT_IN_LANGUAGES.items()}
        kept = []
        for index, interpreter in enumerate(interpreters):
            at = f"{prefix}.interpreters[{index}]"
            if not isinstance(interpreter, dict):
                raise _invalid(at)
            email = interpreter.get("email")
            if not isinstance(email, str) or not _EMAIL.fullmatch(email.strip()):
                raise _invalid(f"{at}.email", "Invalid email.")
            if "interpreter_languages" in interpreter:
                field_name = f"{at}.interpreter_languages"
                raw, table = interpreter["interpreter_languages"], names
            else:
                field_name = f"{at}.languages"
                raw, table = interpreter.get("languages"), codes
            if not isinstance(raw, str):
                raise _invalid(field_name, "This field is required.")
            parts = [part.strip() for part in raw.split(",")]
            if len(parts) != 2 or not all(parts):
                raise _invalid(field_name, "An interpreter works between exactly two languages.")
            for part in parts:
                if part.lower() not in table:
                    raise _undefined(part, field_name)
            pair = [table[part.lower()] for part in parts]
            if pair[0] == pair[1]:
                raise _invalid(field_name, "An interpreter works between two languages.")
            kept.append(
                {
                    "email": email.strip(),
                    "languages": ",".join(BUILT_IN_LANGUAGES.get(name, "") for name in pair),
                    "interpreter_languages": ",".join(pair),
                }
            )
        return {"enable": enable, "interpreters": kept}

    def _interpreters_as_panelists(self, session: _Session, interpreters: list[dict]) -> None:
        wanted = {i["email"].lower(): i["email"] for i in interpreters}
        session.panelists[:] = [
            p
            for p in session.panelists
            if not (p.get("interpreter") and p["email"].lower() not in wanted)
        ]
        present = {p["email"].lower() for p in session.panelists}
        for key, email in wanted.items():
            if key not in present:
                self._new_panelist(session, email.split("@")[0], email, interpreter=True)

    def _get_livestream(self, session: _Session, _query: dict, _body: bytes) -> Result:
        answer = {name: session.livestream.get(name, "") for name in LIVESTREAM_FIELDS}
        # Not in Zoom's answer: the stand-in shows the status set through …/livestream/status.
        answer["status"] = session.livestream.get("status", "stopped")
        return 200, {}, answer

    def _update_livestream(self, session: _Session, _query: dict, body: bytes) -> Result:
        data = self._json_object(body)
        for name in ("stream_url", "stream_key", "page_url"):
            if not isinstance(data.get(name), str) or not data[name]:
                raise _invalid(name, "This field is required.")
        for name in LIVESTREAM_FIELDS:
            if name in data:
                session.livestream[name] = str(data[name])
        return 204, {}, None

    def _livestream_status(self, session: _Session, _query: dict, body: bytes) -> Result:
        data = self._json_object(body)
        action = data.get("action")
        if action not in LIVESTREAM_ACTIONS:
            raise _invalid("action")
        if action == "start" and not session.livestream.get("stream_url"):
            raise ApiError(
                400, {"code": 300, "message": "Livestream settings are not set for this session."}
            )
        session.livestream["status"] = LIVESTREAM_ACTIONS[action]
        if isinstance(data.get("settings"), dict):
            session.livestream["status_settings"] = _copy(data["settings"])
        return 204, {}, None


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
