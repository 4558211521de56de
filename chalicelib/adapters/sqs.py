"""SQS: putting jobs on a queue, ten to a call; counting what the dead-letter queues
hold."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.aws import client
from chalicelib.ports import DeadLetters, JobQueue

if TYPE_CHECKING:
    from chalicelib.jobs import Job

BATCH = 10  # SendMessageBatch's limit
HELD, HELD_IN_FLIGHT = "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"


class SqsDeadLetters(DeadLetters):
    """Counts from SQS's approximate attributes: one GetQueueAttributes a queue."""

    def __init__(self, queue_urls: list[str]) -> None:
        self.queue_urls = queue_urls

    def counts(self) -> dict[str, int]:
        sqs = client("sqs")
        found = {}
        for url in self.queue_urls:
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[HELD, HELD_IN_FLIGHT],
            )["Attributes"]
            name = url.rstrip("/").rsplit("/", 1)[-1]
            found[name] = int(attributes.get(HELD, 0)) + int(attributes.get(HELD_IN_FLIGHT, 0))
        return found

    def redrive(self, queue: str, most: int) -> int:
        source = next((u for u in self.queue_urls if u.rstrip("/").endswith(f"/{queue}")), None)
        if source is None or not queue.endswith("-dlq"):
            raise ValueError(f"{queue} is not one of the dead-letter queues")
        return move_messages(source, source.removesuffix("-dlq"), most)


def move_messages(
    source_url: str,
    target_url: str,
    most: int,
    look: bool = False,
    each: Callable[[dict[str, Any]], None] | None = None,
) -> int:
    """Move up to ``most`` messages from one queue to another; returns how many. Each is
    sent to the target before it is deleted from the source, so a failure midway leaves
    a message in both places (the workers are idempotent), never in neither. With
    ``look``, nothing moves: the messages are counted and come back at once. ``each``
    sees every message first (the command line's dry run shows them)."""
    sqs = client("sqs")
    moved = 0
    seen: set[str] = set()
    while moved < most:
        messages = sqs.receive_message(
            QueueUrl=source_url,
            MaxNumberOfMessages=min(10, most - moved),
            VisibilityTimeout=0 if look else 60,
        ).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            seen.add(message["MessageId"])
            if each is not None:
                each(message)
            if not look:
                sqs.send_message(QueueUrl=target_url, MessageBody=message["Body"])
                sqs.delete_message(QueueUrl=source_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved


class SqsJobQueue(JobQueue):
    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def send(self, jobs: list[Job], delay_seconds: int = 0) -> list[int]:
        failed: list[int] = []
        sqs = client("sqs")
        for start in range(0, len(jobs), BATCH):
            chunk = jobs[start : start + BATCH]
            response = sqs.send_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {
                        "Id": str(start + i),
                        "MessageBody": job.message(),
                        "DelaySeconds": max(0, min(delay_seconds, 900)),
                    }
                    for i, job in enumerate(chunk)
                ],
            )
            failed.extend(int(entry["Id"]) for entry in response.get("Failed", []))
        return failed

    def retry_later(self, receipt_handle: str, seconds: int) -> None:
        client("sqs").change_message_visibility(
            QueueUrl=self.queue_url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=max(0, min(seconds, 43_200)),
        )
