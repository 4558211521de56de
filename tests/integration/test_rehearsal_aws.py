"""The rehearsal's AWS answers a role's calls as AWS would, under the role's own policies.

One narrow role (the probe) is assumed and used with enforcement on; each call's answer
is the one AWS gives that role, and every denial is in the ledger, named as AWS names it.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from infra.rehearsal.aws import OPERATOR, RehearsalAws

SESSION = "Probe"
SENDER = "noreply@majlis.example.org"
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/majlis"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def probe_policy(ok_topic: str, stream: str) -> dict[str, Any]:
    table = "arn:aws:dynamodb:*:*:table/majlis"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Items",
                "Effect": "Allow",
                "Action": [
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:Query",
                    "dynamodb:DeleteItem",
                ],
                "Resource": [table, f"{table}/index/gsi1"],
            },
            {
                "Sid": "Campaigns",
                "Effect": "Allow",
                "Action": "dynamodb:UpdateItem",
                "Resource": table,
                "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["CAMPAIGN#*"]}},
            },
            {
                "Sid": "NeverDelete",
                "Effect": "Deny",
                "Action": "dynamodb:DeleteItem",
                "Resource": "*",
            },
            {
                "Sid": "MailQueue",
                "Effect": "Allow",
                "Action": ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:GetQueueAttributes"],
                "Resource": "arn:aws:sqs:*:*:majlis-mail",
            },
            {
                "Sid": "Send",
                "Effect": "Allow",
                "Action": "ses:SendEmail",
                "Resource": [
                    "arn:aws:ses:us-east-1:123456789012:identity/*",
                    "arn:aws:ses:us-east-1:123456789012:configuration-set/majlis",
                ],
            },
            {
                "Sid": "SenderIdentity",
                "Effect": "Allow",
                "Action": "ses:GetEmailIdentity",
                "Resource": "arn:aws:ses:us-east-1:123456789012:identity/*",
            },
            {
                "Sid": "SigningKeys",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "arn:aws:secretsmanager:*:*:secret:majlis/signing-keys-*",
            },
            {
                "Sid": "Exports",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetObject"],
                "Resource": "arn:aws:s3:::majlis-exports-*/*",
            },
            {"Sid": "Publish", "Effect": "Allow", "Action": "sns:Publish", "Resource": ok_topic},
            {
                "Sid": "ReadTheStream",
                "Effect": "Allow",
                "Action": [
                    "dynamodb:DescribeStream",
                    "dynamodb:GetShardIterator",
                    "dynamodb:GetRecords",
                ],
                "Resource": stream,
            },
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "arn:aws:logs:*:*:log-group:/aws/lambda/*",
            },
        ],
    }


@dataclass
class Rehearsal:
    aws: RehearsalAws
    role_arn: str
    probe: dict[str, str]
    queues: dict[str, str]
    topics: dict[str, str]
    stream: str

    def client(self, service: str) -> Any:
        return self.aws.client(service, self.probe)


def _create_resources(aws: RehearsalAws) -> tuple[dict[str, str], dict[str, str], str]:
    db = aws.client("dynamodb")
    for name in ("majlis", "other"):
        db.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": attribute, "AttributeType": "S"}
                for attribute in ("pk", "sk", "g")
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": index,
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
                for index in ("gsi1", "gsi2")
            ],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )
    stream = db.describe_table(TableName="majlis")["Table"]["LatestStreamArn"]
    sqs = aws.client("sqs")
    queues = {
        name: sqs.create_queue(QueueName=name)["QueueUrl"]
        for name in ("majlis-mail", "majlis-zoom")
    }
    sesv2 = aws.client("sesv2")
    sesv2.create_email_identity(EmailIdentity="majlis.example.org")
    sesv2.create_configuration_set(ConfigurationSetName="majlis")
    secrets = aws.client("secretsmanager")
    for name in ("majlis/signing-keys", "majlis/zoom"):
        secrets.create_secret(Name=name, SecretString="{}")
    s3 = aws.client("s3")
    for bucket in ("majlis-exports-1", "other-bucket"):
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    sns = aws.client("sns")
    topics = {name: sns.create_topic(Name=name)["TopicArn"] for name in ("majlis-ok", "majlis-no")}
    logs = aws.client("logs")
    for group in ("/aws/lambda/majlis-mail", "/other/group"):
        logs.create_log_group(logGroupName=group)
    return queues, topics, stream


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    root = tmp_path_factory.mktemp("rehearsal")
    aws = RehearsalAws(root / "outbox", denial_log=root / "denials.jsonl")
    aws.start()
    try:
        queues, topics, stream = _create_resources(aws)
        iam = aws.client("iam")
        role = iam.create_role(RoleName="probe-role", AssumeRolePolicyDocument=json.dumps(TRUST))
        iam.put_role_policy(
            RoleName="probe-role",
            PolicyName="probe",
            PolicyDocument=json.dumps(probe_policy(topics["majlis-ok"], stream)),
        )
        probe = aws.assume(role["Role"]["Arn"], SESSION)
        aws.enforce(True)
        yield Rehearsal(aws, role["Role"]["Arn"], probe, queues, topics, stream)
    finally:
        aws.stop()


def key(pk: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": pk}, "sk": {"S": "s"}}


def update(pk: str) -> dict[str, Any]:
    return {
        "TableName": "majlis",
        "Key": key(pk),
        "UpdateExpression": "SET a = :a",
        "ExpressionAttributeValues": {":a": {"S": "1"}},
    }


def simple_email(**extra: Any) -> dict[str, Any]:
    return {
        "FromEmailAddress": SENDER,
        "Destination": {"ToAddresses": ["amina@example.net"]},
        "Content": {"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}},
        **extra,
    }


RAW = (
    b"From: noreply@majlis.example.org\r\nTo: amina@example.net\r\n"
    b"Subject: Your seat\r\n\r\nSee you there.\r\n"
)

Call = Callable[[Rehearsal], Any]

ALLOWED: dict[str, Call] = {
    "dynamodb GetItem": lambda r: r.client("dynamodb").get_item(TableName="majlis", Key=key("A")),
    "dynamodb PutItem": lambda r: r.client("dynamodb").put_item(TableName="majlis", Item=key("A")),
    "dynamodb Query on gsi1": lambda r: r.client("dynamodb").query(
        TableName="majlis",
        IndexName="gsi1",
        KeyConditionExpression="#g = :g",
        ExpressionAttributeNames={"#g": "g"},
        ExpressionAttributeValues={":g": {"S": "x"}},
    ),
    "dynamodb UpdateItem on a leading key the condition allows": lambda r: r.client(
        "dynamodb"
    ).update_item(**update("CAMPAIGN#1")),
    "dynamodb TransactWriteItems, each item allowed": lambda r: r.client(
        "dynamodb"
    ).transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "majlis", "Item": key("B")}},
            {"Update": update("CAMPAIGN#2")},
        ]
    ),
    "sqs SendMessage": lambda r: r.client("sqs").send_message(
        QueueUrl=r.queues["majlis-mail"], MessageBody="m"
    ),
    "sqs ReceiveMessage": lambda r: r.client("sqs").receive_message(
        QueueUrl=r.queues["majlis-mail"]
    ),
    # AWS authorizes a batch as the action it batches: sqs:SendMessage, not a
    # sqs:SendMessageBatch the policy does not (and need not) name.
    "sqs SendMessageBatch, as sqs:SendMessage": lambda r: r.client("sqs").send_message_batch(
        QueueUrl=r.queues["majlis-mail"], Entries=[{"Id": "1", "MessageBody": "m"}]
    ),
    "secretsmanager GetSecretValue, by name": lambda r: r.client("secretsmanager").get_secret_value(
        SecretId="majlis/signing-keys"
    ),
    "sns Publish": lambda r: r.client("sns").publish(TopicArn=r.topics["majlis-ok"], Message="m"),
    "logs CreateLogStream": lambda r: r.client("logs").create_log_stream(
        logGroupName="/aws/lambda/majlis-mail", logStreamName=f"s{time.time_ns()}"
    ),
    "s3 PutObject": lambda r: r.client("s3").put_object(
        Bucket="majlis-exports-1", Key="k2", Body=b"x"
    ),
    "s3 GetObject": lambda r: r.client("s3").get_object(Bucket="majlis-exports-1", Key="k"),
    "sesv2 GetEmailIdentity (a GET without a body)": lambda r: r.client("sesv2").get_email_identity(
        EmailIdentity="majlis.example.org"
    ),
    "sts GetCallerIdentity": lambda r: r.client("sts").get_caller_identity(),
}


@pytest.mark.parametrize("call", ALLOWED.values(), ids=ALLOWED.keys())
def test_what_the_role_allows_is_answered(rehearsal: Rehearsal, call: Call) -> None:
    denied_before = len(rehearsal.aws.ledger.denials)
    call(rehearsal)
    assert len(rehearsal.aws.ledger.denials) == denied_before


ZOOM_QUEUE = "arn:aws:sqs:us-east-1:123456789012:majlis-zoom"
# (call, the error code, the action and resource a denial names)
DENIED: dict[str, tuple[Call, str, str, str]] = {
    "dynamodb GetItem on another table": (
        lambda r: r.client("dynamodb").get_item(TableName="other", Key=key("A")),
        "AccessDeniedException",
        "dynamodb:GetItem",
        "arn:aws:dynamodb:us-east-1:123456789012:table/other",
    ),
    "dynamodb Query on an index not allowed": (
        lambda r: r.client("dynamodb").query(
            TableName="majlis",
            IndexName="gsi2",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "x"}},
        ),
        "AccessDeniedException",
        "dynamodb:Query",
        f"{TABLE}/index/gsi2",
    ),
    "dynamodb UpdateItem on a leading key the condition refuses": (
        lambda r: r.client("dynamodb").update_item(**update("REG#1")),
        "AccessDeniedException",
        "dynamodb:UpdateItem",
        TABLE,
    ),
    "dynamodb TransactWriteItems with one item refused": (
        lambda r: r.client("dynamodb").transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "majlis", "Item": key("C")}},
                {"Update": update("REG#2")},
            ]
        ),
        "AccessDeniedException",
        "dynamodb:UpdateItem",
        TABLE,
    ),
    "dynamodb TransactWriteItems putting into another table": (
        lambda r: r.client("dynamodb").transact_write_items(
            TransactItems=[{"Put": {"TableName": "other", "Item": key("C")}}]
        ),
        "AccessDeniedException",
        "dynamodb:PutItem",
        "arn:aws:dynamodb:us-east-1:123456789012:table/other",
    ),
    "sqs SendMessage to another queue": (
        lambda r: r.client("sqs").send_message(QueueUrl=r.queues["majlis-zoom"], MessageBody="m"),
        "AccessDeniedException",
        "sqs:SendMessage",
        ZOOM_QUEUE,
    ),
    "secretsmanager GetSecretValue of another secret": (
        lambda r: r.client("secretsmanager").get_secret_value(SecretId="majlis/zoom"),
        "AccessDeniedException",
        "secretsmanager:GetSecretValue",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:majlis/zoom-",
    ),
    "sns Publish to another topic": (
        lambda r: r.client("sns").publish(TopicArn=r.topics["majlis-no"], Message="m"),
        "AccessDenied",
        "sns:Publish",
        "arn:aws:sns:us-east-1:123456789012:majlis-no",
    ),
    "logs CreateLogStream in another group": (
        lambda r: r.client("logs").create_log_stream(
            logGroupName="/other/group", logStreamName="s"
        ),
        "AccessDeniedException",
        "logs:CreateLogStream",
        "arn:aws:logs:us-east-1:123456789012:log-group:/other/group:log-stream:s",
    ),
    "s3 GetObject from another bucket": (
        lambda r: r.client("s3").get_object(Bucket="other-bucket", Key="k"),
        "AccessDenied",
        "s3:GetObject",
        "arn:aws:s3:::other-bucket/k",
    ),
    "ses GetSendQuota (no statement)": (
        lambda r: r.client("ses").get_send_quota(),
        "AccessDenied",
        "ses:GetSendQuota",
        "*",
    ),
    "sesv2 SendEmail through a configuration set not allowed": (
        lambda r: r.client("sesv2").send_email(**simple_email(ConfigurationSetName="other")),
        "AccessDeniedException",
        "ses:SendEmail",
        "arn:aws:ses:us-east-1:123456789012:configuration-set/other",
    ),
}


@pytest.mark.parametrize(("call", "code", "action", "resource"), DENIED.values(), ids=DENIED.keys())
def test_what_the_role_lacks_is_denied_naming_action_and_resource(
    rehearsal: Rehearsal, call: Call, code: str, action: str, resource: str
) -> None:
    # When the role calls what its policies do not allow
    with pytest.raises(ClientError) as denied:
        call(rehearsal)
    # Then AWS's error comes back, naming the principal, the action and the resource
    error = denied.value.response["Error"]
    assert error["Code"] == code
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert (
        f"assumed-role/probe-role/{SESSION} is not authorized to perform: {action}"
        in error["Message"]
    )
    assert f"on resource: {resource}" in error["Message"]
    # And the ledger holds the denial, attributed to the session
    last = rehearsal.aws.ledger.denials[-1]
    assert (last.who, last.action, last.verdict) == (SESSION, action, "implicit-deny")
    assert last.resource.startswith(resource)


def test_an_explicit_deny_wins_over_an_allow(rehearsal: Rehearsal) -> None:
    # Given a role allowed DeleteItem on the table, and denied it everywhere
    # When it deletes an item
    with pytest.raises(ClientError) as denied:
        rehearsal.client("dynamodb").delete_item(TableName="majlis", Key=key("A"))
    # Then the Deny decides
    assert (
        "with an explicit deny in an identity-based policy"
        in denied.value.response["Error"]["Message"]
    )
    last = rehearsal.aws.ledger.denials[-1]
    assert (last.action, last.verdict, last.statement) == (
        "dynamodb:DeleteItem",
        "explicit-deny",
        "NeverDelete",
    )


def test_a_denial_is_written_to_the_denial_log(rehearsal: Rehearsal) -> None:
    with pytest.raises(ClientError):
        rehearsal.client("dynamodb").get_item(TableName="other", Key=key("logged"))
    log = rehearsal.aws.ledger.denial_log
    assert log is not None
    last = json.loads(log.read_text().splitlines()[-1])
    assert last["who"] == SESSION
    assert last["context"] == {"dynamodb:LeadingKeys": ["logged"]}


def test_a_leading_key_condition_is_judged_on_the_item_key(rehearsal: Rehearsal) -> None:
    rehearsal.client("dynamodb").update_item(**update("CAMPAIGN#9"))
    check = rehearsal.aws.ledger.checks[-1]
    assert (check.action, check.context, check.verdict, check.statement) == (
        "dynamodb:UpdateItem",
        {"dynamodb:LeadingKeys": ["CAMPAIGN#9"]},
        "allow",
        "Campaigns",
    )


def test_the_table_s_stream_is_read_on_its_stream_arn(rehearsal: Rehearsal) -> None:
    # Given an item written, as the stream's poller reads it with the role
    rehearsal.client("dynamodb").put_item(TableName="majlis", Item=key("STREAMED"))
    streams = rehearsal.client("dynamodbstreams")
    described = streams.describe_stream(StreamArn=rehearsal.stream)["StreamDescription"]
    iterator = streams.get_shard_iterator(
        StreamArn=rehearsal.stream,
        ShardId=described["Shards"][0]["ShardId"],
        ShardIteratorType="TRIM_HORIZON",
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    # Then each read was judged on the stream, and allowed
    assert any(r["dynamodb"]["Keys"]["pk"] == {"S": "STREAMED"} for r in records)
    judged = [(c.action, c.resource, c.verdict) for c in rehearsal.aws.ledger.checks[-3:]]
    assert judged == [
        (f"dynamodb:{action}", rehearsal.stream, "allow")
        for action in ("DescribeStream", "GetShardIterator", "GetRecords")
    ]


def test_a_sent_email_lands_in_the_outbox_and_in_sent(rehearsal: Rehearsal) -> None:
    # When the role sends a raw email with tags through the allowed configuration set
    message_id = rehearsal.client("sesv2").send_email(
        FromEmailAddress=SENDER,
        Destination={"ToAddresses": ["amina@example.net"]},
        Content={"Raw": {"Data": RAW}},
        EmailTags=[{"Name": "kind", "Value": "confirmation"}],
        ConfigurationSetName="majlis",
    )["MessageId"]
    # Then SES's copy is the email, byte for byte, with what it was sent with
    sent = rehearsal.aws.sent[-1]
    assert (sent.message_id, sent.source, sent.recipient) == (
        message_id,
        SENDER,
        "amina@example.net",
    )
    assert (sent.tags, sent.configuration_set, sent.raw) == (
        {"kind": "confirmation"},
        "majlis",
        RAW,
    )
    # And the outbox holds it, named as local mode names it
    (written,) = rehearsal.aws.outbox.glob(f"*-{message_id}.eml")
    assert written.read_bytes() == RAW
    assert not list(rehearsal.aws.outbox.glob("*.partial"))


def test_a_send_is_judged_on_the_sender_domain_and_the_configuration_set(
    rehearsal: Rehearsal,
) -> None:
    rehearsal.client("sesv2").send_email(**simple_email(ConfigurationSetName="majlis"))
    checks = rehearsal.aws.ledger.checks[-2:]
    assert [(c.action, c.resource, c.verdict) for c in checks] == [
        (
            "ses:SendEmail",
            "arn:aws:ses:us-east-1:123456789012:identity/majlis.example.org",
            "allow",
        ),
        ("ses:SendEmail", "arn:aws:ses:us-east-1:123456789012:configuration-set/majlis", "allow"),
    ]


def test_an_unverified_sender_is_refused_by_ses(rehearsal: Rehearsal) -> None:
    with pytest.raises(ClientError) as refused:
        rehearsal.client("sesv2").send_email(**simple_email(FromEmailAddress="x@elsewhere.example"))
    assert refused.value.response["Error"]["Code"] == "MessageRejected"


def test_a_created_identity_is_verified_for_sending(rehearsal: Rehearsal) -> None:
    found = rehearsal.client("sesv2").get_email_identity(EmailIdentity="majlis.example.org")
    assert found["VerifiedForSendingStatus"] is True


def test_calls_are_counted_per_caller_service_and_operation(rehearsal: Rehearsal) -> None:
    def counted() -> dict[tuple[str, str, str], int]:
        return {k: v.count for k, v in rehearsal.aws.ledger.calls.items()}

    before = counted()
    db = rehearsal.client("dynamodb")
    for _ in range(3):
        db.get_item(TableName="majlis", Key=key("A"))
    rehearsal.client("sesv2").get_email_identity(EmailIdentity="majlis.example.org")
    rehearsal.client("s3").head_object(Bucket="majlis-exports-1", Key="k")
    rehearsal.aws.client("sqs").get_queue_url(QueueName="majlis-mail")
    after = counted()
    grown = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    assert grown == {
        (SESSION, "dynamodb", "GetItem"): 3,
        (SESSION, "ses", "GetEmailIdentity"): 1,
        (SESSION, "s3", "HeadObject"): 1,
        (OPERATOR, "sqs", "GetQueueUrl"): 1,
    }
    totals = rehearsal.aws.ledger.calls[(SESSION, "dynamodb", "GetItem")]
    assert totals.request_bytes > 0 and totals.response_bytes > 0


def test_a_throttled_send_is_what_the_ses_adapter_reads_as_throttled(
    rehearsal: Rehearsal, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.adapters import aws as aws_clients
    from chalicelib.adapters.ses import SesMailer
    from chalicelib.ports import Throttled

    # Given Majlis's SES adapter on the rehearsal, signed by the role
    monkeypatch.setenv("AWS_ENDPOINT_URL", rehearsal.aws.endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", rehearsal.probe["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", rehearsal.probe["aws_secret_access_key"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", rehearsal.probe["aws_session_token"])
    aws_clients.client.cache_clear()
    mailer = SesMailer("majlis")
    sent_before, throttled_before = len(rehearsal.aws.sent), rehearsal.aws.throttled
    try:
        # When SES is throttled for one send, and two are made
        rehearsal.aws.throttle_ses(1)
        with pytest.raises(Throttled, match="TooManyRequestsException"):
            mailer.send(RAW, SENDER, "amina@example.net", {"kind": "confirmation"})
        message_id = mailer.send(RAW, SENDER, "amina@example.net", {"kind": "confirmation"})
    finally:
        aws_clients.client.cache_clear()
    # Then only the first was refused, and only the second sent
    assert rehearsal.aws.throttled == throttled_before + 1
    assert [s.message_id for s in rehearsal.aws.sent[sent_before:]] == [message_id]


def test_a_presigned_url_is_judged_as_its_signer(rehearsal: Rehearsal) -> None:
    s3 = rehearsal.client("s3")
    allowed = s3.generate_presigned_url("get_object", {"Bucket": "majlis-exports-1", "Key": "k"})
    other = s3.generate_presigned_url("get_object", {"Bucket": "other-bucket", "Key": "k"})
    # The rehearsal's own URLs, on loopback (urllib: mock_aws may hold requests' adapter).
    with urllib.request.urlopen(allowed) as answer:  # noqa: S310
        assert answer.read() == b"x"
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(other)  # noqa: S310
    assert denied.value.code == 403
    last = rehearsal.aws.ledger.denials[-1]
    assert (last.who, last.action, last.resource) == (
        SESSION,
        "s3:GetObject",
        "arn:aws:s3:::other-bucket/k",
    )


def test_a_role_assumed_with_enforcement_on_is_judged_as_its_session(
    rehearsal: Rehearsal,
) -> None:
    late = rehearsal.aws.assume(rehearsal.role_arn, "Late")
    with pytest.raises(ClientError):
        rehearsal.aws.client("dynamodb", late).scan(TableName="majlis")
    assert rehearsal.aws.ledger.denials[-1].who == "Late"


def test_moto_s_switch_turns_this_server_s_enforcement_off_and_on(rehearsal: Rehearsal) -> None:
    def switch(to: bytes) -> dict[str, str]:
        asked = urllib.request.Request(  # noqa: S310 - the rehearsal, on loopback
            f"{rehearsal.aws.endpoint}/moto-api/reset-auth", data=to, method="POST"
        )
        with urllib.request.urlopen(asked) as answer:  # noqa: S310
            return json.loads(answer.read())

    scan = rehearsal.client("dynamodb").scan
    try:
        assert switch(b"inf")["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"] == "0"
        scan(TableName="majlis")  # nothing is judged
    finally:
        switch(b"0")
    with pytest.raises(ClientError):
        scan(TableName="majlis")


def test_a_wrong_secret_is_refused_by_its_signature(rehearsal: Rehearsal) -> None:
    forged = {**rehearsal.probe, "aws_secret_access_key": "wrong"}
    with pytest.raises(ClientError) as refused:
        rehearsal.aws.client("sns", forged).publish(
            TopicArn=rehearsal.topics["majlis-ok"], Message="m"
        )
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


# These two stop the module's rehearsal: they come last.


@pytest.fixture
def stopped(rehearsal: Rehearsal) -> Rehearsal:
    rehearsal.aws.stop()
    return rehearsal


def test_stop_frees_the_port(stopped: Rehearsal) -> None:
    port = int(stopped.aws.endpoint.rsplit(":", 1)[1])
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass
    with socket.socket() as server:  # as a server binds: past the connections' TIME_WAIT
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen()


def test_moto_in_process_behaves_as_moto_after_a_rehearsal(stopped: Rehearsal) -> None:
    from moto import mock_aws
    from moto.core import set_initial_no_auth_action_count

    # Given moto in-process, and a user allowed GetItem on one table by name
    with mock_aws():
        boto3.client("iam", region_name="us-east-1").create_user(UserName="u")
        iam = boto3.client("iam", region_name="us-east-1")
        iam.put_user_policy(
            UserName="u",
            PolicyName="p",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": TABLE}],
                }
            ),
        )
        created = iam.create_access_key(UserName="u")["AccessKey"]
        db = boto3.client(
            "dynamodb",
            region_name="us-east-1",
            aws_access_key_id=created["AccessKeyId"],
            aws_secret_access_key=created["SecretAccessKey"],
        )

        @set_initial_no_auth_action_count(0)
        def list_tables() -> Any:
            return db.list_tables()

        # When it calls DynamoDB with moto's own enforcement on
        with pytest.raises(ClientError) as denied:
            list_tables()
        # Then moto's own decision answers (it names no resource), and no rehearsal records it
        assert "on resource" not in str(denied.value)
        assert "is not authorized to perform: dynamodb:ListTables" in str(denied.value)
        # And moto's SES refuses an unverified sender, writing no outbox
        sent_before = len(stopped.aws.sent)
        with pytest.raises(ClientError):
            boto3.client("sesv2", region_name="us-east-1").send_email(**simple_email())
        assert len(stopped.aws.sent) == sent_before
