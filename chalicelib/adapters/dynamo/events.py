"""Events: their settings, their seat counter (created once) and the index of events."""

from __future__ import annotations

from datetime import datetime

from botocore.exceptions import ClientError

from chalicelib.adapters.aws import error_code
from chalicelib.adapters.dynamo import schema
from chalicelib.adapters.dynamo.schema import to_attributes
from chalicelib.adapters.dynamo.table import Table
from chalicelib.domain.events import Event
from chalicelib.ports import EventStore


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

    def ids(self) -> list[str]:
        found = []
        for page in self.db.get_paginator("query").paginate(
            TableName=self.name, **schema.event_index_query()
        ):
            found += [item["sk"]["S"] for item in page["Items"]]
        return found
