"""Setting up an event's Zoom rooms: each session's interpretation, and its speakers as
the panelists of its webinars.

For every session that is not cancelled, each of its Zoom rooms (``Session.zoom_links``)
gets the session's language interpretation, and each webinar room gets the session's
speakers as panelists (never as registrants). It runs when an event is saved (a
``zoom_setup`` job from the outbox) and again at each reconciliation (:func:`reconcile`);
every step can be repeated: Zoom is set to what the session says, not changed by a delta.

- A language Zoom refuses (Arabic, Turkish, Urdu and Malay are not built in: the account
  must define them) never fails the room: its interpreters are left out, the rest is
  applied, and the organisers get a message saying what to create in Zoom's portal.
- Majlis removes only the panelists it added itself (kept in the room's record, before
  the call that adds them, so that a lost answer cannot make one of ours look like the
  organisers'); panelists the organisers added, and the webinar's interpreters, stay.
- A slow-down or outage of Zoom asks for the job again (``Outcome.retry``); any other
  refusal is recorded with its reason, where :func:`status` shows it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.events import Event, Session, ZoomLink
from chalicelib.ports import (
    Services,
    ZoomFailure,
    ZoomInterpretation,
    ZoomInterpreter,
    ZoomLanguageUndefined,
)
from chalicelib.usecases.zoomsync import ZOOM_NAME_MAX

# Our languages as Zoom names them: English, French and Spanish are built in (codes US,
# FR, ES); the others are custom languages an account must create first.
ZOOM_LANGUAGES = {
    "ar": "Arabic",
    "en": "English",
    "tr": "Turkish",
    "fr": "French",
    "es": "Spanish",
    "ur": "Urdu",
    "ms": "Malay",
}
PANELISTS_PER_CALL = 30
INTERPRETATION = "interpretation"
PANELISTS = "panelists"


def missing_language_message(language: str) -> str:
    """What an organiser must do when Zoom has no ``language`` (its name, in English)."""
    return (
        f"Zoom has no language '{language}' on this account: in Zoom's web portal, "
        "Account Management > Account Settings > Meeting > Language Interpretation, add "
        f"{language} as a custom language; Majlis applies it again at the next "
        "reconciliation."
    )


@dataclass
class Outcome:
    rooms: int = 0
    applied: int = 0
    problems: list[str] = field(default_factory=list)
    failed: int = 0
    calls: int = 0
    retry: bool = False
    retry_after: float | None = None


class _Again(Exception):
    """Zoom asked us to slow down, or was not there: the whole job comes again."""

    def __init__(self, failure: ZoomFailure) -> None:
        super().__init__(failure.reason)
        self.failure = failure


def _transient(failure: ZoomFailure) -> bool:
    return not failure.permanent and failure.kind != "full"


def rooms_of(event: Event) -> Iterator[tuple[Session, ZoomLink]]:
    """Every Zoom room of the event's sessions that are not cancelled."""
    for session in event.sessions:
        if not session.cancelled:
            for link in session.zoom_links:
                yield session, link


def apply(services: Services, event_id: str) -> Outcome:
    """Make every Zoom room of the event what its session says (see the module's notes)."""
    outcome = Outcome()
    event = services.events.get(event_id, fresh=True)
    if event is None:
        return outcome
    rooms = list(rooms_of(event))
    records = services.zoom_store.zoom_setup(event.id, [(s.id, link.key) for s, link in rooms])
    for session, link in rooms:
        record = records.get((session.id, link.key), {})
        outcome.rooms += 1
        try:
            _interpret(services, event, session, link, record, outcome)
            if link.type == "webinar":
                _panelists(services, event, session, link, record, outcome)
        except _Again as again:
            outcome.retry = True
            outcome.retry_after = again.failure.retry_after
            return outcome  # the rest of the rooms with the job's next delivery
    return outcome


def reconcile(services: Services) -> dict[str, Any]:
    """Apply every Zoom event's setup again (the organisers may have created a missing
    language, or changed panelists in Zoom, since)."""
    report: dict[str, Any] = {"events": 0, "rooms": 0, "problems": 0, "failed": 0, "retry": 0}
    for event_id in services.zoom_store.event_ids():
        outcome = apply(services, event_id)
        report["events"] += 1
        report["rooms"] += outcome.rooms
        report["problems"] += len(outcome.problems)
        report["failed"] += outcome.failed
        report["retry"] += int(outcome.retry)
    return report


# -- interpretation ------------------------------------------------------------------------


def _keep(
    services: Services, event: Event, session: Session, link: ZoomLink, part: str, record: dict
) -> None:
    services.zoom_store.record_setup(event.id, session.id, link.key, part, record, services.clock())


def _interpret(
    services: Services,
    event: Event,
    session: Session,
    link: ZoomLink,
    record: dict[str, Any],
    outcome: Outcome,
) -> None:
    wanted = session.interpretation
    before = record.get(INTERPRETATION) or {}

    def keep(state: dict[str, Any]) -> None:
        _keep(services, event, session, link, INTERPRETATION, state)

    if wanted is None:
        if before.get("state") in ("applied", "incomplete"):  # we turned it on: turn it off
            _set(services, link, ZoomInterpretation(enable=False), outcome)
            keep({"state": "off"})
        return
    kept = [
        ZoomInterpreter(i.email, (ZOOM_LANGUAGES[i.languages[0]], ZOOM_LANGUAGES[i.languages[1]]))
        for i in wanted.interpreters
    ]
    refused: list[str] = []
    while True:
        try:
            _set(services, link, ZoomInterpretation(enable=True, interpreters=tuple(kept)), outcome)
            break
        except ZoomLanguageUndefined as undefined:
            language = _named(undefined.language)
            leaving = [i for i in kept if language in i.languages]
            if language in refused or not leaving:  # refused again, or by none of ours
                outcome.failed += 1
                keep({"state": "failed", "reason": undefined.reason[:300]})
                return
            refused.append(language)
            kept = [i for i in kept if i not in leaving]
        except ZoomFailure as failure:
            if _transient(failure):
                keep({**before, "state": "retrying", "reason": failure.reason[:300]})
                raise _Again(failure) from None
            outcome.failed += 1
            keep({"state": "failed", "reason": failure.reason[:300]})
            return
    problems = [missing_language_message(language) for language in refused]
    outcome.problems += problems
    outcome.applied += 1
    covered = {
        code for i in wanted.interpreters for code in i.languages if _zoom(code) not in refused
    }
    keep(
        {
            "state": "incomplete" if refused else "applied",
            "interpreters": len(kept),
            "languages": [code for code in [wanted.source, *wanted.into] if code in covered],
            "missing": refused,
            # Languages no interpreter works into: nobody to hear in that channel.
            "uncovered": [code for code in wanted.into if code not in covered],
            "problems": problems,
        }
    )


def _zoom(code: str) -> str:
    return ZOOM_LANGUAGES[code]


def _named(language: str) -> str:
    """Zoom's name for a language as ours are spelled (Zoom may answer "urdu")."""
    return next((n for n in ZOOM_LANGUAGES.values() if n.lower() == language.lower()), language)


def _set(
    services: Services, link: ZoomLink, interpretation: ZoomInterpretation, outcome: Outcome
) -> None:
    outcome.calls += 1
    services.zoom.set_interpretation(link.type, link.id, interpretation)


# -- speakers as panelists -----------------------------------------------------------------


def _panelists(
    services: Services,
    event: Event,
    session: Session,
    link: ZoomLink,
    record: dict[str, Any],
    outcome: Outcome,
) -> None:
    before = record.get(PANELISTS) or {}
    ours = {email.lower() for email in before.get("added", [])}
    speakers = {s.email.lower(): s for s in session.speakers}
    if not speakers and not ours:
        return

    def keep(state: str, **more: Any) -> None:
        _keep(
            services,
            event,
            session,
            link,
            PANELISTS,
            {"state": state, "added": sorted(ours), **more},
        )

    errors: list[str] = []
    try:
        outcome.calls += 1
        present = {p.email.lower(): p for p in services.zoom.panelists(link.id)}
        missing = [s for email, s in speakers.items() if email not in present]
        if missing:
            ours |= {s.email.lower() for s in missing}
            keep("adding")  # ours before Zoom has them: an answer lost is still ours
            for start in range(0, len(missing), PANELISTS_PER_CALL):
                chunk = missing[start : start + PANELISTS_PER_CALL]
                outcome.calls += 1
                services.zoom.add_panelists(
                    link.id, [{"name": s.name[:ZOOM_NAME_MAX], "email": s.email} for s in chunk]
                )
        for email, panelist in present.items():
            if email in ours and email not in speakers:
                try:
                    outcome.calls += 1
                    services.zoom.remove_panelist(link.id, panelist.panelist_id)
                    ours.discard(email)
                except ZoomFailure as failure:
                    if _transient(failure):
                        raise
                    errors.append(f"{email}: {failure.reason[:200]}")
        # Ours that are neither speakers nor panelists any more: nothing left to remove.
        ours &= set(speakers) | set(present)
    except ZoomFailure as failure:
        if _transient(failure):
            keep("retrying", reason=failure.reason[:300])
            raise _Again(failure) from None
        outcome.failed += 1
        keep("failed", errors=[*errors, failure.reason[:300]])
        return
    if errors:
        outcome.failed += 1
    keep("failed" if errors else "synced", speakers=sorted(speakers), errors=errors)


# -- what the organisers see ---------------------------------------------------------------


def status(services: Services, event: Event) -> dict[str, Any]:
    """Per session and Zoom room: where its interpretation and panelists stand, and every
    problem an organiser must solve in Zoom (``problems``, each said once)."""
    rooms = list(rooms_of(event))
    records = services.zoom_store.zoom_setup(event.id, [(s.id, link.key) for s, link in rooms])
    sessions: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for session, link in rooms:
        record = records.get((session.id, link.key), {})
        interpretation = _shown(record.get(INTERPRETATION))
        if session.interpretation is None and interpretation.get("state") != "off":
            interpretation = {"state": "none"}
        elif not interpretation:
            interpretation = {"state": "pending"}
        if link.type != "webinar":
            panelists: dict[str, Any] = {"state": "none"}  # a meeting has no panelists
        elif not session.speakers and not record.get(PANELISTS):
            panelists = {"state": "none"}
        else:
            panelists = _shown(record.get(PANELISTS)) or {"state": "pending"}
        for message in interpretation.get("problems", []):
            if message not in problems:
                problems.append(message)
        sessions.setdefault(session.id, {"rooms": {}})["rooms"][link.key] = {
            "interpretation": interpretation,
            "panelists": panelists,
        }
    return {"event_id": event.id, "sessions": sessions, "problems": problems}


def _shown(record: dict[str, Any] | None) -> dict[str, Any]:
    return dict(record) if record else {}
