"""Logging: Powertools JSON logs with one correlation id per request or message.

Never log an email address or a person's name: log ids (registration, event, token
id) instead. The tests capture the logs of whole flows and check this.
"""

from __future__ import annotations

import logging
import sys

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
