"""AWS clients: created lazily, once per Lambda container, with tight timeouts.

Endpoints come from the standard ``AWS_ENDPOINT_URL`` variables, which is how the local
runner and the tests point every client at moto on loopback.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config

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
