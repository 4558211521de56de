"""Rate-limit counters in their own small table (``majlis-limits``).

One item per limit, window and address, counted by one conditional update (on its own,
or as one more item of the registration's transaction) and expired by TTL after its
window. The table has no stream, so counting requests costs the
main table's stream (and the Lambda behind it) nothing. Items hold a hash of the address,
not the address.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.adapters.aws import client, error_code
from chalicelib.adapters.dynamo import schema
from chalicelib.logs import logger
from chalicelib.ports import Counted, RateLimiter


def counter_update(table_name: str, counted: Counted) -> dict[str, Any]:
    """The conditional update that counts one request, refused once the window is full."""
    limit = counted.limit
    start, _ = limit.window(counted.now)
    return {
        "TableName": table_name,
        "Key": schema.limit_counter_key(counted),
        "UpdateExpression": f"ADD hits :one SET {schema.TTL} = :expires",
        "ConditionExpression": "attribute_not_exists(hits) OR hits < :limit",
        "ExpressionAttributeValues": {
            ":one": {"N": "1"},
            ":limit": {"N": str(limit.requests)},
            ":expires": {"N": str(start + 2 * limit.window_seconds)},
        },
    }


class DynamoRateLimiter(RateLimiter):
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    def admit(self, counted: Counted) -> bool:
        try:
            client("dynamodb").update_item(**counter_update(self._table_name, counted))
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            logger.warning("rate limit not counted", extra={"code": error_code(error)})
        except BotoCoreError as error:
            logger.warning("rate limit not counted", extra={"error": type(error).__name__})
        return True
