"""DynamoDB Streams records (Lambda's event format) as plain table changes."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamo.schema import image
from chalicelib.ports import Change


def changes_in(event: dict[str, Any]) -> list[Change]:
    changes = []
    for record in event.get("Records", []):
        data = record.get("dynamodb", {})
        changes.append(
            Change(
                sequence_number=data.get("SequenceNumber", ""),
                event_name=record.get("eventName", ""),
                old=image(data.get("OldImage", {})),
                new=image(data.get("NewImage", {})),
                record_id=record.get("eventID", ""),
            )
        )
    return changes
