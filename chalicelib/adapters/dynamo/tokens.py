"""Organizer tokens: only their hashes, with their events, roles and expiry."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamo import schema
from chalicelib.adapters.dynamo.schema import from_attributes, to_attributes
from chalicelib.adapters.dynamo.table import Table
from chalicelib.ports import TokenStore


class DynamoTokenStore(Table, TokenStore):
    def put(self, token_hash: str, record: dict[str, Any]) -> None:
        self.db.put_item(
            TableName=self.name, Item=to_attributes(schema.token_item(token_hash, record))
        )

    def get(self, token_hash: str) -> dict[str, Any] | None:
        item = self.db.get_item(
            TableName=self.name, Key=to_attributes(schema.token_key(token_hash))
        ).get("Item")
        return from_attributes(item) if item else None
