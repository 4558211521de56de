"""The packaged CloudFormation template: `chalice package --merge-template`, then cfn-lint.

Also checks what Chalice cannot express by itself: real stream and queue ARNs on the
event sources, partial batch responses, and one hand-written policy per function that
grants only what that function does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml

from infra import PROJECT_DIR
from infra.bytecode import BUNDLE, compile_bundle

CHALICE = Path(sys.executable).parent / "chalice"
CFN_LINT = Path(sys.executable).parent / "cfn-lint"
MAKE = shutil.which("make") or "make"
FIXTURES = PROJECT_DIR / "tests" / "fixtures" / "packaged"


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


@pytest.fixture(scope="module", params=["dev", "prod"])
def packaged(request, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp(f"package-{request.param}")
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    subprocess.run(
        [
            str(CHALICE),
            "--project-dir",
            str(PROJECT_DIR),
            "package",
            "--stage",
            request.param,
            "--template-format",
            "yaml",
            "--merge-template",
            str(PROJECT_DIR / "infra" / "resources.yaml"),
            str(out),
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    template_path = out / "sam.yaml"
    return template_path, yaml.load(template_path.read_text(), Loader=_Loader)  # noqa: S506


def lambda_surface(doc: dict) -> dict:
    """What each function is, as packaged: its settings (handler, memory, timeout,
    environment, event sources with their batch and concurrency settings), its role's
    policies and its invoke permissions."""
    kinds = (
        "AWS::Serverless::Function",
        "AWS::IAM::Role",
        "AWS::Lambda::Permission",
        "AWS::Lambda::EventSourceMapping",
    )
    return {
        name: {
            "Type": resource["Type"],
            "Properties": {
                key: value
                for key, value in resource.get("Properties", {}).items()
                if key not in ("CodeUri", "Tags")  # the bundle's path; Chalice's version
            },
        }
        for name, resource in sorted(doc["Resources"].items())
        if resource.get("Type") in kinds
    }


def test_functions_policies_event_sources_and_environment_are_as_recorded(packaged):
    """tests/fixtures/packaged/<stage>.json records them; a change to what a function
    may do, what feeds it or what it is told shows here, and is made on purpose (update
    the file with the change, and say why in the commit)."""
    path, doc = packaged
    stage = path.parent.name.removeprefix("package-").rstrip("0123456789")
    recorded = json.loads((FIXTURES / f"{stage}.json").read_text(encoding="utf-8"))
    assert json.loads(json.dumps(lambda_surface(doc))) == recorded


def test_cfn_lint_passes(packaged):
    path, _ = packaged
    result = subprocess.run([str(CFN_LINT), str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_event_sources_use_real_arns_and_partial_failures(packaged):
    _, doc = packaged
    resources = doc["Resources"]
    stream = resources["OnTableChange"]["Properties"]["Events"]["OnTableChangeDynamodbEventSource"]
    assert stream["Properties"]["Stream"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    assert stream["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    for function, queue in (
        ("MailWorker", "MailQueue"),
        ("OnSesEvent", "SesEventsQueue"),
        ("ZoomWorker", "ZoomQueue"),
        ("CampaignFanout", "CampaignQueue"),
        ("ExportRegistrations", "ExportQueue"),
    ):
        source = resources[function]["Properties"]["Events"][f"{function}SqsEventSource"]
        assert source["Properties"]["Queue"] == {"Fn::GetAtt": [queue, "Arn"]}
        assert source["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    env = resources["OnTableChange"]["Properties"]["Environment"]["Variables"]
    assert env["MAJLIS_MAIL_QUEUE_URL"] == {"Ref": "MailQueue"}


def test_gateway_answers_problem_documents(packaged):
    _, doc = packaged
    body = doc["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    responses = body["x-amazon-apigateway-gateway-responses"]
    for kind in ("UNAUTHORIZED", "ACCESS_DENIED", "MISSING_AUTHENTICATION_TOKEN"):
        headers = responses[kind]["responseParameters"]
        assert headers["gatewayresponse.header.Content-Type"] == "'application/problem+json'"


def test_every_function_has_alarms_on_its_errors_and_throttles(packaged):
    _, doc = packaged
    resources = doc["Resources"]
    functions = {k for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
    assert {"APIHandler", "OrganizerToken", "MailWorker"} <= functions
    watched: dict[str, set[str]] = {name: set() for name in functions}
    for resource in resources.values():
        alarm = resource["Properties"] if resource["Type"] == "AWS::CloudWatch::Alarm" else {}
        if alarm.get("Namespace") == "AWS/Lambda":
            (dimension,) = alarm["Dimensions"]
            assert dimension["Name"] == "FunctionName"
            watched[dimension["Value"]["Ref"]].add(alarm["MetricName"])
    for name in functions:
        assert {"Errors", "Throttles"} <= watched[name], name
        events = resources[name]["Properties"].get("Events", {}).values()
        if any(e["Type"] == "DynamoDB" for e in events):  # a stream reader falling behind
            assert "IteratorAge" in watched[name], name


# Actions without resource-level permissions: the account's SES sending quota.
ACCOUNT_LEVEL_ACTIONS = {"ses:GetSendQuota"}


def _actions(policy: dict) -> set[str]:
    found = set()
    for statement in policy["Statement"]:
        actions = statement["Action"]
        found.update([actions] if isinstance(actions, str) else actions)
    return found


def test_each_function_has_its_own_least_privilege_policy(packaged):
    _, doc = packaged
    resources = doc["Resources"]
    roles = {k: v for k, v in resources.items() if v["Type"] == "AWS::IAM::Role"}
    assert set(roles) == {
        "ApiHandlerRole",
        "OrganizerTokenRole",
        "OnTableChangeRole",
        "MailWorkerRole",
        "AnnouncementWorkerRole",
        "CampaignFanoutRole",
        "SendRemindersRole",
        "ExportRegistrationsRole",
        "OnSesEventRole",
        "ZoomWorkerRole",
        "ReconcileZoomRole",
    }
    actions = {
        name: _actions(role["Properties"]["Policies"][0]["PolicyDocument"])
        for name, role in roles.items()
    }
    # Only the mail workers send email; only what signs or checks links reads the keys;
    # only the change handler reads the stream.
    senders = ("MailWorkerRole", "AnnouncementWorkerRole")
    for role in senders:
        assert {a for a in actions[role] if a.startswith("ses:Send")}, role
    for role in roles:
        if role not in senders:
            assert not {a for a in actions[role] if a.startswith("ses:Send")}, role
    for role in ("OrganizerTokenRole", "OnTableChangeRole", "OnSesEventRole"):
        assert "secretsmanager:GetSecretValue" not in actions[role], role
    for role in ("ApiHandlerRole", *senders):
        assert "secretsmanager:GetSecretValue" in actions[role], role
    assert "dynamodb:GetRecords" in actions["OnTableChangeRole"]
    # The change handler writes only counters and their marks, never a registration.
    stream_policy = roles["OnTableChangeRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    puts = [
        s for s in stream_policy["Statement"] if "dynamodb:PutItem" in _actions({"Statement": [s]})
    ]
    assert [s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] for s in puts] == [
        ["EVENT#*", "STATSMARK#*"]
    ]
    # The authorizer reads tokens, and nothing else.
    assert actions["OrganizerTokenRole"] - {
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    } == {"dynamodb:GetItem"}
    for role in roles.values():
        for statement in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]:
            if statement["Resource"] == "*":
                # Only actions that IAM cannot scope to a resource.
                assert set(statement["Action"]) <= ACCOUNT_LEVEL_ACTIONS, statement
            assert not any(a.endswith(":*") for a in _actions({"Statement": [statement]}))


def _resource_name(arn: str) -> str | None:
    """The resource an ARN of our policies names (None for log groups and identities)."""
    if arn == "*":
        return None  # account-level actions only (checked above)
    service, resource = arn.split(":")[2], ":".join(arn.split(":")[5:])
    if service == "dynamodb":
        return resource.split("/")[1]  # table/<name>[/index/…|/stream/…]
    if service == "sqs":
        return resource
    if service == "secretsmanager":
        return resource.removeprefix("secret:").removesuffix("-*")
    if service == "ses" and resource.startswith("configuration-set/"):
        return resource.split("/", 1)[1]
    if service == "s3":
        return resource.split("/")[0]  # <bucket>/<keys>; the bucket may be a pattern
    if service in ("logs", "ses"):
        return None
    raise AssertionError(f"unexpected ARN {arn}")


def test_policies_name_only_resources_of_the_template():
    from infra import template

    names = {
        r["Properties"].get(key)
        for r in template()["Resources"].values()
        if "Type" in r
        for key in ("TableName", "QueueName", "Name", "TopicName")
        if r["Properties"].get(key)
    }
    # Bucket names hold the account and region: as one would be deployed.
    for resource in template()["Resources"].values():
        bucket = resource.get("Properties", {}).get("BucketName")
        if isinstance(bucket, dict):
            names.add(
                bucket["Fn::Sub"]
                .replace("${AWS::AccountId}", "123456789012")
                .replace("${AWS::Region}", "eu-west-1")
            )
    policies = sorted((PROJECT_DIR / ".chalice").glob("policy-*.json"))
    assert len(policies) == 11
    for path in policies:
        for statement in json.loads(path.read_text())["Statement"]:
            resources = statement["Resource"]
            for arn in [resources] if isinstance(resources, str) else resources:
                name = _resource_name(arn)
                assert name is None or any(fnmatch(known, name) for known in names), (
                    path.name,
                    arn,
                )


@pytest.mark.parametrize("packaged", ["dev"], indirect=True)
def test_the_bundle_ships_bytecode_that_a_cold_start_reads(packaged, tmp_path):
    package_dir = packaged[0].parent
    compiled = compile_bundle(package_dir)
    with zipfile.ZipFile(package_dir / BUNDLE) as bundle:
        names = set(bundle.namelist())
        bundle.extractall(tmp_path)
    sources = [name for name in names if name.endswith(".py")]
    assert compiled == len(sources) > 500
    for source in sources:
        folder, _, module = source.rpartition("/")
        cached = f"{folder}/__pycache__/{module[:-3]}.cpython-311.pyc".lstrip("/")
        assert cached in names, source

    # A fresh interpreter that may not write bytecode (as on Lambda's read-only disk)
    # imports the app from the bundle's bytecode alone: no module compiled from source.
    trace = subprocess.run(
        [
            sys.executable,
            "-I",
            "-B",
            "-v",
            "-c",
            f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import app",
        ],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    prefix = f"# code object from {tmp_path}"
    loaded = [line for line in trace.splitlines() if line.replace("'", "").startswith(prefix)]
    from_source = [line for line in loaded if not line.endswith(".pyc'")]
    assert len(loaded) > 100
    assert from_source == []


def test_every_function_is_told_the_stage_s_public_address_which_must_be_https(packaged, tmp_path):
    packaged_path, doc = packaged
    variables = doc["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["MAJLIS_DEPLOYED"] == "true"
    assert variables["MAJLIS_PUBLIC_BASE_URL"] == {"Ref": "PublicBaseUrl"}
    assert variables["MAJLIS_ZOOM_JOIN_URLS"] == {"Ref": "ZoomJoinUrls"}
    parameter = doc["Parameters"]["PublicBaseUrl"]
    assert "Default" not in parameter  # chalice package alone: make package records it
    import re

    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.fullmatch("https://majlis.example.org")
    for wrong in ("http://majlis.example.org", "https://majlis.example.org/x", ""):
        assert not pattern.fullmatch(wrong)
    # No function sets its own address, which would hide the stage's
    for resource in doc["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            own = resource["Properties"].get("Environment", {}).get("Variables", {})
            assert "MAJLIS_PUBLIC_BASE_URL" not in own

    from infra.stage import record

    path = tmp_path / "sam.yaml"
    path.write_text(packaged_path.read_text())
    record(tmp_path, "https://majlis.example.org/")
    recorded = yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506
    assert recorded["Parameters"]["PublicBaseUrl"]["Default"] == "https://majlis.example.org"
    assert recorded["Resources"] == doc["Resources"]
    subprocess.run([str(CFN_LINT), str(path)], check=True, capture_output=True)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("", "is not set"),
        ("http://127.0.0.1:8000", "must be https"),
        ("https://127.0.0.1:8000", "cannot reach (127.0.0.1)"),
        ("https://localhost", "this machine"),
        ("https://192.168.1.20", "cannot reach"),
        ("https://[::1]", "cannot reach"),
        ("https://majlis.example.org/api", "without a path"),
    ],
)
def test_make_package_refuses_an_address_people_cannot_reach(url, says):
    answer = subprocess.run(
        [MAKE, "--no-print-directory", "package", "STAGE=prod", f"PUBLIC_BASE_URL={url}"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert answer.returncode != 0
    assert answer.stderr.startswith("make package: PUBLIC_BASE_URL "), answer.stderr
    assert says in answer.stderr
    assert "chalice" not in answer.stdout  # refused before anything was packaged


def test_every_function_keeps_its_logs_for_a_set_time_and_the_secrets_outlive_the_stack(
    packaged,
):
    _, doc = packaged
    resources = doc["Resources"]
    functions = {k for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
    groups = {
        v["Properties"]["LogGroupName"]["Fn::Sub"]: v["Properties"]["RetentionInDays"]
        for v in resources.values()
        if v["Type"] == "AWS::Logs::LogGroup"
    }
    assert groups == {f"/aws/lambda/${{{name}}}": {"Ref": "LogRetentionDays"} for name in functions}
    assert doc["Parameters"]["LogRetentionDays"]["Default"] == 30
    secrets = {k: v for k, v in resources.items() if v["Type"] == "AWS::SecretsManager::Secret"}
    assert set(secrets) == {"SigningKeys", "ZoomCredentials"}
    for secret in secrets.values():
        assert (secret["DeletionPolicy"], secret["UpdateReplacePolicy"]) == ("Retain", "Retain")
