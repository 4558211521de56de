"""Lambda's event sources, done on moto: the one harness that feeds Majlis's handlers.

Each source reads what ``app.py`` registered (the table's stream, the SQS queues, the
schedules), completes it with the settings of ``infra/resources.yaml`` (partial batch
responses, the stream's retry policy and failure queue, the queues' redrive policies)
and hands each batch, in Lambda's own event format, to the same handler function
Lambda would call:

- :class:`StreamSource` reads the table's stream from where it was made (new records
  only, by default) and feeds it in batches; a batch that fails is retried from its
  first failed record, and given up (to the failure queue) only per the retry policy.
- :class:`QueueSource` receives a batch, invokes the function, and deletes what did
  not fail; what failed comes back when its visibility ends, and SQS moves it to the
  dead-letter queue after its ``maxReceiveCount``.
- :class:`ScheduleSource` fires a schedule's event.

:class:`Lambdas` holds the sources of some functions: local mode's pump
(``pump.py``) runs each in a thread of its own, polling; tests call :meth:`drain` to
run everything until nothing is left, or :meth:`settle` to also wait out the
visibility of failed deliveries on a test clock.
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
from chalice.app import DynamoDBEventConfig, SQSEventConfig
from chalice.app import ScheduledEventConfig as ScheduleConfig

from infra import function_overrides, function_timeout, template

REGION = "us-east-1"


class Killed(BaseException):
    """The Lambda runtime ending an invocation (timeout, out of memory): nothing after
    it runs, not even the function's own error handling."""


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


def context(name: str) -> FakeLambdaContext:
    """A context as Lambda gives the function ``name`` (its timeout from config.json)."""
    return FakeLambdaContext(
        function_name=name,
        aws_request_id=str(uuid.uuid4()),
        deadline=time.monotonic() + function_timeout(name),
    )


def invoke(handlers: Any, name: str, event: dict[str, Any]) -> Any:
    """Call the function ``name`` of ``handlers`` (the ``app`` module) as Lambda would."""
    return getattr(handlers, name)(event, context(name))


def _logical_id(name: str) -> str:
    """Chalice's logical id for a function: ``mail_worker`` -> ``MailWorker``."""
    return "".join(part.capitalize() for part in name.split("_"))


def event_source(name: str, suffix: str) -> dict[str, Any]:
    """What the template adds to a function's event source (``SqsEventSource`` …)."""
    events = function_overrides(_logical_id(name)).get("Events", {})
    return events.get(f"{_logical_id(name)}{suffix}", {}).get("Properties", {})


def queue_name(logical_id: str) -> str:
    return template()["Resources"][logical_id]["Properties"]["QueueName"]


def sqs_record(message: dict[str, Any], arn: str) -> dict[str, Any]:
    """A received SQS message as Lambda's SQS event has it."""
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


# -- the table's stream --------------------------------------------------------------------


class TableStream:
    """The records of a table's stream, read from a position onwards (every shard)."""

    def __init__(self, stream_arn: str, position: str = "LATEST") -> None:
        self.arn = stream_arn
        self.client = boto3.client("dynamodbstreams", region_name=REGION)
        shards = self.client.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
        self.iterators: list[str | None] = [
            self.client.get_shard_iterator(
                StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType=position
            )["ShardIterator"]
            for shard in shards
        ]

    @classmethod
    def of_table(cls, table: str, position: str = "LATEST") -> TableStream:
        described = boto3.client("dynamodb", region_name=REGION).describe_table(TableName=table)
        return cls(described["Table"]["LatestStreamArn"], position)

    def read(self, limit: int = 100) -> list[dict[str, Any]]:
        """Up to ``limit`` of the next records, as Lambda's event has them ([] when none)."""
        for index, iterator in enumerate(self.iterators):
            if iterator is None:
                continue  # a closed shard, read to its end
            page = self.client.get_records(ShardIterator=iterator, Limit=limit)
            self.iterators[index] = page.get("NextShardIterator")
            if page["Records"]:
                return [dict(r, eventSourceARN=self.arn) for r in page["Records"]]
        return []

    def everything(self) -> list[dict[str, Any]]:
        """Every record from here to now."""
        found: list[dict[str, Any]] = []
        while page := self.read(1000):
            found += page
        return found


class StreamSource:
    """The table's stream feeding its function as Lambda's event source does."""

    def __init__(
        self,
        handlers: Any,
        source: DynamoDBEventConfig,
        stream: TableStream,
        queue_urls: dict[str, str] | None = None,
        on_error: Callable[[str, BaseException], None] | None = None,
    ) -> None:
        self.handlers = handlers
        self.name = source.name
        self.batch_size = source.batch_size
        self.stream = stream
        settings = event_source(source.name, "DynamodbEventSource")
        self.partial = "ReportBatchItemFailures" in settings.get("FunctionResponseTypes", [])
        # -1 (Lambda's default): retried until the record expires.
        self.max_retries = int(settings.get("MaximumRetryAttempts", -1))
        destination = settings.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        self.failure_queue = queue_name(destination["Fn::GetAtt"][0]) if destination else None
        self.queue_urls = queue_urls or {}
        self.on_error = on_error or (lambda where, error: None)
        self.pending: list[dict[str, Any]] = []
        self.attempts = 0
        self.invocations = self.retried = self.discarded = self.longest = 0

    def poll(self) -> str:
        """One invocation: ``idle`` (nothing to read), ``done`` (a batch went through)
        or ``retry`` (it failed: the next poll tries it again from its failed record)."""
        if not self.pending:
            self.pending = self.stream.read(self.batch_size)
            self.attempts = 0
            if not self.pending:
                return "idle"
        failed_from = self._invoke(self.pending)
        if failed_from is None:
            self.pending = []
            return "done"
        self.attempts += 1
        self.longest = max(self.longest, self.attempts)
        if 0 <= self.max_retries < self.attempts:  # given up: its metadata to the failure queue
            self.discarded += 1
            self._to_failure_queue(self.pending[failed_from])
            self.pending, self.attempts = self.pending[failed_from + 1 :], 0
            return "done"
        self.retried += 1
        self.pending = self.pending[failed_from:]
        return "retry"

    def _invoke(self, records: list[dict[str, Any]]) -> int | None:
        """Index of the first record to retry, or None when the batch is done."""
        self.invocations += 1
        try:
            result = invoke(self.handlers, self.name, {"Records": records})
        except Exception as error:  # noqa: BLE001 - a function error: the batch comes again
            self.on_error(self.name, error)
            return 0
        failures = (result or {}).get("batchItemFailures") if self.partial else None
        if not failures:
            return None
        failed = {f["itemIdentifier"] for f in failures}
        for index, record in enumerate(records):
            if record["dynamodb"]["SequenceNumber"] in failed:
                return index
        return 0

    def _to_failure_queue(self, record: dict[str, Any]) -> None:
        url = self.queue_urls.get(self.failure_queue or "")
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
                        "streamArn": self.stream.arn,
                    },
                }
            ),
        )


# -- queues ------------------------------------------------------------------------------


class QueueSource:
    """A queue feeding its function as Lambda's SQS poller does."""

    def __init__(
        self,
        handlers: Any,
        source: SQSEventConfig,
        url: str,
        on_error: Callable[[str, BaseException], None] | None = None,
    ) -> None:
        self.handlers = handlers
        self.function = source.name
        self.name = source.queue or source.queue_arn.rsplit(":", 1)[-1]  # the queue's name
        self.batch_size = source.batch_size
        self.url = url
        settings = event_source(source.name, "SqsEventSource")
        self.partial = "ReportBatchItemFailures" in settings.get("FunctionResponseTypes", [])
        self.sqs = boto3.client("sqs", region_name=REGION)
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
            "Attributes"
        ]
        self.arn = attributes["QueueArn"]
        self.visibility = int(attributes["VisibilityTimeout"])
        redrive = json.loads(attributes.get("RedrivePolicy") or "{}")
        self.max_receives = int(redrive.get("maxReceiveCount", 0))
        self.on_error = on_error or (lambda where, error: None)
        self.waiting: list[str] = []  # receipt handles of deliveries that failed
        self.batches: list[int] = []
        self.failures = self.killed = self.most_receives = 0
        self._counting = threading.Lock()  # local mode polls from several threads at once
        self.on_received: Callable[[int], None] | None = None  # before the function runs

    def _receive(self, most: int, wait: int) -> list[dict[str, Any]]:
        return self.sqs.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=min(most, 10),
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])

    def poll(self, wait: int = 0) -> int:
        """One batch: receive, invoke, delete what succeeded; how many messages it had
        (0 when none was visible after waiting up to ``wait`` seconds for one)."""
        messages = more = self._receive(self.batch_size, wait)
        # Batches of up to batch_size, as Lambda's poller gathers them (without waiting
        # out the batching window once the queue has nothing more).
        while more and len(messages) < self.batch_size:
            more = self._receive(self.batch_size - len(messages), 0)
            messages += more
        if not messages:
            return 0
        if self.on_received:
            self.on_received(len(messages))
        everyone = {m["MessageId"] for m in messages}
        with self._counting:
            self.batches.append(len(messages))
            self.most_receives = max(
                [self.most_receives]
                + [int(m["Attributes"].get("ApproximateReceiveCount", 1)) for m in messages]
            )
        try:
            result = invoke(
                self.handlers,
                self.function,
                {"Records": [sqs_record(m, self.arn) for m in messages]},
            )
            failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
            if failed and not self.partial:
                failed = everyone
        except Killed:
            with self._counting:
                self.killed += 1
            failed = everyone
        except Exception as error:  # noqa: BLE001 - a function error: the whole batch comes again
            self.on_error(self.function, error)
            failed = everyone
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self.sqs.delete_message_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done[start : start + 10])
                ],
            )
        with self._counting:
            self.failures += len(failed)
            self.waiting += [m["ReceiptHandle"] for m in messages if m["MessageId"] in failed]
        return len(messages)

    def forget_waiting(self) -> None:
        """Leave failed deliveries to come back when their visibility ends (local mode's
        pump: real time passes), rather than to :meth:`visibility_ends`."""
        with self._counting:
            self.waiting.clear()

    def visibility_ends(self) -> None:
        """What failed is visible again (what went to the dead letters stays there)."""
        for start in range(0, len(self.waiting), 10):
            self.sqs.change_message_visibility_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                    for i, handle in enumerate(self.waiting[start : start + 10])
                ],
            )
        self.waiting = []

    def empty(self) -> bool:
        counts = self.sqs.get_queue_attributes(
            QueueUrl=self.url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return not any(int(n) for n in counts.values())


# -- schedules ---------------------------------------------------------------------------


class ScheduleSource:
    def __init__(self, handlers: Any, source: ScheduleConfig) -> None:
        self.handlers = handlers
        self.name = source.name
        self.seconds = rate_seconds(source.schedule_expression)
        self.fired = 0

    def fire(self) -> Any:
        self.fired += 1
        return invoke(
            self.handlers,
            self.name,
            {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": "123456789012",
                "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": REGION,
                "resources": [],
                "detail": {},
            },
        )


def rate_seconds(expression: Any) -> float:
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


# -- all of them -------------------------------------------------------------------------


def queue_urls() -> dict[str, str]:
    """Every queue of the template, by name, as moto has it now."""
    sqs = boto3.client("sqs", region_name=REGION)
    return {
        resource["Properties"]["QueueName"]: sqs.get_queue_url(
            QueueName=resource["Properties"]["QueueName"]
        )["QueueUrl"]
        for resource in template()["Resources"].values()
        if resource.get("Type") == "AWS::SQS::Queue"
    }


class Lambdas:
    """The event sources of ``handlers`` (the ``app`` module): the table's stream and the
    queues of ``functions`` (every queue's function when None), and the schedules."""

    def __init__(
        self,
        handlers: Any,
        stream_arn: str,
        urls: dict[str, str] | None = None,
        functions: tuple[str, ...] | None = None,
        on_error: Callable[[str, BaseException], None] | None = None,
    ) -> None:
        urls = urls if urls is not None else queue_urls()
        self.stream: StreamSource | None = None
        self.queues: dict[str, QueueSource] = {}
        self.schedules: dict[str, ScheduleSource] = {}
        for source in handlers.app.event_sources:
            if isinstance(source, DynamoDBEventConfig):
                # Positioned now, so nothing written after this is missed.
                self.stream = StreamSource(
                    handlers, source, TableStream(stream_arn), urls, on_error
                )
            elif isinstance(source, SQSEventConfig):
                if functions is None or source.name in functions:
                    name = source.queue or source.queue_arn.rsplit(":", 1)[-1]
                    self.queues[source.name] = QueueSource(handlers, source, urls[name], on_error)
            elif isinstance(source, ScheduleConfig):
                self.schedules[source.name] = ScheduleSource(handlers, source)
            else:  # pragma: no cover - app.py uses no other kind
                raise NotImplementedError(type(source).__name__)

    @classmethod
    def of_table(cls, handlers: Any, table: str, *functions: str) -> Lambdas:
        described = boto3.client("dynamodb", region_name=REGION).describe_table(TableName=table)
        return cls(handlers, described["Table"]["LatestStreamArn"], functions=functions or None)

    # How long a failed delivery waits before it comes back: the mail queue's
    # visibility timeout (the others wait out the same step, or less, on a test clock).
    step = int(template()["Resources"]["MailQueue"]["Properties"]["VisibilityTimeout"])

    def run_stream(self) -> int:
        """Feed every record written since the last run; returns how many invocations."""
        ran = 0
        while self.stream is not None and self.stream.poll() != "idle":
            ran += 1
        return ran

    def drain(self) -> int:
        """Run the stream and the queues until nothing is left to do now (failed
        deliveries wait out their visibility); returns how many invocations it took."""
        ran = 0
        busy = True
        while busy:
            busy = False
            if self.run_stream():
                ran, busy = ran + 1, True
            for queue in self.queues.values():
                while queue.poll():
                    ran, busy = ran + 1, True
        return ran

    def settle(self, clock: Any, most: int = 40) -> int:
        """Run everything until every queue is empty, moving ``clock`` on by
        :attr:`step` whenever failed deliveries wait for their visibility to end;
        returns how many times they waited."""
        for waits in range(most):
            self.drain()
            if all(queue.empty() for queue in self.queues.values()):
                return waits
            clock.advance(seconds=self.step)
            for queue in self.queues.values():
                queue.visibility_ends()
        raise AssertionError(f"still busy after {most} visibility timeouts")
