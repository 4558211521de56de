"""Create the resources of ``infra/resources.yaml`` in moto, the way CloudFormation would.

Only the resource types Majlis uses are known here; an unknown type is an error, so
a resource added to the template cannot silently go missing in local mode. The few
types local mode has no use for are named in ``NOT_EMULATED`` and left out. Intrinsic
functions (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``) resolve to the created resources,
which are created on demand, dependencies first.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from typing import Any

import boto3

from infra import template

ACCOUNT_ID = "123456789012"

# Resource types local mode leaves out, and why.
NOT_EMULATED = {
    "AWS::CloudWatch::Alarm": "nothing reports Lambda, SQS or SES metrics locally",
    "AWS::Logs::LogGroup": "the functions' logs go to the terminal locally",
    "AWS::ApiGateway::Account": "the local gateway writes no access log",
    "AWS::ApiGateway::DomainName": "local mode answers on the loopback",
    "AWS::ApiGateway::BasePathMapping": "local mode answers on the loopback",
    "AWS::IAM::Role": "only API Gateway's, for its access log",
    "AWS::WAFv2::WebACL": "no firewall stands before the local gateway",
    "AWS::WAFv2::WebACLAssociation": "no firewall stands before the local gateway",
}


def _queue_attribute(value: Any) -> str:
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


class Provisioner:
    """Creates a template's resources (local mode's own, ``infra/resources.yaml``, unless
    given another) in moto, leaving out the types in ``not_emulated``."""

    not_emulated: dict[str, str] = NOT_EMULATED

    def __init__(self, region: str, definition: dict[str, Any] | None = None) -> None:
        self.region = region
        self.definition = definition if definition is not None else template()
        self.resources = self.definition["Resources"]
        self.refs: dict[str, str] = {}
        self.attributes: dict[str, dict[str, str]] = {}
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name=self.region)
        return self._clients[service]

    # -- intrinsic functions ---------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Fn::GetAtt":
                logical_id, attribute = argument
                self.create(logical_id)
                return self.attributes[logical_id][attribute]
            if key == "Fn::Sub":
                return re.sub(r"\$\{([^}]+)\}", lambda m: str(self._sub(m.group(1))), argument)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        self.create(name)
        return self.refs[name]

    def _sub(self, name: str) -> str:
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            return self.resolve({"Fn::GetAtt": [logical_id, attribute]})
        return self.ref(name)

    # -- resources -------------------------------------------------------------------

    def create_all(self) -> dict[str, str]:
        for logical_id, resource in self.resources.items():
            if "Type" in resource:
                self.create(logical_id)
        return {  # an output of a condition's (a custom domain) is a cloud option's
            name: self.resolve(output["Value"])
            for name, output in self.definition.get("Outputs", {}).items()
            if "Condition" not in output
        }

    def create(self, logical_id: str) -> None:
        if logical_id in self.refs:
            return
        resource = self.resources[logical_id]
        kind = resource.get("Type")
        if kind in self.not_emulated:  # before resolving: alarms name functions local mode lacks
            self.refs[logical_id] = logical_id
            self.attributes[logical_id] = {}
            return
        properties = self.resolve(resource.get("Properties", {}))
        creator = getattr(self, "_" + re.sub(r"\W+", "_", kind or "").lower(), None)
        if creator is None:
            raise NotImplementedError(f"local mode cannot create {kind} ({logical_id})")
        ref, attributes = creator(properties)
        self.refs[logical_id] = ref
        self.attributes[logical_id] = attributes

    def _aws_dynamodb_table(self, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
        db = self.client("dynamodb")
        request = {
            key: p[key]
            for key in (
                "TableName",
                "AttributeDefinitions",
                "KeySchema",
                "BillingMode",
                "GlobalSecondaryIndexes",
            )
            if key in p
        }
        if "SSESpecification" in p:  # CloudFormation's spelling differs from the API's
            request["SSESpecification"] = {"Enabled": p["SSESpecification"]["SSEEnabled"]}
        stream = p.get("StreamSpecification")
        if stream:
            request["StreamSpecification"] = {"StreamEnabled": True, **stream}
        table = db.create_table(**request)["TableDescription"]
        ttl = p.get("TimeToLiveSpecification")
        if ttl:
            db.update_time_to_live(TableName=p["TableName"], TimeToLiveSpecification=ttl)
        pitr = p.get("PointInTimeRecoverySpecification")
        if pitr:
            db.update_continuous_backups(
                TableName=p["TableName"], PointInTimeRecoverySpecification=pitr
            )
        return p["TableName"], {
            "Arn": table["TableArn"],
            "StreamArn": table.get("LatestStreamArn", ""),
        }

    def _aws_sqs_queue(self, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
        sqs = self.client("sqs")
        attributes = {key: _queue_attribute(v) for key, v in p.items() if key != "QueueName"}
        url = sqs.create_queue(QueueName=p["QueueName"], Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return url, {"Arn": arn, "QueueName": p["QueueName"], "QueueUrl": url}

    def _aws_sqs_queuepolicy(self, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
        for url in p["Queues"]:
            self.client("sqs").set_queue_attributes(
                QueueUrl=url, Attributes={"Policy": json.dumps(p["PolicyDocument"])}
            )
        return "queue-policy", {}

    def _aws_kms_key(self, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
        key = self.client("kms").create_key(
            Description=p.get("Description", ""), Policy=json.dumps(p["KeyPolicy"])
        )["KeyMetadata"]
        return key["KeyId"], {"Arn": key["Arn"], "KeyId": key["KeyId"]}

    def _aws_sns_topic(self, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
        attributes = {"KmsMasterKeyId": p["KmsMasterKeyId"]} if "KmsMasterKeyId" in p else {}
        arn = self.client("sns").create_topic(Name=p["TopicName"], Attributes=attributes)[
            "TopicArn"
        ]
        return arn, {"TopicArn": arn, "TopicName": p["TopicName"]}

    def _aws_sns_topicpolicy(self, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
        for arn in p["Topics"]:
            self.client("sns").set_topic_attributes(
                TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(p["PolicyDocument"])
            )
        return "topic-policy", {}

    def _aws_sns_subscription(self, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
        arn = self.client("sns").subscribe(
            TopicArn=p["TopicArn"],
            Protocol=p["Protocol"],
            Endpoint=p["Endpoint"],
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        return arn, {}

    def _aws_ses_configurationset(self, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
        self.client("ses").create_configuration_set(ConfigurationSet={"Name": p["Name"]})
        return p["Name"], {}

    def _aws_ses_configurationseteventdestination(
        self, p: dict[str, Any]
    ) -> tuple[str, dict[str, str]]:
        destination = p["EventDestination"]
        self.client("ses").create_configuration_set_event_destination(
            ConfigurationSetName=p["ConfigurationSetName"],
            EventDestination={
                "Name": destination["Name"],
                "Enabled": destination.get("Enabled", False),
                "MatchingEventTypes": destination["MatchingEventTypes"],
                "SNSDestination": {"TopicARN": destination["SnsDestination"]["TopicARN"]},
            },
        )
        return destination["Name"], {}

    def _aws_s3_bucket(self, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
        s3 = self.client("s3")
        name = p["BucketName"]
        s3.create_bucket(Bucket=name)
        if "BucketEncryption" in p:
            s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [  # CloudFormation's spelling differs from the API's
                        {"ApplyServerSideEncryptionByDefault": r["ServerSideEncryptionByDefault"]}
                        for r in p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                    ]
                },
            )
        if "PublicAccessBlockConfiguration" in p:
            s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=p["PublicAccessBlockConfiguration"]
            )
        if "OwnershipControls" in p:
            s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=p["OwnershipControls"])
        rules = (p.get("LifecycleConfiguration") or {}).get("Rules", [])
        if rules:  # CloudFormation's spelling differs from the API's
            s3.put_bucket_lifecycle_configuration(
                Bucket=name,
                LifecycleConfiguration={
                    "Rules": [
                        {
                            "ID": rule["Id"],
                            "Status": rule["Status"],
                            "Filter": {"Prefix": ""},
                            "Expiration": {"Days": rule["ExpirationInDays"]},
                            "AbortIncompleteMultipartUpload": rule[
                                "AbortIncompleteMultipartUpload"
                            ],
                        }
                        for rule in rules
                    ]
                },
            )
        return name, {"Arn": f"arn:aws:s3:::{name}"}

    def _aws_secretsmanager_secret(self, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
        generate = p.get("GenerateSecretString") or {}
        value = json.loads(p.get("SecretString") or generate.get("SecretStringTemplate") or "{}")
        if generate.get("GenerateStringKey"):
            alphabet = string.ascii_letters + string.digits
            if not generate.get("ExcludePunctuation"):
                alphabet += "!#$%&()*+,-.:;<=>?@[]^_{|}~"
            length = int(generate.get("PasswordLength", 32))
            value[generate["GenerateStringKey"]] = "".join(
                secrets.choice(alphabet) for _ in range(length)
            )
        given = {"SecretString": json.dumps(value)} if value else {}  # else created empty
        arn = self.client("secretsmanager").create_secret(
            Name=p["Name"], Description=p.get("Description", ""), **given
        )["ARN"]
        return arn, {"Id": arn}
