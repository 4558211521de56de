"""What SES says about each email it took: the events its configuration set publishes.

SES publishes a Send event for every email it accepts and then a Delivery, a Bounce
or a Complaint, to the SNS topic of the configuration set's event destination; the
topic delivers them to the SES events queue, which feeds ``on_ses_event``. The
rehearsal plays SES's side: an address the crowd holds as bouncing gets a Bounce,
every other a Delivery, and a complaint when its recipient makes one.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

from infra.local.provision import ACCOUNT_ID


def event(kind: str, sent: Any, at: datetime) -> dict[str, Any]:
    """An SES event (``Send``, ``Delivery``, ``Bounce``, ``Complaint``) for a sent email,
    as the configuration set publishes it."""
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    document: dict[str, Any] = {
        "eventType": kind,
        "mail": {
            "timestamp": stamp,
            "source": sent.source,
            "sendingAccountId": ACCOUNT_ID,
            "messageId": sent.message_id,
            "destination": [sent.recipient],
            "tags": {name: [value] for name, value in sent.tags.items()}
            | {"ses:configuration-set": [sent.configuration_set or ""]},
        },
    }
    if kind == "Send":
        document["send"] = {}
    elif kind == "Delivery":
        document["delivery"] = {
            "timestamp": stamp,
            "processingTimeMillis": 812,
            "recipients": [sent.recipient],
            "smtpResponse": "250 2.6.0 Message received",
        }
    elif kind == "Bounce":
        document["bounce"] = {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {"emailAddress": sent.recipient, "action": "failed", "status": "5.1.1"}
            ],
            "timestamp": stamp,
            "feedbackId": secrets.token_hex(16),
        }
    elif kind == "Complaint":
        document["complaint"] = {
            "complainedRecipients": [{"emailAddress": sent.recipient}],
            "timestamp": stamp,
            "feedbackId": secrets.token_hex(16),
            "complaintFeedbackType": "abuse",
        }
    return document


class Feedback:
    """Publishes the events of every email SES took, once each, with SES's say-so."""

    def __init__(self, sns: Any, topic_arn: str, configuration_set: str) -> None:
        self.sns = sns
        self.topic_arn = topic_arn
        self.configuration_set = configuration_set
        self.bouncing: set[str] = set()  # addresses whose mailbox does not exist
        self.published: dict[str, int] = {}
        self._done: set[str] = set()

    def _publish(self, kind: str, mail: Any, at: datetime) -> None:
        self.sns.publish(TopicArn=self.topic_arn, Message=json.dumps(event(kind, mail, at)))
        self.published[kind] = self.published.get(kind, 0) + 1

    def complain(self, mail: Any, at: datetime) -> None:
        """The recipient marked ``mail`` as spam: their provider tells SES."""
        self._publish("Complaint", mail, at)

    @property
    def seen(self) -> int:
        """How many of SES's emails, oldest first, :meth:`publish` has been given."""
        return len(self._done)

    def publish(self, sent: list[Any], at: datetime) -> int:
        """Every new email's Send and its outcome; how many events were published."""
        count = 0
        for mail in sent:
            if mail.message_id in self._done:
                continue
            self._done.add(mail.message_id)
            if mail.configuration_set != self.configuration_set:
                continue  # SES publishes the events of an email sent with the set only
            outcome = "Bounce" if mail.recipient.lower() in self.bouncing else "Delivery"
            for kind in ("Send", outcome):
                self._publish(kind, mail, at)
                count += 1
        return count
