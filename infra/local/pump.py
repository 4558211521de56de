"""The local event pump: what Lambda's event sources do in AWS, done on moto.

It reads the event sources Chalice registered in ``app.py`` (table stream, SQS queues,
schedules), completes them with the settings of ``infra/resources.yaml`` (partial
batch responses, stream retries and failure destination) and feeds each batch, in
Lambda's own event format, to the same handler function Lambda would call.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from chalice.app import Chalice, DynamoDBEventConfig, SQSEventConfig
from chalice.app import ScheduledEventConfig as ScheduleConfig

from infra import function_overrides, function_timeout
from infra.local.embedded import REGION

POLL_SECONDS = 0.2


@dataclass
class FakeLambdaContext:
    function_name: str
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = ""
    aws_request_id: str = ""
    log_group_name: str = ""
    log_stream_name: str = ""
    deadline: float = 0.0  # time.monotonic() when the function's timeout would end it

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def _logical_id(name: str) -> str:
    """Chalice's logical id for a function: ``mail_worker`` -> ``MailWorker``."""
    return "".join(part.capitalize() for part in name.split("_"))


def _event_source(name: str, suffix: str) -> dict[str, Any]:
    events = function_overrides(_logical_id(name)).get("Events", {})
    return events.get(f"{_logical_id(name)}{suffix}", {}).get("Properties", {})


class Pump:
    def __init__(
        self,
        app: Chalice,
        handlers: Any,
        stream_arn: str,
        queue_urls: dict[str, str],
        on_error: Callable[[str, BaseException], None] | None = None,
    ) -> None:
        self.app = app
        self.handlers = handlers  # the module that defines the handler functions
        self.stream_arn = stream_arn
        self.queue_urls = queue_urls  # queue name -> url
        self.on_error = on_error or (lambda where, error: None)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.invocations = 0

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        for source in self.app.event_sources:
            args: tuple[Any, ...] = (source,)
            if isinstance(source, DynamoDBEventConfig):
                # Position the reader now, so nothing written after start() is missed.
                target, args = self._run_stream, (source, self._latest_position())
            elif isinstance(source, SQSEventConfig):
                target = self._run_queue
            elif isinstance(source, ScheduleConfig):
                target = self._run_schedule
            else:  # pragma: no cover - app.py uses no other kind
                raise NotImplementedError(type(source).__name__)
            thread = threading.Thread(
                target=target, args=args, daemon=True, name=f"pump-{source.name}"
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _invoke(self, name: str, event: dict[str, Any]) -> Any:
        handler = getattr(self.handlers, name)
        self.invocations += 1
        context = FakeLambdaContext(
            function_name=name,
            aws_request_id=str(uuid.uuid4()),
            deadline=time.monotonic() + function_timeout(name),
        )
        return handler(event, context)

    # -- DynamoDB stream -------------------------------------------------------------

    def _latest_position(self) -> str:
        streams = boto3.client("dynamodbstreams", region_name=REGION)
        shard = streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"][0]
        return streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
        )["ShardIterator"]

    def _run_stream(self, source: DynamoDBEventConfig, iterator: str) -> None:
        settings = _event_source(source.name, "DynamodbEventSource")
        partial = "ReportBatchItemFailures" in settings.get("FunctionResponseTypes", [])
        # -1 (Lambda's default): retried until the record expires.
        max_retries = int(settings.get("MaximumRetryAttempts", -1))
        failure_queue = self._failure_queue(settings)
        streams = boto3.client("dynamodbstreams", region_name=REGION)
        pending: list[dict[str, Any]] = []
        attempts = 0
        while not self._stop.is_set():
            if not pending:
                try:
                    response = streams.get_records(ShardIterator=iterator, Limit=source.batch_size)
                except Exception as error:  # noqa: BLE001 - keep pumping
                    self.on_error("stream", error)
                    time.sleep(1)
                    continue
                iterator = response.get("NextShardIterator") or iterator
                pending = [dict(r, eventSourceARN=self.stream_arn) for r in response["Records"]]
                attempts = 0
                if not pending:
                    self._stop.wait(POLL_SECONDS)
                    continue
            failed_from = self._stream_batch(source.name, pending, partial)
            if failed_from is None:
                pending = []
                continue
            attempts += 1
            if 0 <= max_retries < attempts:
                self._to_failure_queue(failure_queue, pending[failed_from])
                pending = pending[failed_from + 1 :]
                attempts = 0
            else:
                pending = pending[failed_from:]
                self._stop.wait(min(0.1 * 2 ** min(attempts, 6), 5))

    def _stream_batch(self, name: str, records: list[dict[str, Any]], partial: bool) -> int | None:
        """Index of the first record to retry, or None when the batch is done."""
        try:
            result = self._invoke(name, {"Records": records})
        except Exception as error:  # noqa: BLE001 - Lambda would retry the batch
            self.on_error(name, error)
            return 0
        failures = (result or {}).get("batchItemFailures") if partial else None
        if not failures:
            return None
        failed = {f["itemIdentifier"] for f in failures}
        for index, record in enumerate(records):
            if record["dynamodb"]["SequenceNumber"] in failed:
                return index
        return 0

    def _failure_queue(self, settings: dict[str, Any]) -> str | None:
        destination = settings.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if not destination:
            return None
        logical_id = destination["Fn::GetAtt"][0]
        name = _queue_name(logical_id)
        return self.queue_urls.get(name)

    def _to_failure_queue(self, url: str | None, record: dict[str, Any]) -> None:
        if not url:
            return
        boto3.client("sqs", region_name=REGION).send_message(
            QueueUrl=url,
            MessageBody=json.dumps(
                {
                    "requestContext": {"condition": "RetryAttemptsExhausted"},
                    "DDBStreamBatchInfo": {
                        "shardId": "local",
                        "startSequenceNumber": record["dynamodb"]["SequenceNumber"],
                        "endSequenceNumber": record["dynamodb"]["SequenceNumber"],
                        "batchSize": 1,
                        "streamArn": self.stream_arn,
                    },
                }
            ),
        )

    # -- SQS -------------------------------------------------------------------------

    def _run_queue(self, source: SQSEventConfig) -> None:
        settings = _event_source(source.name, "SqsEventSource")
        partial = "ReportBatchItemFailures" in settings.get("FunctionResponseTypes", [])
        url = self.queue_urls[source.queue or source.queue_arn.rsplit(":", 1)[-1]]
        sqs = boto3.client("sqs", region_name=REGION)
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

        def receive(most: int, wait: int) -> list[dict[str, Any]]:
            return sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(most, 10),
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])

        while not self._stop.is_set():
            try:
                messages = more = receive(source.batch_size, 1)
                # Batches of up to batch_size, as Lambda's poller gathers them (without
                # waiting out the batching window once the queue has nothing more).
                while more and len(messages) < source.batch_size:
                    more = receive(source.batch_size - len(messages), 0)
                    messages += more
            except Exception as error:  # noqa: BLE001 - keep pumping
                self.on_error(source.name, error)
                self._stop.wait(1)
                continue
            if not messages:
                continue
            records = [_sqs_record(m, arn) for m in messages]
            try:
                result = self._invoke(source.name, {"Records": records})
            except Exception as error:  # noqa: BLE001 - messages come back after the timeout
                self.on_error(source.name, error)
                continue
            failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
            if failed and not partial:
                continue  # the whole batch comes back
            done = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(messages)
                if m["MessageId"] not in failed
            ]
            if done:
                sqs.delete_message_batch(QueueUrl=url, Entries=done)

    # -- schedules -------------------------------------------------------------------

    def _run_schedule(self, source: ScheduleConfig) -> None:
        expression = source.schedule_expression
        seconds = _rate_seconds(expression)
        while not self._stop.wait(seconds):
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": "123456789012",
                "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": REGION,
                "resources": [],
                "detail": {},
            }
            try:
                self._invoke(source.name, event)
            except Exception as error:  # noqa: BLE001 - the next tick tries again
                self.on_error(source.name, error)


def _sqs_record(message: dict[str, Any], arn: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": REGION,
    }


def _queue_name(logical_id: str) -> str:
    from infra import template

    return template()["Resources"][logical_id]["Properties"]["QueueName"]


def _rate_seconds(expression: Any) -> float:
    to_string = getattr(expression, "to_string", None)
    text = to_string() if to_string else str(expression)
    if not text.startswith("rate("):
        raise NotImplementedError(f"local schedules support rate() only, not {text}")
    value, unit = text[5:-1].split()
    factor = {
        "minute": 60,
        "minutes": 60,
        "hour": 3600,
        "hours": 3600,
        "day": 86400,
        "days": 86400,
    }[unit]
    return float(value) * factor
