"""Events: their settings, their seat counter (created once) and the index of events."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.adapters.aws import error_code
from chalicelib.adapters.dynamo import schema
from chalicelib.adapters.dynamo.schema import to_attributes
from chalicelib.adapters.dynamo.table import THROTTLED, Table, reasons
from chalicelib.domain.events import Event
from chalicelib.ports import EventStore, StoreBusy

if TYPE_CHECKING:
    from chalicelib.domain.campaigns import Campaign


class DynamoEventStore(Table, EventStore):
    def get(self, event_id: str, fresh: bool = False) -> Event | None:
        item = self.db.get_item(
            TableName=self.name, Key=to_attributes(schema.event_key(event_id))
        ).get("Item")
        return schema.event_from(item) if item else None

    def put(self, event: Event, now: datetime) -> bool:
        response = self.db.put_item(
            TableName=self.name,
            Item=to_attributes(schema.event_item(event, now)),
            ReturnValues="ALL_OLD",
        )
        try:
            self.db.put_item(
                TableName=self.name,
                Item=to_attributes(schema.seats_item(event.id)),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
        self.db.put_item(TableName=self.name, Item=to_attributes(schema.event_index_item(event.id)))
        return "Attributes" not in response

    def save(
        self, event: Event, expected: int | None, notice: Campaign | None, now: datetime
    ) -> bool:
        settings: dict[str, Any] = {
            "TableName": self.name,
            "Item": to_attributes(schema.event_item(event, now)),
        }
        if expected is None:
            settings["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            # An event stored before revisions were kept has none: it is at revision 0.
            settings["ConditionExpression"] = (
                "revision = :expected"
                if expected
                else "attribute_not_exists(revision) OR revision = :expected"
            )
            settings["ExpressionAttributeValues"] = {":expected": {"N": str(expected)}}
        items: list[dict[str, Any]] = [{"Put": settings}]
        if expected is None:
            items.append(
                {
                    "Put": {
                        "TableName": self.name,
                        "Item": to_attributes(schema.seats_item(event.id)),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
            items.append(
                {
                    "Put": {
                        "TableName": self.name,
                        "Item": to_attributes(schema.event_index_item(event.id)),
                    }
                }
            )
        if notice is not None:
            items.append(
                {
                    "Put": {
                        "TableName": self.name,
                        "Item": to_attributes(schema.campaign_item(notice)),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        try:
            self.db.transact_write_items(TransactItems=items)
        except ClientError as error:
            code = error_code(error)
            if code in THROTTLED:
                raise StoreBusy() from error
            if code != "TransactionCanceledException":
                raise
            codes = [r.get("Code") for r in reasons(error)]
            if codes and codes[0] == "ConditionalCheckFailed":
                return False
            if "TransactionConflict" in codes:
                return False  # another save at the same moment: read it again
            if "ThrottlingError" in codes:
                raise StoreBusy() from error
            raise
        return True

    def ids(self) -> list[str]:
        found = []
        for page in self.db.get_paginator("query").paginate(
            TableName=self.name, **schema.event_index_query()
        ):
            found += schema.indexed_ids(page["Items"])
        return found
