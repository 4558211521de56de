"""Organizer tokens: only their hashes, with their events, roles and expiry."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.aws import error_code
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

    def all(self) -> list[tuple[str, dict[str, Any]]]:
        found: list[tuple[str, dict[str, Any]]] = []
        query: dict[str, Any] = {
            "TableName": self.name,
            "IndexName": schema.TOKENS_INDEX,
            "KeyConditionExpression": "gsi1pk = :tokens",
            "ExpressionAttributeValues": to_attributes({":tokens": schema.ALL_TOKENS}),
        }
        while True:
            answer = self.db.query(**query)
            found += [schema.token_from(from_attributes(item)) for item in answer["Items"]]
            if "LastEvaluatedKey" not in answer:
                return found
            query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def delete(self, token_hash: str) -> bool:
        try:
            self.db.delete_item(
                TableName=self.name,
                Key=to_attributes(schema.token_key(token_hash)),
                ConditionExpression="attribute_exists(pk)",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True
