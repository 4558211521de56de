"""SQS: putting jobs on a queue, ten to a call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.adapters.aws import client
from chalicelib.ports import JobQueue

if TYPE_CHECKING:
    from chalicelib.jobs import Job

BATCH = 10  # SendMessageBatch's limit


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
