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
    def __init__(self, name: str) -> None:
        super().__init__(name)
        # Whether the last reservation found its second's counter behind the slot due
        # now (sending slower than the rate): then that way is tried first, and a
        # reservation is one write at any pace.
        self._behind = False
        # The last second found full: a full second never has room again.
        self._full_up_to = 0

    def reserve(self, wanted: int, rate: int, now: float, bulk: bool = False) -> list[float]:
        rate = max(1, rate)
        # Announcements take turns due within BULK_LOOK_AHEAD of now only: every turn
        # beyond is for transactional mail first.
        horizon = now + (BULK_LOOK_AHEAD if bulk else LOOK_AHEAD)
        second = max(int(now), self._full_up_to + 1)
        behind = self._behind
        for _ in range(LOOK_AHEAD * 4):
            if second > horizon:
                break
            # The first worker in a second starts at the slot due now (give or take
            # LATE_OK), not at 0: slots long past would all go out at once.
            start = (
                max(0, math.ceil(round((now - LATE_OK - second) * rate, 3))) if second <= now else 0
            )
            room = slots_until(horizon, second, rate)
            if start >= room:
                second, behind = second + 1, False
                continue
            count = min(wanted, room - start)
            try:
                end = self._take(second, start, count, room, behind)
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise
                used = int(from_attributes(error.response.get("Item") or {}).get("used", rate))
                if used < start:
                    behind = True  # slots long past are skipped: take from the one due now
                elif used < room:
                    behind = False
                    wanted = min(wanted, room - used)  # fewer are left: take those
                else:
                    if used >= rate:
                        self._full_up_to = max(self._full_up_to, second)
                    second, behind = second + 1, False
                continue
            self._behind = behind
            return [second + position / rate for position in range(end - count, end)]
        if bulk:
            return []  # transactional mail has the coming seconds: try again shortly
        raise StoreBusy()

    def _take(self, second: int, start: int, count: int, room: int, behind: bool) -> int:
        """Reserve ``count`` slots of ``second``; the counter's value after them.

        Behind, the counter stands before ``start`` (or the second is new): the slots
        are ``start …``. Otherwise they follow the counter, which stands between
        ``start`` and ``room - count``. Never a slot already past: those would go out
        together, late.
        """
        if behind:
            update = "SET used = :next"
            condition = "attribute_not_exists(used) OR used < :start"
            values = {":start": start, ":next": start + count}
        else:
            update = "SET used = if_not_exists(used, :start) + :n"
            condition = "attribute_not_exists(used) OR (used <= :room AND used >= :start)"
            values = {":start": start, ":n": count, ":room": room - count}
        new = self.db.update_item(
            TableName=self.name,
            Key=schema.send_rate_key(second),
            UpdateExpression=f"{update}, {schema.TTL} = :expires",
            ConditionExpression=condition,
            ExpressionAttributeValues=to_attributes(
                values | {":expires": schema.send_rate_expiry(second)}
            ),
            ReturnValues="UPDATED_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )["Attributes"]
        return int(from_attributes(new)["used"])
