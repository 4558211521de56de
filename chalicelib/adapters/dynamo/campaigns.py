"""Campaigns (announcements and reminders): what to send to whom, the fan-out's
checkpoint and status."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.adapters.aws import error_code
from chalicelib.adapters.dynamo import schema
from chalicelib.adapters.dynamo.schema import to_attributes
from chalicelib.adapters.dynamo.table import Table
from chalicelib.domain.ids import is_id
from chalicelib.ports import CampaignStore

if TYPE_CHECKING:
    from chalicelib.domain.campaigns import Campaign, CampaignStatus


class DynamoCampaignStore(Table, CampaignStore):
    def of_event(self, event_id: str, most: int) -> list[Campaign]:
        answer = self.db.query(
            TableName=self.name,
            IndexName=schema.EVENT_CAMPAIGNS_INDEX,
            KeyConditionExpression="gsi1pk = :event",
            ExpressionAttributeValues=to_attributes({":event": schema.event_campaigns(event_id)}),
            ScanIndexForward=False,
            Limit=most,
        )
        return [schema.campaign_from(item) for item in answer.get("Items", [])]

    def create(self, campaign: Campaign) -> bool:
        try:
            self.db.put_item(
                TableName=self.name,
                Item=to_attributes(schema.campaign_item(campaign)),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get(self, campaign_id: str) -> Campaign | None:
        if not is_id(campaign_id):
            return None
        item = self.db.get_item(
            TableName=self.name,
            Key=to_attributes(schema.campaign_key(campaign_id)),
            ConsistentRead=True,
        ).get("Item")
        return schema.campaign_from(item) if item else None

    def advance(
        self, campaign_id: str, after: str | None, cursor: str | None, counts: dict[str, int]
    ) -> bool:
        from chalicelib.domain.campaigns import CampaignStatus  # not on a registration's path

        names = {"#status": "status", "#cursor": "cursor"}
        values: dict[str, Any] = {
            ":sending": CampaignStatus.SENDING,
            ":scheduled": CampaignStatus.SCHEDULED,
            ":done": cursor is None,
        }
        sets = ["#status = :sending", "fanned_out = :done"]
        if cursor is None:
            removes = " REMOVE #cursor"
        else:
            sets.append("#cursor = :cursor")
            values[":cursor"] = cursor
            removes = ""
        adds = []
        for index, (name, count) in enumerate(counts.items()):
            names[f"#n{index}"] = name
            values[f":n{index}"] = count
            adds.append(f"#n{index} :n{index}")
        if after is None:
            condition = "attribute_not_exists(#cursor)"
        else:
            condition = "#cursor = :after"
            values[":after"] = after
        try:
            self.db.update_item(
                TableName=self.name,
                Key=to_attributes(schema.campaign_key(campaign_id)),
                UpdateExpression="SET "
                + ", ".join(sets)
                + (" ADD " + ", ".join(adds) if adds else "")
                + removes,
                ConditionExpression=f"{condition} AND fanned_out = :false "
                "AND #status IN (:scheduled, :sending)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_attributes({**values, ":false": False}),
            )
            return True
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise

    def set_status(
        self,
        campaign_id: str,
        status: CampaignStatus,
        reason: str | None,
        only_from: tuple[CampaignStatus, ...],
    ) -> Campaign | None:
        allowed = {f":from{i}": value for i, value in enumerate(only_from)}
        try:
            item = self.db.update_item(
                TableName=self.name,
                Key=to_attributes(schema.campaign_key(campaign_id)),
                UpdateExpression="SET #status = :status, reason = :reason",
                ConditionExpression=f"#status IN ({', '.join(allowed)})",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_attributes(
                    {":status": status, ":reason": reason or "", **allowed}
                ),
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return schema.campaign_from(item)

    def note(self, campaign_id: str, reason: str | None) -> None:
        self.db.update_item(
            TableName=self.name,
            Key=to_attributes(schema.campaign_key(campaign_id)),
            UpdateExpression="SET reason = :reason",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=to_attributes({":reason": reason or ""}),
        )
