"""Logging: Powertools JSON logs with one correlation id per request or message.

Never log an email address or a person's name: log ids (registration, event, token
id) instead. The tests capture the logs of whole flows and check this.
"""

from __future__ import annotations

import logging
import sys
import uuid

from aws_lambda_powertools import Logger


class _CurrentStdout(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is now (test runners swap it), as Lambda reads it."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):  # type: ignore[override]
        return sys.stdout

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


logger = Logger(service="majlis", logger_handler=_CurrentStdout())


def correlate(correlation_id: str | None) -> str:
    """Tag this thread's log lines with a correlation id (a new one when none is given).

    Thread-local, so concurrent requests in local mode keep their ids apart.
    """
    value = correlation_id or uuid.uuid4().hex
    logger.thread_safe_clear_keys()
    logger.thread_safe_append_keys(correlation_id=value)
    return value
