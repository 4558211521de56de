"""One send rate for every mail worker: numbered slots per second, in DynamoDB.

SES's ``MaxSendRate`` is for the whole account, however many workers send. Each second
has one item (its key in ``schema.py``) whose ``used`` counter hands out that
second's slots in order: a worker reserving ``n`` slots gets positions ``used …
used + n - 1`` and sends the i-th of them at ``second + position / rate``. Sends are
spread evenly over each second for all workers together, so the account never bursts
above its rate; a worker finding a second full moves on to the next. Reserving several
slots at a time keeps the cost to a fraction of a DynamoDB write per email.

Transactional mail (confirmations, notices, reminders) comes first: announcements take
only slots due within a second (``ports.BULK_LOOK_AHEAD``), while transactional mail
reserves up to two minutes ahead. However large a campaign, a confirmation finds a
slot a second from now, and a burst of confirmations holds the slots it reserved
against announcements; alone, either uses the whole rate, and together they never
exceed it. (A shorter look-ahead would make announcements' workers find no turn too
often: each such job comes back after 5 s.)

Why not the SQS event source's maximum concurrency alone: it bounds how many workers
run, not how fast each sends, and the right number of workers depends on SES's latency
as much as on the rate; the shared counter is exact at any concurrency.
"""

from __future__ import annotations

import math

from botocore.exceptions import ClientError

from chalicelib.adapters.aws import error_code
from chalicelib.adapters.dynamo import schema
from chalicelib.adapters.dynamo.schema import from_attributes, to_attributes
from chalicelib.adapters.dynamo.table import Table
from chalicelib.ports import BULK_LOOK_AHEAD, LATE_OK, SendPacer, StoreBusy, slots_until

LOOK_AHEAD = 120  # seconds a worker may reserve ahead before giving up for now


class DynamoSendPacer(Table, SendPacer):
    def reserve(self, wanted: int, rate: int, now: float, bulk: bool = False) -> list[float]:
        rate = max(1, rate)
        # Announcements take turns due within BULK_LOOK_AHEAD of now only: every turn
        # beyond is for transactional mail first.
        horizon = now + (BULK_LOOK_AHEAD if bulk else LOOK_AHEAD)
        second = int(now)
        for _ in range(LOOK_AHEAD * 4):
            if second > horizon:
                break
            # The first worker in a second starts at the slot due now (give or take
            # LATE_OK), not at 0: slots long past would all go out at once.
            start = (
                max(0, math.ceil(round((now - LATE_OK - second) * rate, 6))) if second <= now else 0
            )
            room = slots_until(horizon, second, rate)
            if start >= room:
                second += 1
                continue
            count = min(wanted, room - start)
            try:
                new = self.db.update_item(
                    TableName=self.name,
                    Key=schema.send_rate_key(second),
                    UpdateExpression="SET used = if_not_exists(used, :start) + :n, "
                    f"{schema.TTL} = :expires",
                    # Never a slot already past: those would go out together, late.
                    ConditionExpression="attribute_not_exists(used) "
                    "OR (used <= :room AND used >= :start)",
                    ExpressionAttributeValues=to_attributes(
                        {
                            ":start": start,
                            ":n": count,
                            ":room": room - count,
                            ":expires": schema.send_rate_expiry(second),
                        }
                    ),
                    ReturnValues="UPDATED_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )["Attributes"]
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise
                used = int(from_attributes(error.response.get("Item") or {}).get("used", rate))
                if used < start:
                    self._skip_past(second, used, start)  # then reserve again
                elif used < room:
                    wanted = min(wanted, room - used)  # fewer are left: take those
                else:
                    second += 1
                continue
            end = int(from_attributes(new)["used"])
            return [second + position / rate for position in range(end - count, end)]
        if bulk:
            return []  # transactional mail has the coming seconds: try again shortly
        raise StoreBusy()

    def _skip_past(self, second: int, used: int, start: int) -> None:
        """Move the second's counter past the slots that are already gone."""
        try:
            self.db.update_item(
                TableName=self.name,
                Key=schema.send_rate_key(second),
                UpdateExpression="SET used = :start",
                ConditionExpression="used = :used",
                ExpressionAttributeValues=to_attributes({":start": start, ":used": used}),
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
