"""DynamoDB Streams records (Lambda's event format) as plain :class:`Change` objects."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamo import from_attributes
from chalicelib.usecases.outbox import Change


def changes_in(event: dict[str, Any]) -> list[Change]:
    changes = []
    for record in event.get("Records", []):
        data = record.get("dynamodb", {})
        changes.append(
            Change(
                sequence_number=data.get("SequenceNumber", ""),
                event_name=record.get("eventName", ""),
                old=from_attributes(data.get("OldImage", {})),
                new=from_attributes(data.get("NewImage", {})),
                event_id=record.get("eventID", ""),
            )
        )
    return changes
