"""The packaged CloudFormation template: `chalice package --merge-template`, then cfn-lint
and checkov.

Also checks what Chalice cannot express by itself: real stream and queue ARNs on the
event sources, partial batch responses, and one hand-written policy per function that
grants only what that function does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import PROJECT_DIR
from infra.bytecode import BUNDLE, compile_bundle

CHALICE = Path(sys.executable).parent / "chalice"
CFN_LINT = Path(sys.executable).parent / "cfn-lint"
CHECKOV = PROJECT_DIR / ".venv-checkov" / "bin" / "checkov"  # its own environment
CHECKOV_SKIPS = PROJECT_DIR / "infra" / "checkov-skips.yaml"
STAGES = ("dev", "prod")
MAKE = shutil.which("make") or "make"
FIXTURES = PROJECT_DIR / "tests" / "fixtures" / "packaged"


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """Packages a stage, once in this module: its sam.yaml, and the template loaded."""
    done: dict[str, tuple[Path, dict]] = {}

    def package_stage(stage: str) -> tuple[Path, dict]:
        if stage not in done:
            out = tmp_path_factory.mktemp(f"package-{stage}")
            env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
            subprocess.run(
                [
                    str(CHALICE),
                    "--project-dir",
                    str(PROJECT_DIR),
                    "package",
                    "--stage",
                    stage,
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
            path = out / "sam.yaml"
            done[stage] = path, yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506
        return done[stage]

    return package_stage


@pytest.fixture(scope="module", params=STAGES)
def packaged(request, package) -> tuple[Path, dict]:
    return package(request.param)


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


def test_checkov_passes_but_for_the_listed_skips(package, tmp_path):
    """checkov, on both stages, fails only what infra/checkov-skips.yaml lists (a check,
    the resources it is skipped for, and why), and each resource listed still fails the
    check in one stage at least: the file says what is skipped, no more, no less."""
    assert CHECKOV.exists(), f"no {CHECKOV}: `make test` installs it (requirements-checkov.txt)"
    stages = {package(stage)[0].resolve(): stage for stage in STAGES}
    # Offline: with no API key it reports to no platform, --skip-download fetches no
    # guidelines or policies, and CKV_SKIP_PACKAGE_UPDATE_CHECK asks PyPI for no version.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("BC_", "PRISMA_", "CKV_", "CHECKOV_"))
    }
    env["CKV_SKIP_PACKAGE_UPDATE_CHECK"] = "true"
    result = subprocess.run(
        [
            str(CHECKOV),
            *[arg for path in stages for arg in ("-f", str(path))],
            "--framework",
            "cloudformation",
            "--skip-download",
            "-o",
            "json",
            "--compact",
            "--quiet",
        ],
        cwd=tmp_path,  # away from any .checkov.yaml
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode in (0, 1), result.stdout[-4000:] + result.stderr[-4000:]
    report = json.loads(result.stdout)
    summary = report.get("summary", report)  # a summary alone when nothing failed
    assert summary["parsing_errors"] == 0, report
    assert summary["skipped"] == 0, "skips belong in infra/checkov-skips.yaml"
    assert summary["resource_count"] == sum(len(package(s)[1]["Resources"]) for s in STAGES)

    failing: dict[tuple[str, str], set[str]] = {}
    described: dict[tuple[str, str], str] = {}
    for check in report.get("results", {}).get("failed_checks", []):
        kind, _, resource = check["resource"].rpartition(".")
        key = (check["check_id"], resource)
        failing.setdefault(key, set()).add(stages[Path(check["file_abs_path"]).resolve()])
        described[key] = f"{check['check_id']} ({check['check_name']}): {resource} ({kind})"

    listed: set[tuple[str, str]] = set()
    for check_id, skip in yaml.safe_load(CHECKOV_SKIPS.read_text(encoding="utf-8")).items():
        assert set(skip) == {"reason", "resources"}, check_id
        assert isinstance(skip["reason"], str) and skip["reason"].strip(), check_id
        resources = skip["resources"]
        assert resources and len(set(resources)) == len(resources), check_id
        listed |= {(check_id, resource) for resource in resources}

    unlisted = [
        f"{described[key]} in {', '.join(sorted(failing[key]))}"
        for key in sorted(failing.keys() - listed)
    ]
    stale = [f"{check_id}: {resource}" for check_id, resource in sorted(listed - failing.keys())]
    problems = []
    if unlisted:
        problems += ["Failing, not in checkov-skips.yaml (fix, or list with a reason):", *unlisted]
    if stale:
        problems += ["Listed in checkov-skips.yaml, failing in neither stage (remove):", *stale]
    assert not problems, "\n".join(problems)


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


def test_the_mail_workers_know_their_own_queue_to_send_a_job_back_sooner(packaged):
    # A mail job that comes before its registration can be read is sent back for a few
    # seconds (ChangeMessageVisibility on its own queue): without the queue's URL that
    # call fails in AWS, and the job waits out the whole visibility timeout. (Found by
    # make rehearse: local mode gives every process every URL.)
    _, doc = packaged
    resources = doc["Resources"]
    for function, variable, queue in (
        ("MailWorker", "MAJLIS_MAIL_QUEUE_URL", "MailQueue"),
        ("AnnouncementWorker", "MAJLIS_ANNOUNCEMENT_QUEUE_URL", "AnnouncementQueue"),
    ):
        env = resources[function]["Properties"]["Environment"]["Variables"]
        assert env[variable] == {"Ref": queue}, function


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
    roles = _function_roles(resources)
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
    # Each secret, by whom it is read: the Zoom app's credentials only by what calls
    # Zoom, its webhook token only by the API, which receives the webhooks.
    readers: dict[str, set[str]] = {}
    for name, role in roles.items():
        for statement in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]:
            if "secretsmanager:GetSecretValue" in _actions({"Statement": [statement]}):
                for secret in _listed(statement["Resource"]):
                    readers.setdefault(secret["Fn::Sub"], set()).add(name)
    assert readers == {
        "${SigningKeys}": {"ApiHandlerRole", *senders},
        "${ZoomCredentials}": {"ZoomWorkerRole", "ReconcileZoomRole"},
        "${ZoomWebhookSecret}": {"ApiHandlerRole"},
    }
    assert "dynamodb:GetRecords" in actions["OnTableChangeRole"]
    # The change handler writes only counters and their marks, never a registration.
    stream_policy = roles["OnTableChangeRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    puts = [
        s
        for s in stream_policy["Statement"]
        if s["Effect"] == "Allow" and "dynamodb:PutItem" in _actions({"Statement": [s]})
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


def _function_roles(resources: dict) -> dict[str, dict]:
    """The functions' roles (Chalice's, one a function), by logical id."""
    used = {
        v["Properties"]["Role"]["Fn::GetAtt"][0]
        for v in resources.values()
        if v["Type"] == "AWS::Serverless::Function"
    }
    return {k: v for k, v in resources.items() if k in used}


# What a pinned ARN starts with: a resource of the stack, or this region and account.
_PINNED = re.compile(
    r"\$\{(?P<resource>[A-Za-z]+)(\.(Arn|StreamArn))?\}(/[a-z0-9/*]+)?"
    r"|arn:\$\{AWS::Partition\}:(ses):\$\{AWS::Region\}:\$\{AWS::AccountId\}:"
    r"(identity/\*|configuration-set/\$\{ConfigurationSet\})"
)


def test_policies_name_only_resources_of_the_stack_in_its_region_and_account():
    """No `*` for a region, an account or a name: each ARN is a resource of the template
    (``${Table.Arn}``, ``${MailQueue.Arn}``, ``${SigningKeys}`` …), or SES's sending
    identities in the stack's own region and account."""
    from infra import template

    resources = template()["Resources"]
    policies = sorted((PROJECT_DIR / ".chalice").glob("policy-*.json"))
    assert len(policies) == 11
    for path in policies:
        for statement in json.loads(path.read_text())["Statement"]:
            named = statement["Resource"]
            if named == "*":
                continue  # account-level actions only (checked above)
            for arn in named if isinstance(named, list) else [named]:
                assert set(arn) == {"Fn::Sub"}, (path.name, arn)
                pinned = _PINNED.fullmatch(arn["Fn::Sub"])
                assert pinned, (path.name, arn)
                assert pinned["resource"] is None or pinned["resource"] in resources, arn


def test_each_function_writes_its_own_logs_only_and_none_writes_organizer_tokens(packaged):
    _, doc = packaged
    resources = doc["Resources"]
    for name, function in resources.items():
        if function["Type"] != "AWS::Serverless::Function":
            continue
        group = resources[f"{name}Logs"]
        # Named as the function, created before it (so Lambda never makes its own).
        assert group["Properties"]["LogGroupName"] == (
            "/aws/lambda/" + function["Properties"]["FunctionName"]
        )
        assert f"{name}Logs" in function["DependsOn"]
        role = resources[function["Properties"]["Role"]["Fn::GetAtt"][0]]
        statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        logs = [s for s in statements if any(a.startswith("logs:") for a in s["Action"])]
        assert logs == [
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": {"Fn::Sub": f"${{{name}Logs.Arn}}"},
            }
        ], name
        # A role that may write any item of the table is refused organizer tokens'
        # (written only by `majlis mint-token` and `revoke-token`, with an operator's keys).
        writes = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
        unconditioned = [
            s
            for s in statements
            if s["Effect"] == "Allow"
            and writes & set(s["Action"])
            and "Condition" not in s
            and {"Fn::Sub": "${Table.Arn}"} in _listed(s["Resource"])
        ]
        denied = [s for s in statements if s["Effect"] == "Deny"]
        if unconditioned:
            assert denied == [
                {
                    "Sid": "NeverOrganizerTokens",
                    "Effect": "Deny",
                    "Action": [
                        "dynamodb:BatchWriteItem",
                        "dynamodb:DeleteItem",
                        "dynamodb:PutItem",
                        "dynamodb:UpdateItem",
                    ],
                    "Resource": {"Fn::Sub": "${Table.Arn}"},
                    "Condition": {"ForAnyValue:StringLike": {"dynamodb:LeadingKeys": ["TOKEN#*"]}},
                }
            ], name
        for statement in statements:  # the others write only keys they name, none a token's
            for keys in statement.get("Condition", {}).get("ForAllValues:StringLike", {}).values():
                if statement["Effect"] == "Allow" and writes & set(statement["Action"]):
                    assert not [k for k in keys if fnmatch("TOKEN#x", k)], (name, statement)


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def test_the_api_cannot_take_the_workers_concurrency_and_is_throttled(packaged):
    _, doc = packaged
    resources = doc["Resources"]
    parameters = doc["Parameters"]
    reserved = {
        name: r["Properties"].get("ReservedConcurrentExecutions")
        for name, r in resources.items()
        if r["Type"] == "AWS::Serverless::Function"
    }
    assert reserved.pop("APIHandler") == {"Ref": "ApiReservedConcurrency"}
    assert all(isinstance(n, int) and n >= 1 for n in reserved.values()), reserved
    # At its default, the API leaves the workers theirs and Lambda its unreserved 100
    # of an account's 1,000.
    api = parameters["ApiReservedConcurrency"]["Default"]
    assert api >= 100 and api + sum(reserved.values()) <= 900
    (throttle,) = resources["RestAPI"]["Properties"]["MethodSettings"]
    assert throttle == {
        "ResourcePath": "/*",
        "HttpMethod": "*",
        "ThrottlingRateLimit": {"Ref": "ApiRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ApiBurstLimit"},
    }
    assert parameters["ApiRateLimit"]["Default"] <= parameters["ApiBurstLimit"]["Default"]
    # Access logs: one line a request, naming the route's template and never a token,
    # an address or a query.
    logging = resources["RestAPI"]["Properties"]["AccessLogSetting"]
    assert logging["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}
    fields = json.loads(logging["Format"])
    assert fields["route"] == "$context.resourcePath" and fields["status"] == "$context.status"
    told = " ".join(fields.values())
    assert not [w for w in ("$context.path", "sourceIp", "identity", "querystring") if w in told]
    assert resources["ApiAccessLogs"]["Properties"]["RetentionInDays"] == {
        "Ref": "LogRetentionDays"
    }
    assert resources["ApiGatewayAccount"]["Properties"]["CloudWatchRoleArn"] == {
        "Fn::GetAtt": ["ApiGatewayLogsRole", "Arn"]
    }
    # The web ACL and the custom domain exist only when asked for.
    assert parameters["WafRequestsPer5Minutes"]["Default"] == 0
    for name in ("WebAcl", "WebAclAssociation"):
        assert resources[name]["Condition"] == "WithWebAcl"
    (rule,) = resources["WebAcl"]["Properties"]["Rules"]
    assert rule["Statement"]["RateBasedStatement"]["Limit"] == {"Ref": "WafRequestsPer5Minutes"}
    assert rule["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429
    for name in ("CustomDomain", "CustomDomainMapping"):
        assert resources[name]["Condition"] == "WithCustomDomain"
    assert parameters["DomainName"]["Default"] == parameters["CertificateArn"]["Default"] == ""


def test_the_topics_are_encrypted_with_a_key_ses_and_cloudwatch_may_use(packaged):
    _, doc = packaged
    resources = doc["Resources"]
    topics = {k: v for k, v in resources.items() if v["Type"] == "AWS::SNS::Topic"}
    assert set(topics) == {"SesEventsTopic", "AlarmTopic"}
    for topic in topics.values():
        assert topic["Properties"]["KmsMasterKeyId"] == {"Ref": "TopicKey"}
    key = resources["TopicKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    (publishers,) = [s for s in key["KeyPolicy"]["Statement"] if "Service" in s["Principal"]]
    assert set(publishers["Principal"]["Service"]) == {
        "ses.amazonaws.com",
        "cloudwatch.amazonaws.com",
    }
    assert set(publishers["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}
    assert publishers["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    }


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
        v["Properties"]["LogGroupName"]: v["Properties"]["RetentionInDays"]
        for v in resources.values()
        if v["Type"] == "AWS::Logs::LogGroup"
    }
    names = {resources[name]["Properties"]["FunctionName"] for name in functions}
    assert groups == {
        "/aws/apigateway/majlis-access": {"Ref": "LogRetentionDays"},
        **{f"/aws/lambda/{name}": {"Ref": "LogRetentionDays"} for name in names},
    }
    assert doc["Parameters"]["LogRetentionDays"]["Default"] == 30
    secrets = {k: v for k, v in resources.items() if v["Type"] == "AWS::SecretsManager::Secret"}
    assert set(secrets) == {"SigningKeys", "ZoomCredentials", "ZoomWebhookSecret"}
    for secret in secrets.values():
        assert (secret["DeletionPolicy"], secret["UpdateReplacePolicy"]) == ("Retain", "Retain")
