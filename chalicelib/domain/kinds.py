"""The kinds of things Majlis keeps: every stored item says which it is (``kind``)."""

from __future__ import annotations

from enum import StrEnum


class ItemKind(StrEnum):
    """What an item of the table is (its ``kind``), as a table change names it. (Counters
    written by counting updates — statistics, the send rate, the newest Zoom event seen —
    carry none: nothing reads them from the stream.)

    The stream handler and the rules it drives (the outbox relay, statistics, the waiting
    list) tell table changes apart by these; how each item is keyed is the table
    schema's business (``adapters/dynamo/schema.py``).
    """

    EVENT = "event"
    SEATS = "seats"
    REGISTRATION = "registration"
    EMAIL_KEY = "email"
    SEND = "send"
    CAMPAIGN = "campaign"
    EXPORT = "export"
    TOKEN = "token"  # noqa: S105 - an organizer token's record
    AUDIT = "audit"
    STATS_MARK = "stats_mark"
    EVENT_INDEX = "event_index"
    ZOOM_SESSION = "zoom_session"
    ZOOM_REGISTRANT = "zoom_registrant"
    ZOOM_WEBHOOK = "zoom_webhook"
    ZOOM_FULL = "zoom_full"
    ZOOM_SETUP = "zoom_setup"
    ATTENDANCE_UNMATCHED = "attendance_unmatched"
    ORGANIZER = "organizer"  # who may sign in to the console, and their grants
    ORGANIZER_GRANT = "organizer_grant"  # an event's organiser (the event's list)
    SIGN_IN = "sign_in"  # a one-time sign-in link's record
    CONSOLE_SESSION = "console_session"  # a signed-in browser
    REDRIVE = "redrive"  # an operator's request to move dead letters back
    DRAFT_MAIL = "draft_mail"  # an announcement's draft an organiser sends to themself
