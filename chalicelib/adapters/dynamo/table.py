"""What every store of the table shares: the client, and how conflicts are retried.

The keys and the shape of each item are the schema's (``schema.py``); a store holds
the requests that read and write its items.
"""

from __future__ import annotations

import random
import time
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.aws import client

# The error codes of a throttled call (a cancelled transaction says "ThrottlingError")
THROTTLED = ("ProvisionedThroughputExceededException", "ThrottlingException")
CONFLICT_RETRIES = 4  # a contended transaction is tried this often before StoreBusy


class Table:
    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def db(self) -> Any:
        return client("dynamodb")


def reasons(error: ClientError) -> list[dict[str, Any]]:
    """A cancelled transaction's reasons, one per item."""
    return error.response.get("CancellationReasons") or []


def backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.02 * 2**attempt))
