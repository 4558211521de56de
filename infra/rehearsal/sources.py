"""The template's event sources, played as Lambda plays them, with the function's role.

Lambda's pollers read a function's queue, or its table's stream, with the
credentials of the function's own role: so do these, so that a role missing
``sqs:ReceiveMessage`` or ``dynamodb:GetRecords`` is found here as in AWS.

- A queue (:class:`QueuePoller`): up to ``MaximumConcurrency`` batches at once (or the
  function's pool), each of at most ``BatchSize`` messages gathered for up to
  ``MaximumBatchingWindowInSeconds``; the messages a batch did not report as failed
  are deleted, and none of a batch whose invocation failed.
- The stream (:class:`StreamPoller`): one batch at a time in order, retried from its
  first failed record, bisected on a function error, and given up after
  ``MaximumRetryAttempts`` (-1: never) to the failure queue.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from typing import Any

from infra.local.lambdas import sqs_record
from infra.rehearsal.functions import Answer, Pool
from infra.rehearsal.stack import Mapping


class _Poller:
    def __init__(self, mapping: Mapping, pool: Pool, on_error: Any) -> None:
        self.mapping = mapping
        self.pool = pool
        self.on_error = on_error
        self.in_flight = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _invoke(self, records: list[dict[str, Any]]) -> Answer:
        answer = self.pool.invoke({"Records": records})
        if answer.error:
            self.on_error(self.mapping.function, answer.error)
        return answer

    def _start(self, threads: int) -> None:
        for n in range(threads):
            thread = threading.Thread(
                target=self._loop, name=f"{self.mapping.function}-poller-{n}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.poll():
                    self._stop.wait(0.05)
            except Exception as error:  # noqa: BLE001 - a poller keeps polling, as Lambda's
                self.on_error(self.mapping.function, f"poller: {type(error).__name__}: {error}")
                self._stop.wait(1)

    def poll(self) -> bool:
        raise NotImplementedError

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)


class QueuePoller(_Poller):
    def __init__(self, mapping: Mapping, pool: Pool, sqs: Any, url: str, on_error: Any) -> None:
        super().__init__(mapping, pool, on_error)
        self.sqs = sqs
        self.url = url
        self.held: list[str] = []  # receipts of messages left to come back
        # What Lambda reads when the mapping is made, with the function's role.
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])

    def start(self) -> QueuePoller:
        self._start(min(self.mapping.most_at_once or self.pool.size, self.pool.size))
        return self

    def _receive(self) -> list[dict[str, Any]]:
        wanted = self.mapping.batch_size
        deadline = time.monotonic() + self.mapping.batching_window_s
        got: list[dict[str, Any]] = []
        while len(got) < wanted:
            page = self.sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=min(10, wanted - len(got)),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=1 if not got else 0,
            ).get("Messages", [])
            got += page
            if not page and (got or time.monotonic() >= deadline):
                break
            if time.monotonic() >= deadline and got:
                break
        return got

    def poll(self) -> bool:
        messages = self._receive()
        if not messages:
            return False
        with self._lock:
            self.in_flight += 1
        try:
            records = [sqs_record(m, self.mapping.source_arn) for m in messages]
            answer = self._invoke(records)
            failed = {r["messageId"] for r in records}  # back after their visibility timeout
            if not answer.error:
                failures = (
                    answer.result.get("batchItemFailures", [])
                    if self.mapping.partial_failures and isinstance(answer.result, dict)
                    else []
                )
                failed = {f.get("itemIdentifier") for f in failures}
                if not failed <= {r["messageId"] for r in records}:  # as AWS reads it:
                    failed = {r["messageId"] for r in records}  # the whole batch failed
            with self._lock:
                self.held += [r["receiptHandle"] for r in records if r["messageId"] in failed]
            done = [r for r in records if r["messageId"] not in failed]
            for start in range(0, len(done), 10):
                self.sqs.delete_message_batch(
                    QueueUrl=self.url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": r["receiptHandle"]}
                        for n, r in enumerate(done[start : start + 10])
                    ],
                )
            return True
        finally:
            with self._lock:
                self.in_flight -= 1

    def take_held(self) -> list[str]:
        """The receipts of the messages the function did not finish, once each."""
        with self._lock:
            held, self.held = self.held, []
        return held


def _json_ready(value: Any) -> Any:
    return json.loads(
        json.dumps(value, default=lambda v: v.timestamp() if isinstance(v, datetime) else str(v))
    )


class StreamPoller(_Poller):
    most_attempts = 50  # a stream batch failing this often stops the rehearsal's wait

    def __init__(
        self, mapping: Mapping, pool: Pool, streams: Any, sqs: Any, failure_url: str, on_error: Any
    ) -> None:
        super().__init__(mapping, pool, on_error)
        self.streams = streams
        self.sqs = sqs
        self.failure_url = failure_url
        described = streams.describe_stream(StreamArn=mapping.source_arn)["StreamDescription"]
        self.iterators = [
            streams.get_shard_iterator(
                StreamArn=mapping.source_arn,
                ShardId=shard["ShardId"],
                ShardIteratorType=mapping.starting_position or "TRIM_HORIZON",
            )["ShardIterator"]
            for shard in described["Shards"]
        ]
        self.pending: list[dict[str, Any]] = []
        self.attempts = 0
        self.limit = mapping.batch_size
        self.stuck = 0  # records of batches that failed most_attempts times

    def start(self) -> StreamPoller:
        self._start(1)
        return self

    def _read(self) -> list[dict[str, Any]]:
        for index, iterator in enumerate(self.iterators):
            if iterator is None:
                continue
            page = self.streams.get_records(ShardIterator=iterator, Limit=self.mapping.batch_size)
            self.iterators[index] = page.get("NextShardIterator")
            if page["Records"]:
                return [dict(r, eventSourceARN=self.mapping.source_arn) for r in page["Records"]]
        return []

    def poll(self) -> bool:
        with self._lock:
            self.in_flight += 1
        try:
            if not self.pending:
                self.pending = _json_ready(self._read())
                self.attempts, self.limit = 0, self.mapping.batch_size
                if not self.pending:
                    return False
            batch = self.pending[: self.limit]
            answer = self._invoke(batch)
            failed_from: int | None = None
            if answer.error:
                failed_from = 0
                if self.mapping.bisect and len(batch) > 1:  # the halves, one at a time
                    self.limit = len(batch) // 2
                    return True
            elif self.mapping.partial_failures and isinstance(answer.result, dict):
                failed = {
                    f.get("itemIdentifier") for f in answer.result.get("batchItemFailures") or []
                }
                numbers = [r["dynamodb"]["SequenceNumber"] for r in batch]
                failed_from = next((i for i, n in enumerate(numbers) if n in failed), None)
                if failed and not failed <= set(numbers):  # as AWS reads it: all failed
                    failed_from = 0

            if failed_from is None:
                self.pending = self.pending[len(batch) :]
                self.attempts, self.limit = 0, self.mapping.batch_size
                return True
            self.pending = self.pending[failed_from:]
            self.attempts += 1
            retries = self.mapping.retries if self.mapping.retries is not None else -1
            if 0 <= retries < self.attempts:  # the batch, as it was last tried, given up
                given_up = self.pending[: len(batch) - failed_from]
                for record in given_up:
                    self._give_up(record)
                self.pending, self.attempts = self.pending[len(given_up) :], 0
            elif self.attempts >= self.most_attempts:  # the audit says so; the rest goes on
                self.stuck += len(self.pending)
                self.pending, self.attempts = [], 0
            return True
        finally:
            with self._lock:
                self.in_flight -= 1

    def _give_up(self, record: dict[str, Any]) -> None:
        number = record["dynamodb"]["SequenceNumber"]
        self.sqs.send_message(
            QueueUrl=self.failure_url,
            MessageBody=json.dumps(
                {
                    "requestContext": {"condition": "RetryAttemptsExhausted"},
                    "DDBStreamBatchInfo": {
                        "shardId": "shard-0",
                        "startSequenceNumber": number,
                        "endSequenceNumber": number,
                        "batchSize": 1,
                        "streamArn": self.mapping.source_arn,
                    },
                }
            ),
        )

    @property
    def caught_up(self) -> bool:
        return not self.pending and self.in_flight == 0
