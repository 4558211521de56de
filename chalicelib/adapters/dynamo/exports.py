"""Export records: a running or finished export of an event's registrations."""

from __future__ import annotations

from datetime import datetime

from chalicelib.adapters.dynamo import schema
from chalicelib.adapters.dynamo.schema import to_attributes
from chalicelib.adapters.dynamo.table import Table
from chalicelib.domain.ids import is_id
from chalicelib.ports import Export, ExportStore


class DynamoExportStore(Table, ExportStore):
    def create(self, export: Export, now: datetime) -> None:
        self.db.put_item(
            TableName=self.name,
            Item=to_attributes(schema.export_item(export, now)),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get(self, export_id: str) -> Export | None:
        if not is_id(export_id):
            return None
        item = self.db.get_item(
            TableName=self.name,
            Key=to_attributes(schema.export_key(export_id)),
            ConsistentRead=True,
        ).get("Item")
        return schema.export_from(item) if item else None

    def finish(self, export_id: str, rows: int, key: str, now: datetime) -> None:
        self.db.update_item(
            TableName=self.name,
            Key=to_attributes(schema.export_key(export_id)),
            UpdateExpression=(
                "SET #status = :done, #rows = :rows, object_key = :key, done_at = :now"
            ),
            ExpressionAttributeNames={"#status": "status", "#rows": "rows"},
            ExpressionAttributeValues=to_attributes(
                {":done": "done", ":rows": rows, ":key": key, ":now": now}
            ),
        )

    def fail(self, export_id: str, reason: str, now: datetime) -> None:
        self.db.update_item(
            TableName=self.name,
            Key=to_attributes(schema.export_key(export_id)),
            UpdateExpression="SET #status = :failed, reason = :reason, done_at = :now",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=to_attributes(
                {":failed": "failed", ":reason": reason[:300], ":now": now}
            ),
        )
