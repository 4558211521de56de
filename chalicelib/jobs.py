"""Every message a queue carries: one pydantic model per kind of job.

Producers build these (the outbox relay from table changes, the campaign fan-out,
reconciliation, the zoom worker's dead letters); ``JobQueue.send`` writes them as JSON;
each queue's consumer parses its messages with :func:`parse` into the models its queue
may carry. A job carries ids, never personal data, and never the content of an email:
the worker reads the current state itself, so a job replayed later cannot send stale
content.

=====================  ====================  =======================================
queue                  job                   written by
=====================  ====================  =======================================
``majlis-mail``        ``registration_mail`` the outbox: a registration owed an email
``majlis-mail``        ``campaign_mail``     the fan-out: up to 50 recipients
``majlis-mail``        ``sign_in_mail``      the outbox: an organiser's sign-in link
``majlis-mail``        ``draft_mail``        the outbox: a draft an organiser sends to themself
``majlis-campaigns``   ``campaign_fanout``   the outbox: a new campaign (and its next steps)
``majlis-exports``     ``export``            the outbox: a new export
``majlis-exports``     ``redrive``           the outbox: an operator's request to redrive
``majlis-zoom``        ``zoom_sync``         the outbox, reconciliation
``majlis-zoom``        ``zoom_webhook``      the outbox: a webhook recorded on the request path
``majlis-zoom``        ``zoom_setup``        the outbox: an event saved (interpretation, speakers)
=====================  ====================  =======================================

A message that is not JSON, names no known kind, or lacks what its kind needs is
refused with :class:`JobRefused`, whose reason names the kind and the fields at fault
(never their values): it is delivered again until its queue gives it to its
dead-letter queue, where ``cli redrive --dry-run`` shows its kind.
"""

from __future__ import annotations

import functools
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError


class JobRefused(ValueError):
    """A message that is no job of its queue; ``reason`` says why, without its values."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Job(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The change or message that set the job off, to follow it through the logs.
    correlation_id: str | None = None

    def message(self) -> str:
        """The message body, as the queue carries it: JSON with every character beyond
        ASCII escaped (SQS refuses some, such as U+FFFF, that a name may hold)."""
        return json.dumps(self.model_dump(mode="json", exclude_none=True), separators=(",", ":"))


class RegistrationMail(_Job):
    """Send what a registration is owed at its ``mail_seq`` (confirmation, waiting-list
    note, updated calendar, cancellation)."""

    type: Literal["registration_mail"] = "registration_mail"
    registration_id: str
    seq: int


class SignInMail(_Job):
    """Email an organiser the one-time console link of this sign-in record."""

    type: Literal["sign_in_mail"] = "sign_in_mail"
    signin_id: str


class DraftMailJob(_Job):
    """Send an organiser the draft of an announcement they asked to see in their inbox."""

    type: Literal["draft_mail"] = "draft_mail"
    draft_id: str


class CampaignMail(_Job):
    """Send a campaign's email to each of these recipients, once each."""

    type: Literal["campaign_mail"] = "campaign_mail"
    campaign_id: str
    registration_ids: list[str]


class CampaignFanOut(_Job):
    """Queue a campaign's recipients from its checkpoint (again and again until done)."""

    type: Literal["campaign_fanout"] = "campaign_fanout"
    campaign_id: str


class Export(_Job):
    """Write an export's CSV file."""

    type: Literal["export"] = "export"
    export_id: str


class Redrive(_Job):
    """Move a dead-letter queue's messages back, as an operator asked in the console."""

    type: Literal["redrive"] = "redrive"
    redrive_id: str


class ZoomSync(_Job):
    """Make this registration's Zoom registrants what its sessions say."""

    type: Literal["zoom_sync"] = "zoom_sync"
    registration_id: str
    reason: str | None = None  # why Zoom refused it, once it is among the dead letters


class ZoomWebhook(_Job):
    """Apply one verified, recorded Zoom webhook (its raw body, as Zoom sent it)."""

    type: Literal["zoom_webhook"] = "zoom_webhook"
    body: str


class ZoomSetup(_Job):
    """Make the event's Zoom rooms what its sessions say: interpretation, and speakers
    as the panelists of its webinars."""

    type: Literal["zoom_setup"] = "zoom_setup"
    event_id: str


MailJob = Annotated[
    RegistrationMail | CampaignMail | SignInMail | DraftMailJob, Field(discriminator="type")
]
ZoomJob = Annotated[ZoomSync | ZoomWebhook | ZoomSetup, Field(discriminator="type")]
Job = (
    RegistrationMail
    | CampaignMail
    | SignInMail
    | DraftMailJob
    | CampaignFanOut
    | Export
    | Redrive
    | ZoomSync
    | ZoomWebhook
    | ZoomSetup
)

# What each queue carries (the queue's name, as infra/resources.yaml gives it).
QUEUES: dict[str, Any] = {
    "majlis-mail": MailJob,
    "majlis-announcements": CampaignMail,
    "majlis-campaigns": CampaignFanOut,
    "majlis-exports": Annotated[Export | Redrive, Field(discriminator="type")],
    "majlis-zoom": ZoomJob,
}


@functools.cache
def _reader(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def parse(kind: Any, body: str | dict[str, Any]) -> Any:
    """The job a message body holds, as one of ``kind`` (a model, or one of the unions
    above). Raises JobRefused."""
    try:
        document = json.loads(body) if isinstance(body, str) else body
    except ValueError:
        raise JobRefused("not JSON") from None
    if not isinstance(document, dict):
        raise JobRefused("not a JSON object")
    try:
        return _reader(kind).validate_python(document)
    except ValidationError as error:
        raise JobRefused(_why(document, error)) from None


def _why(document: dict[str, Any], error: ValidationError) -> str:
    """The kind and the fields at fault, never the values (they may name people)."""
    named = document.get("type")
    kind = named if isinstance(named, str) and named.isidentifier() else "?"
    faults = sorted(
        {
            f"{'.'.join(str(part) for part in item['loc']) or 'type'}: {item['type']}"
            for item in error.errors(include_url=False, include_input=False)
        }
    )
    return f"job {kind!r} refused ({'; '.join(faults)[:300]})"
