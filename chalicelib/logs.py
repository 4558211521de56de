"""Logging: Powertools JSON logs with one correlation id per request or message.

Never log an email address or a person's name: log ids (registration, event, token
id) instead. The tests capture the logs of whole flows and check this.
"""

from aws_lambda_powertools import Logger

logger = Logger(service="majlis")
