"""The send log: one record per email owed, claimed before the SES call and completed
after it (with the SES message id, indexed for bounces and complaints)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.aws import error_code
from chalicelib.adapters.dynamo import schema
from chalicelib.adapters.dynamo.schema import from_attributes, to_attributes
from chalicelib.adapters.dynamo.table import Table
from chalicelib.ports import EmailRef, SendClaim, SendLog


class DynamoSendLog(Table, SendLog):
    def __init__(self, name: str, lease_seconds: int) -> None:
        super().__init__(name)
        self._lease = timedelta(seconds=lease_seconds)

    def claim(
        self, registration_id: str, email: EmailRef, kind: str, now: datetime, event_id: str = ""
    ) -> SendClaim:
        try:
            self.db.put_item(
                TableName=self.name,
                Item=to_attributes(
                    schema.send_claim_item(
                        registration_id, email, kind, event_id, now, now + self._lease
                    )
                ),
                ConditionExpression=(
                    "attribute_not_exists(pk) OR (#state = :sending AND lease_until < :now)"
                ),
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=to_attributes({":sending": "sending", ":now": now}),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return SendClaim(proceed=True)
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            old = from_attributes(error.response.get("Item") or {})
            return SendClaim(proceed=False, in_progress=old.get("state") == "sending")

    def sent(self, registration_id: str, email: EmailRef, message_id: str, now: datetime) -> None:
        self.db.update_item(
            TableName=self.name,
            Key=to_attributes(schema.send_key(registration_id, email)),
            UpdateExpression=(
                "SET #state = :sent, ses_message_id = :id, gsi2pk = :msg, sent_at = :now "
                "REMOVE lease_until"
            ),
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=to_attributes(
                {
                    ":sent": "sent",
                    ":id": message_id,
                    ":msg": schema.ses_message(message_id),
                    ":now": now,
                }
            ),
        )

    def failed(self, registration_id: str, email: EmailRef, reason: str, now: datetime) -> None:
        self.db.update_item(
            TableName=self.name,
            Key=to_attributes(schema.send_key(registration_id, email)),
            UpdateExpression="SET #state = :failed, reason = :reason, failed_at = :now "
            "REMOVE lease_until",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=to_attributes(
                {":failed": "failed", ":reason": reason[:500], ":now": now}
            ),
        )

    def _record_of(self, message_id: str) -> dict[str, Any] | None:
        found = self.db.query(
            TableName=self.name,
            IndexName=schema.SES_MESSAGE_INDEX,
            KeyConditionExpression="gsi2pk = :message",
            ExpressionAttributeValues={":message": {"S": schema.ses_message(message_id)}},
            Limit=1,
        ).get("Items", [])
        return found[0] if found else None

    def registration_for(self, message_id: str) -> str | None:
        record = self._record_of(message_id)
        return schema.registration_of_record(record) if record else None

    def confirm(
        self, registration_id: str, email: EmailRef, message_id: str, now: datetime
    ) -> None:
        try:
            self.db.update_item(
                TableName=self.name,
                Key=to_attributes(schema.send_key(registration_id, email)),
                UpdateExpression=(
                    "SET #state = :sent, ses_message_id = :id, gsi2pk = :msg, sent_at = :now "
                    "REMOVE lease_until"
                ),
                ConditionExpression="#state = :sending",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=to_attributes(
                    {
                        ":sent": "sent",
                        ":sending": "sending",
                        ":id": message_id,
                        ":msg": schema.ses_message(message_id),
                        ":now": now,
                    }
                ),
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise

    def not_sent(
        self, registration_id: str, email: EmailRef, event_id: str, state: str, now: datetime
    ) -> None:
        try:
            self.db.put_item(
                TableName=self.name,
                Item=to_attributes(
                    schema.send_decided_item(registration_id, email, event_id, state, now)
                ),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise

    def outcome(self, message_id: str, outcome: str, now: datetime) -> str | None:
        record = self._record_of(message_id)
        if record is None:
            return None
        self.db.update_item(
            TableName=self.name,
            Key=schema.key_of(record),
            UpdateExpression="SET #outcome = :yes, #at = if_not_exists(#at, :now)",
            ExpressionAttributeNames={"#outcome": outcome, "#at": f"{outcome}_at"},
            ExpressionAttributeValues=to_attributes({":yes": True, ":now": now}),
        )
        return schema.registration_of_record(record)

    def release(self, registration_id: str, email: EmailRef) -> None:
        try:
            self.db.delete_item(
                TableName=self.name,
                Key=to_attributes(schema.send_key(registration_id, email)),
                ConditionExpression="#state = :sending",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":sending": {"S": "sending"}},
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
