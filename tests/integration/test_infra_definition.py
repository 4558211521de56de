"""One definition of the AWS resources: what local mode creates is what the template says.

Given infra/resources.yaml, when the local provisioner creates it in moto, then every
resource exists with the properties the template gives it.
"""

from __future__ import annotations

import json

import boto3
import pytest

from chalicelib.ports import ZoomCredentials
from infra import resources_of_type, template


def _properties(kind: str) -> dict[str, dict]:
    return {k: v["Properties"] for k, v in resources_of_type(kind).items()}


def test_every_resource_type_in_the_template_is_created_locally(aws):
    from infra.local.provision import NOT_EMULATED, Provisioner

    kinds = {r["Type"] for r in template()["Resources"].values() if "Type" in r}
    for kind in kinds - set(NOT_EMULATED):
        creator = "_" + kind.replace("::", "_").lower()
        assert hasattr(Provisioner, creator), f"local mode cannot create {kind}"


def test_local_mode_leaves_out_only_what_watches_or_guards_the_cloud_and_keeps_the_topics(aws):
    from infra.local.provision import NOT_EMULATED

    assert set(NOT_EMULATED) == {
        "AWS::CloudWatch::Alarm",
        "AWS::Logs::LogGroup",
        "AWS::ApiGateway::Account",
        "AWS::ApiGateway::DomainName",
        "AWS::ApiGateway::BasePathMapping",
        "AWS::IAM::Role",
        "AWS::WAFv2::WebACL",
        "AWS::WAFv2::WebACLAssociation",
    }
    roles = {k for k, v in template()["Resources"].items() if v.get("Type") == "AWS::IAM::Role"}
    assert roles == {"ApiGatewayLogsRole"}  # the functions' roles are Chalice's, not here
    groups = boto3.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/")
    assert groups["logGroups"] == []  # the functions' logs go to the terminal
    topic = _properties("AWS::SNS::Topic")["AlarmTopic"]["TopicName"]
    arns = [t["TopicArn"] for t in boto3.client("sns").list_topics()["Topics"]]
    assert any(arn.endswith(":" + topic) for arn in arns)
    assert boto3.client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    # Both topics encrypted with the template's key, as deployed.
    kms = boto3.client("kms")
    wanted = _properties("AWS::KMS::Key")["TopicKey"]["Description"]
    (key,) = [
        k["KeyId"]
        for k in kms.list_keys()["Keys"]
        if kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["Description"] == wanted
    ]
    for arn in arns:
        attributes = boto3.client("sns").get_topic_attributes(TopicArn=arn)["Attributes"]
        assert attributes["KmsMasterKeyId"] == key, arn


@pytest.mark.parametrize("logical_id", sorted(resources_of_type("AWS::DynamoDB::Table")))
def test_tables_match(aws, logical_id):
    spec = _properties("AWS::DynamoDB::Table")[logical_id]
    db = boto3.client("dynamodb")
    table = db.describe_table(TableName=spec["TableName"])["Table"]
    assert table["KeySchema"] == spec["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        spec["AttributeDefinitions"], key=lambda a: a["AttributeName"]
    )
    indexes = {i["IndexName"]: i for i in table.get("GlobalSecondaryIndexes", [])}
    for wanted in spec.get("GlobalSecondaryIndexes", []):
        found = indexes[wanted["IndexName"]]
        assert found["KeySchema"] == wanted["KeySchema"]
        assert found["Projection"]["ProjectionType"] == wanted["Projection"]["ProjectionType"]
    assert set(indexes) == {i["IndexName"] for i in spec.get("GlobalSecondaryIndexes", [])}
    if "StreamSpecification" in spec:
        assert table["StreamSpecification"] == {
            "StreamEnabled": True,
            "StreamViewType": spec["StreamSpecification"]["StreamViewType"],
        }
    else:
        assert not table.get("StreamSpecification", {}).get("StreamEnabled")
    ttl = db.describe_time_to_live(TableName=spec["TableName"])["TimeToLiveDescription"]
    assert ttl["AttributeName"] == spec["TimeToLiveSpecification"]["AttributeName"]
    assert ttl["TimeToLiveStatus"] == "ENABLED"
    if "PointInTimeRecoverySpecification" in spec:
        backups = db.describe_continuous_backups(TableName=spec["TableName"])
        pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"


def test_the_main_table_streams_old_and_new_images(aws):
    spec = _properties("AWS::DynamoDB::Table")["Table"]
    assert spec["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"


def test_queues_match_with_their_dead_letter_queues(aws):
    sqs = boto3.client("sqs")
    specs = _properties("AWS::SQS::Queue")
    names_by_id = {logical: spec["QueueName"] for logical, spec in specs.items()}
    for spec in specs.values():
        url = sqs.get_queue_url(QueueName=spec["QueueName"])["QueueUrl"]
        found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        for name in ("VisibilityTimeout", "MessageRetentionPeriod"):
            if name in spec:
                assert found[name] == str(spec[name]), (spec["QueueName"], name)
        if "RedrivePolicy" in spec:
            redrive = json.loads(found["RedrivePolicy"])
            target = spec["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            assert redrive["deadLetterTargetArn"].endswith(":" + names_by_id[target])
            assert int(redrive["maxReceiveCount"]) == spec["RedrivePolicy"]["maxReceiveCount"]
    # Every queue a function consumes has a dead-letter queue.
    for logical in ("MailQueue", "SesEventsQueue"):
        assert "RedrivePolicy" in specs[logical]


def test_ses_events_flow_to_their_queue(aws):
    (config_set,) = _properties("AWS::SES::ConfigurationSet").values()
    (destination,) = _properties("AWS::SES::ConfigurationSetEventDestination").values()
    ses = boto3.client("ses")
    described = ses.describe_configuration_set(
        ConfigurationSetName=config_set["Name"],
        ConfigurationSetAttributeNames=["eventDestinations"],
    )
    (found,) = described["EventDestinations"]
    wanted = destination["EventDestination"]
    assert found["Name"] == wanted["Name"]
    assert sorted(t.lower() for t in found["MatchingEventTypes"]) == sorted(
        wanted["MatchingEventTypes"]
    )
    topic_arn = found["SNSDestination"]["TopicARN"]
    topic = _properties("AWS::SNS::Topic")["SesEventsTopic"]
    assert topic_arn.endswith(":" + topic["TopicName"])
    subscriptions = boto3.client("sns").list_subscriptions_by_topic(TopicArn=topic_arn)
    (subscription,) = subscriptions["Subscriptions"]
    queue = _properties("AWS::SQS::Queue")["SesEventsQueue"]["QueueName"]
    assert subscription["Protocol"] == "sqs"
    assert subscription["Endpoint"].endswith(":" + queue)


def test_signing_key_secret_is_generated(aws):
    spec = _properties("AWS::SecretsManager::Secret")["SigningKeys"]
    value = json.loads(
        boto3.client("secretsmanager").get_secret_value(SecretId=spec["Name"])["SecretString"]
    )
    key = spec["GenerateSecretString"]["GenerateStringKey"]
    assert value["active"] == key
    assert len(value[key]) == spec["GenerateSecretString"]["PasswordLength"]
    assert value[key].isalnum()


@pytest.mark.parametrize(
    "handler, suffix",
    [
        ("on_table_change", "DynamodbEventSource"),
        ("mail_worker", "SqsEventSource"),
        ("announcement_worker", "SqsEventSource"),
        ("on_ses_event", "SqsEventSource"),
        ("zoom_worker", "SqsEventSource"),
        ("campaign_fanout", "SqsEventSource"),
        ("export_registrations", "SqsEventSource"),
    ],
)
def test_event_sources_report_partial_batch_failures(handler, suffix):
    from infra.local.lambdas import event_source

    assert "ReportBatchItemFailures" in event_source(handler, suffix)["FunctionResponseTypes"]


def test_the_zoom_secrets_are_created_empty_and_read_as_not_configured(aws):
    secrets = boto3.client("secretsmanager")
    specs = _properties("AWS::SecretsManager::Secret")
    for name in ("ZoomCredentials", "ZoomWebhookSecret"):
        assert not {"SecretString", "GenerateSecretString"} & set(specs[name]), name
        with pytest.raises(secrets.exceptions.ResourceNotFoundException):
            secrets.get_secret_value(SecretId=specs[name]["Name"])  # no value: none in code
    assert aws.zoom_credentials() == ZoomCredentials("", "", "")
    assert aws.zoom_webhook_token() == ""
    # An operator's slip (a value that is no JSON object) reads as not configured too,
    # and the webhooks stay refused rather than failing.
    from chalicelib.adapters.secrets import SecretRing

    secrets.put_secret_value(SecretId="majlis/zoom-webhook", SecretString="not json")
    assert SecretRing("majlis/zoom-webhook", optional=True).value() == {}
    secrets.put_secret_value(SecretId="majlis/zoom-webhook", SecretString='["a list"]')
    assert SecretRing("majlis/zoom-webhook", optional=True).value() == {}
    secrets.put_secret_value(SecretId="majlis/zoom-webhook", SecretString='{"secret_token": "t"}')
    assert SecretRing("majlis/zoom-webhook", optional=True).value() == {"secret_token": "t"}
    # The signing keys are never optional: a broken value is an error, not "no keys".
    keys = specs["SigningKeys"]["Name"]
    saved = secrets.get_secret_value(SecretId=keys)["SecretString"]
    secrets.put_secret_value(SecretId=keys, SecretString="not json")
    with pytest.raises(Exception, match="Unable to transform"):
        SecretRing(keys).value()
    secrets.put_secret_value(SecretId=keys, SecretString=saved)


# -- alarms ------------------------------------------------------------------------------


def _alarms() -> list[dict]:
    return list(_properties("AWS::CloudWatch::Alarm").values())


def _dead_letter_queues() -> set[str]:
    """Where work given up on goes: every redrive target and stream failure destination."""
    found = set()
    for resource in template()["Resources"].values():
        properties = resource.get("Properties", {})
        if "RedrivePolicy" in properties:
            found.add(properties["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0])
        for source in properties.get("Events", {}).values():
            failure = source.get("Properties", {}).get("DestinationConfig", {}).get("OnFailure")
            if failure:
                found.add(failure["Destination"]["Fn::GetAtt"][0])
    return found


def test_every_queue_has_a_dead_letter_queue_and_every_dead_letter_queue_an_alarm():
    dead_letters = _dead_letter_queues()
    assert {"MailDeadLetterQueue", "StreamFailureQueue"} <= dead_letters
    for logical, spec in _properties("AWS::SQS::Queue").items():
        assert logical in dead_letters or "RedrivePolicy" in spec, logical
    watched = set()
    for alarm in _alarms():
        if alarm["MetricName"] == "ApproximateNumberOfMessagesVisible":
            (dimension,) = alarm["Dimensions"]
            assert dimension["Name"] == "QueueName"
            assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
            watched.add(dimension["Value"]["Fn::GetAtt"][0])
    assert dead_letters <= watched, dead_letters - watched


def test_every_alarm_tells_the_alarm_topic_and_says_what_missing_data_means():
    alarms = _alarms()
    assert len({a["AlarmName"] for a in alarms}) == len(alarms)
    for alarm in alarms:
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "AlarmTopic"}], alarm
        assert alarm["TreatMissingData"] in ("notBreaching", "ignore"), alarm
        assert "Runbook" in alarm["AlarmDescription"]


def test_ses_reputation_alarms_warn_before_aws_reviews_the_account():
    thresholds: dict[str, set[float]] = {}
    for alarm in _alarms():
        if alarm["Namespace"] == "AWS/SES":
            assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
            thresholds.setdefault(alarm["MetricName"], set()).add(alarm["Threshold"])
    # AWS reviews an account from 5 % bounces or 0.1 % complaints.
    assert thresholds == {
        "Reputation.BounceRate": {0.02, 0.05},
        "Reputation.ComplaintRate": {0.0005, 0.001},
    }
