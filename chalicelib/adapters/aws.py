"""AWS clients: created lazily, once per Lambda container, with tight timeouts.

Endpoints come from the standard ``AWS_ENDPOINT_URL`` variables, which is how the local
runner and the tests point every client at moto on loopback.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as EndpointUnreachable

_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "max_attempts": 3},
    max_pool_connections=50,
)
# SES sends are never repeated by the SDK: a send whose answer was lost (a read timeout)
# may have gone out, and sent again it would arrive twice. The mail worker retries them
# itself, knowing what left (usecases/sending.py: the send record, SES's Send event).
_SEND_ONCE = Config(retries={"mode": "standard", "total_max_attempts": 1})


@functools.cache
def client(service: str) -> Any:
    # S3: Signature Version 4, for presigned links that say when they expire.
    config = _CONFIG.merge(Config(signature_version="s3v4")) if service == "s3" else _CONFIG
    if service == "sesv2":
        config = _CONFIG.merge(_SEND_ONCE)
    return boto3.session.Session().client(service, config=config)


def error_code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


# Error codes of an AWS service saying "not now": throttled or briefly unable to answer.
PASSING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "InternalServerError",
        "InternalFailure",
        "InternalError",
    }
)


def unavailable(error: BaseException) -> str | None:
    """What failed, when ``error`` is an AWS service failing for a while — throttled,
    a 5xx, a timeout, a connection refused, dropped or out of the pool — so that the
    caller is told to retry; None for anything else (a bug, a refusal, bad credentials).
    The cause names the operation and the error's class or code, never its message
    (which may quote a key or an address)."""
    if isinstance(error, (HTTPClientError, EndpointUnreachable)):
        return type(error).__name__
    if isinstance(error, ClientError):
        code = error_code(error)
        status = int((error.response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
        reasons = {r.get("Code") for r in error.response.get("CancellationReasons") or []}
        if code in PASSING_CODES or status >= 500 or status == 429 or "ThrottlingError" in reasons:
            return f"{error.operation_name} {code or status}"
    return None
