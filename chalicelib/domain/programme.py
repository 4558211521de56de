"""Changes to an event's programme, as its registrants must hear of them.

When organisers save an event again, :func:`diff` compares the programme before and
after, session by session: a session moved (its start or end), retitled, given another
join URL, cancelled (or scheduled again), added or removed. Only these are material: a
new capacity, sender or reminder offset tells nobody anything.

Who hears of a change: everyone active (registered or waiting) who holds a changed
session; for an added session, everyone active, since it is a new choice for all.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict

from chalicelib.domain.events import Event, Session
from chalicelib.domain.ids import derived_id


class ChangeKind(StrEnum):
    MOVED = "moved"  # its start or end changed
    RETITLED = "retitled"
    RELINKED = "relinked"  # another join URL or Zoom meeting: the join links still work
    CANCELLED = "cancelled"
    RESTORED = "restored"  # scheduled again after being cancelled
    ADDED = "added"
    REMOVED = "removed"


class SessionState(BaseModel):
    """What a registrant is told of a session, before or after a change."""

    model_config = ConfigDict(frozen=True)

    title: dict[str, str]
    starts_at: datetime
    ends_at: datetime

    @classmethod
    def of(cls, session: Session) -> SessionState:
        return cls(title=dict(session.title), starts_at=session.starts_at, ends_at=session.ends_at)

    def title_in(self, language: str, default_language: str) -> str:
        return self.title.get(language) or self.title[default_language]


class SessionChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    session_id: str
    kinds: list[ChangeKind]
    before: SessionState | None = None  # None for an added session
    after: SessionState | None = None  # None for a removed session

    @property
    def gone(self) -> bool:
        """The session no longer takes place: its calendar entries are cancelled."""
        return ChangeKind.CANCELLED in self.kinds or ChangeKind.REMOVED in self.kinds

    def has(self, kind: ChangeKind) -> bool:
        return kind in self.kinds


class ProgrammeChange(BaseModel):
    """One saved change of an event's programme: every session it touched."""

    model_config = ConfigDict(frozen=True)

    revision: int  # the event's revision that this change produced
    sessions: list[SessionChange]
    # Who registers after this moment was confirmed with the changed programme: the
    # change was saved before it by more than any container keeps the event cached.
    told_until: AwareDatetime | None = None

    @property
    def affected(self) -> list[str]:
        """The sessions whose registrants hear of it (not the added ones: nobody holds
        them yet)."""
        return [c.session_id for c in self.sessions if not c.has(ChangeKind.ADDED)]

    @property
    def adds_sessions(self) -> bool:
        return any(c.has(ChangeKind.ADDED) for c in self.sessions)

    def for_sessions(self, held: list[str]) -> list[SessionChange]:
        """The changes one registrant is told of: those of the sessions they hold, and
        every session added (a new choice for them)."""
        return [c for c in self.sessions if c.session_id in held or c.has(ChangeKind.ADDED)]


def notice_id(event_id: str, revision: int) -> str:
    """The campaign that tells registrants of the change an event's revision made: one
    per revision, however often the PUT that made it was sent."""
    return derived_id(f"{event_id}|programme|{revision}")


def _kinds(before: Session, after: Session) -> list[ChangeKind]:
    kinds = []
    if (before.starts_at, before.ends_at) != (after.starts_at, after.ends_at):
        kinds.append(ChangeKind.MOVED)
    if before.title != after.title:
        kinds.append(ChangeKind.RETITLED)
    if (before.join_url, before.zoom) != (after.join_url, after.zoom):
        kinds.append(ChangeKind.RELINKED)
    if not before.cancelled and after.cancelled:
        kinds.append(ChangeKind.CANCELLED)
    if before.cancelled and not after.cancelled:
        kinds.append(ChangeKind.RESTORED)
    return kinds


def diff(before: Event, after: Event) -> list[SessionChange]:
    """What changed in the programme, session by session, in the new event's order (the
    removed ones last). Empty: nothing anyone must be told."""
    changes = []
    for session in after.sessions:
        old = before.session(session.id)
        if old is None and session.cancelled:
            continue  # added as cancelled: nobody can choose it
        if old is None:
            changes.append(
                SessionChange(
                    session_id=session.id,
                    kinds=[ChangeKind.ADDED],
                    after=SessionState.of(session),
                )
            )
            continue
        kinds = _kinds(old, session)
        if old.cancelled and session.cancelled:
            kinds = []  # a cancelled session edited: nobody holds it any more
        if kinds:
            changes.append(
                SessionChange(
                    session_id=session.id,
                    kinds=kinds,
                    before=SessionState.of(old),
                    after=SessionState.of(session),
                )
            )
    for old in before.sessions:
        if after.session(old.id) is None and not old.cancelled:
            changes.append(
                SessionChange(
                    session_id=old.id, kinds=[ChangeKind.REMOVED], before=SessionState.of(old)
                )
            )
    return changes
