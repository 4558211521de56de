"""The embedded AWS runs in processes of its own: DynamoDB (with its stream) in one,
every other service in another, and one endpoint still answers for all of them."""

from __future__ import annotations

import errno
import os
import socket
from unittest import mock

import boto3
import pytest

from infra.local.embedded import EmbeddedAws


def _client(service: str, endpoint: str):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


@pytest.fixture
def embedded():
    with mock.patch.dict(os.environ):  # start() points this process's clients at it
        aws = EmbeddedAws()
        aws.start()
        try:
            yield aws
        finally:
            aws.stop()


def test_one_endpoint_answers_for_dynamodb_served_by_its_own_process(embedded):
    assert embedded.dynamodb_endpoint != embedded.endpoint
    assert os.environ["AWS_ENDPOINT_URL"] == embedded.endpoint
    assert os.environ["AWS_ENDPOINT_URL_DYNAMODB"] == embedded.dynamodb_endpoint
    assert os.environ["AWS_ENDPOINT_URL_DYNAMODB_STREAMS"] == embedded.dynamodb_endpoint
    pids = {process.pid for process in embedded._processes}
    assert len(pids) == 2
    assert os.getpid() not in pids
    # As a script that knows only AWS_ENDPOINT_URL (the organizer command line) sees it.
    through = _client("dynamodb", embedded.endpoint)
    through.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    through.put_item(TableName="t", Item={"pk": {"S": "عربي"}, "n": {"N": "1"}})
    straight = _client("dynamodb", embedded.dynamodb_endpoint)
    assert straight.get_item(TableName="t", Key={"pk": {"S": "عربي"}})["Item"]["n"] == {"N": "1"}
    with pytest.raises(straight.exceptions.ConditionalCheckFailedException):
        through.put_item(
            TableName="t",
            Item={"pk": {"S": "عربي"}},
            ConditionExpression="attribute_not_exists(pk)",
        )
    streams = _client("dynamodbstreams", embedded.endpoint)
    arn = straight.describe_table(TableName="t")["Table"]["LatestStreamArn"]
    assert streams.describe_stream(StreamArn=arn)["StreamDescription"]["StreamStatus"]
    # Every other service is the other process's: DynamoDB's process has no queue.
    sqs = _client("sqs", embedded.endpoint)
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "hello"
    assert _client("sqs", embedded.dynamodb_endpoint).list_queues().get("QueueUrls", []) == []


def test_stopping_ends_both_processes():
    with mock.patch.dict(os.environ):
        aws = EmbeddedAws()
        aws.start()
        processes = list(aws._processes)
        aws.stop()
    assert [process.poll() for process in processes] == [0, 0]


def test_a_port_in_use_fails_before_any_process_starts():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        aws = EmbeddedAws(port=taken.getsockname()[1])
        with pytest.raises(OSError, match="in use") as refused:
            aws.start()
        assert refused.value.errno == errno.EADDRINUSE
        assert aws._processes == []
