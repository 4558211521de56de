"""The console's organisers, sign-in links, sessions and audit trail, on the table."""

from __future__ import annotations

from datetime import datetime

from botocore.exceptions import ClientError

from chalicelib.adapters.aws import error_code
from chalicelib.adapters.dynamo import schema
from chalicelib.adapters.dynamo.schema import from_attributes, to_attributes
from chalicelib.adapters.dynamo.table import Table
from chalicelib.domain.events import utc_text
from chalicelib.domain.ids import new_id
from chalicelib.domain.kinds import ItemKind
from chalicelib.domain.organizers import (
    AuditEntry,
    ConsoleSession,
    DraftMail,
    Organizer,
    Redrive,
    SignIn,
)
from chalicelib.ports import OrganizerStore


class DynamoOrganizerStore(Table, OrganizerStore):
    def grant(self, organizer: Organizer, event_id: str, role: str) -> None:
        self.db.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": self.name,
                        "Key": to_attributes(schema.organizer_key_of(organizer.key)),
                        "UpdateExpression": "SET #kind = :kind, email = :email, "
                        "#language = if_not_exists(#language, :language), #grant = :role",
                        "ExpressionAttributeNames": {
                            "#kind": "kind",
                            "#language": "language",
                            "#grant": schema.grant_attribute(event_id),
                        },
                        "ExpressionAttributeValues": to_attributes(
                            {
                                ":kind": ItemKind.ORGANIZER,
                                ":email": organizer.email,
                                ":language": organizer.language,
                                ":role": role,
                            }
                        ),
                    }
                },
                {
                    "Put": {
                        "TableName": self.name,
                        "Item": to_attributes(
                            schema.organizer_grant_item(
                                event_id, organizer.key, organizer.email, role
                            )
                        ),
                    }
                },
            ]
        )

    def revoke(self, organizer_key: str, event_id: str) -> bool:
        try:
            self.db.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self.name,
                            "Key": to_attributes(
                                schema.organizer_grant_key(event_id, organizer_key)
                            ),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.name,
                            "Key": to_attributes(schema.organizer_key_of(organizer_key)),
                            "UpdateExpression": "REMOVE #grant",
                            "ExpressionAttributeNames": {
                                "#grant": schema.grant_attribute(event_id)
                            },
                        }
                    },
                ]
            )
        except ClientError as error:
            if error_code(error) == "TransactionCanceledException":
                return False
            raise
        return True

    def organizer(self, organizer_key: str) -> Organizer | None:
        item = self.db.get_item(
            TableName=self.name,
            Key=to_attributes(schema.organizer_key_of(organizer_key)),
            ConsistentRead=True,
        ).get("Item")
        return schema.read_organizer(from_attributes(item)) if item else None

    def set_language(self, organizer_key: str, language: str) -> None:
        try:
            self.db.update_item(
                TableName=self.name,
                Key=to_attributes(schema.organizer_key_of(organizer_key)),
                UpdateExpression="SET #language = :language",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#language": "language"},
                ExpressionAttributeValues=to_attributes({":language": language}),
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise

    def organizers_of(self, event_id: str) -> list[tuple[str, str, str]]:
        found: list[tuple[str, str, str]] = []
        start: dict | None = None
        while True:
            page = self.db.query(
                TableName=self.name,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues=to_attributes({":pk": schema.event_organizers(event_id)}),
                **({"ExclusiveStartKey": start} if start else {}),
            )
            found += [schema.read_grant(from_attributes(item)) for item in page.get("Items", [])]
            start = page.get("LastEvaluatedKey")
            if not start:
                return found

    def start_sign_in(self, sign_in: SignIn) -> None:
        self.db.put_item(
            TableName=self.name,
            Item=to_attributes(schema.sign_in_item(sign_in)),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def sign_in(self, signin_id: str) -> SignIn | None:
        item = self.db.get_item(
            TableName=self.name,
            Key=to_attributes(schema.sign_in_key(signin_id)),
            ConsistentRead=True,
        ).get("Item")
        return schema.read_sign_in(from_attributes(item)) if item else None

    def sign_in_mailed(self, signin_id: str, now: datetime) -> None:
        try:
            self.db.update_item(
                TableName=self.name,
                Key=to_attributes(schema.sign_in_key(signin_id)),
                UpdateExpression="SET mailed_at = :now",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=to_attributes({":now": utc_text(now)}),
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise

    def use_sign_in(self, signin_id: str, now: datetime) -> SignIn | None:
        try:
            answer = self.db.delete_item(
                TableName=self.name,
                Key=to_attributes(schema.sign_in_key(signin_id)),
                ConditionExpression="attribute_exists(pk) AND expires_at > :now",
                ExpressionAttributeValues=to_attributes({":now": utc_text(now)}),
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return schema.read_sign_in(from_attributes(answer["Attributes"]))

    def open_session(self, session: ConsoleSession) -> None:
        self.db.put_item(
            TableName=self.name,
            Item=to_attributes(schema.console_session_item(session)),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def session(
        self, session_hash: str, organizer_key: str
    ) -> tuple[ConsoleSession, Organizer] | None:
        keys = [
            schema.console_session_key(session_hash),
            schema.organizer_key_of(organizer_key),
        ]
        request = {
            self.name: {"Keys": [to_attributes(key) for key in keys], "ConsistentRead": True}
        }
        found: dict[str, dict] = {}  # kind -> item
        for _ in range(3):  # unprocessed keys (throttling): asked again, briefly
            answer = self.db.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(self.name, []):
                values = from_attributes(item)
                found[str(values.get("kind"))] = values
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
        session_item = found.get(ItemKind.CONSOLE_SESSION)
        organizer_item = found.get(ItemKind.ORGANIZER)
        if not session_item or not organizer_item:
            return None
        session = schema.read_console_session(session_item)
        if session.organizer_key != organizer_key:
            return None
        return session, schema.read_organizer(organizer_item)

    def close_session(self, session_hash: str) -> None:
        self.db.delete_item(
            TableName=self.name, Key=to_attributes(schema.console_session_key(session_hash))
        )

    def request_redrive(self, redrive: Redrive) -> None:
        self.db.put_item(TableName=self.name, Item=to_attributes(schema.redrive_item(redrive)))

    def redrive_done(self, redrive: Redrive, moved: int | None, failed: str | None) -> None:
        values: dict[str, object] = {":moved": moved if moved is not None else 0}
        expression = "SET moved = :moved"
        if failed:
            values[":failed"] = failed[:300]
            expression += ", failed = :failed"
        self.db.update_item(
            TableName=self.name,
            Key=to_attributes(schema.redrive_key(redrive.redrive_id, redrive.requested_at)),
            UpdateExpression=expression,
            ExpressionAttributeValues=to_attributes(values),
        )

    def redrives(self, most: int) -> list[Redrive]:
        page = self.db.query(
            TableName=self.name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_attributes({":pk": schema.REDRIVES}),
            ScanIndexForward=False,
            Limit=most,
        )
        return [schema.read_redrive(from_attributes(item)) for item in page.get("Items", [])]

    def keep_draft(self, draft: DraftMail) -> None:
        self.db.put_item(TableName=self.name, Item=to_attributes(schema.draft_item(draft)))

    def draft(self, draft_id: str) -> DraftMail | None:
        item = self.db.get_item(
            TableName=self.name, Key=to_attributes(schema.draft_key(draft_id))
        ).get("Item")
        return schema.read_draft(from_attributes(item)) if item else None

    def audit(self, event_id: str, entry: AuditEntry) -> None:
        self.db.put_item(
            TableName=self.name,
            Item=to_attributes(schema.console_audit_item(event_id, entry, new_id())),
        )

    def audit_trail(self, event_id: str, most: int) -> list[AuditEntry]:
        page = self.db.query(
            TableName=self.name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_attributes({":pk": schema.event_audit(event_id)}),
            ScanIndexForward=False,
            Limit=most,
        )
        return [schema.read_audit(from_attributes(item)) for item in page.get("Items", [])]
