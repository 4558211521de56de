"""SQS: putting jobs on a queue, ten to a call; counting what the dead-letter queues
hold."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
