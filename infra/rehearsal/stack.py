"""A packaged stage's template stood up on embedded AWS, the way CloudFormation would.

``chalice package`` writes a SAM template; :func:`translate` expands it offline with
AWS's own transform (``samtranslator``, the code CloudFormation runs), and
:class:`Stack` creates every resource of the result in moto: the tables, queues,
topics, secrets, buckets, roles, log groups and alarms for real, and the functions,
their event sources, schedules and the REST API as records the rehearsal runs
itself (moto runs no Lambda code without Docker, and its CloudFormation leaves out
44 of the template's resources without saying so). Parameters take their defaults
unless given; a resource whose condition is false is not created; an unknown type is
an error, so nothing the template declares is silently missing.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra.local.provision import ACCOUNT_ID, Provisioner

REGION = "us-east-1"
CODE_URI = "s3://majlis-rehearsal-code/deployment.zip"  # SAM accepts only S3 code locations


class _NoManagedPolicies:
    """The transform's loader of AWS managed policies by name: the functions' roles are
    all inline, so a function naming one fails the transform loudly."""

    def load(self) -> dict[str, str]:
        return {}


def translate(sam: dict[str, Any], parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """The plain CloudFormation template of a SAM template, expanded offline."""
    from samtranslator.translator.transform import transform

    sam = json.loads(json.dumps(sam))  # the transform changes what it is given
    for resource in sam["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = CODE_URI
    values = {k: v["Default"] for k, v in sam.get("Parameters", {}).items() if "Default" in v}
    values |= (parameters or {}) | {
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::Partition": "aws",
    }
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)  # the transform asks boto3 for one
    return transform(sam, values, _NoManagedPolicies())


def read_template(build: Path) -> dict[str, Any]:
    return yaml.safe_load((build / "sam.yaml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Function:
    """One ``AWS::Lambda::Function`` as Lambda would run it."""

    logical_id: str
    name: str
    handler: str
    role_arn: str
    memory_mb: int
    timeout_s: int
    reserved: int | None
    environment: dict[str, str]


@dataclass(frozen=True)
class Mapping:
    """An event source mapping: a queue or a table's stream feeding a function."""

    function: str  # logical id
    source_arn: str
    batch_size: int
    batching_window_s: int
    most_at_once: int | None
    partial_failures: bool
    retries: int | None = None  # streams: -1 forever
    bisect: bool = False
    on_failure: str | None = None  # streams: the queue a given-up batch goes to
    starting_position: str | None = None


@dataclass(frozen=True)
class Schedule:
    function: str  # logical id
    expression: str


@dataclass
class Api:
    """The REST API's OpenAPI body (integrations resolved) and its stage's settings."""

    body: dict[str, Any] = field(default_factory=dict)
    stage: str = "api"
    rate_limit: float | None = None
    burst_limit: int | None = None
    access_log_group: str | None = None
    access_log_format: str | None = None


class Stack(Provisioner):
    """Creates a translated template's resources (see the module's docstring)."""

    not_emulated: dict[str, str] = {}  # noqa: RUF012 - the rehearsal leaves nothing out

    def __init__(self, definition: dict[str, Any], parameters: dict[str, str] | None = None):
        super().__init__(REGION, definition)
        declared = definition.get("Parameters", {})
        self.parameters = {k: str(v["Default"]) for k, v in declared.items() if "Default" in v}
        self.parameters |= parameters or {}
        missing = sorted(set(declared) - set(self.parameters))
        if missing:
            raise ValueError(f"the template's parameters {missing} have no value")
        self.stack_name = "majlis-prod"
        self.functions: dict[str, Function] = {}
        self.mappings: list[Mapping] = []
        self.schedules: list[Schedule] = []
        self.api = Api()
        self.skipped: list[str] = []  # resources whose condition is false
        self._creating: list[str] = []

    # -- intrinsic functions the translated template adds ---------------------------

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Fn::Sub" and isinstance(argument, list):
                text, variables = argument
                given = {k: str(self.resolve(v)) for k, v in variables.items()}
                return re.sub(
                    r"\$\{([^}]+)\}",
                    lambda m: given[m.group(1)] if m.group(1) in given else self._sub(m.group(1)),
                    text,
                )
            if key == "Fn::Join":
                separator, parts = argument
                return separator.join(str(self.resolve(p)) for p in parts)
            if key == "Fn::If":
                name, then, otherwise = argument
                return self.resolve(then if self.condition(name) else otherwise)
        resolved = super().resolve(value)
        if isinstance(resolved, dict):
            return {k: v for k, v in resolved.items() if v is not _NO_VALUE}
        if isinstance(resolved, list):
            return [v for v in resolved if v is not _NO_VALUE]
        return resolved

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name == "AWS::StackName":
            return self.stack_name
        if name in self.parameters:
            return self.parameters[name]
        return super().ref(name)

    def condition(self, name: str) -> bool:
        return bool(self._truth(self.definition.get("Conditions", {})[name]))

    def _truth(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Fn::Equals":
                left, right = (str(self._truth(a)) for a in argument)
                return left == right
            if key == "Fn::Not":
                return not self._truth(argument[0])
            if key == "Fn::And":
                return all(self._truth(a) for a in argument)
            if key == "Fn::Or":
                return any(self._truth(a) for a in argument)
            if key == "Condition":
                return self.condition(argument)
        return self.resolve(value)

    # -- resources -------------------------------------------------------------------

    def create(self, logical_id: str) -> None:
        if logical_id in self.refs:
            return
        condition = self.resources[logical_id].get("Condition")
        if condition and not self.condition(condition):
            self.skipped.append(logical_id)
            self.refs[logical_id] = ""
            self.attributes[logical_id] = {}
            return
        for needed in _as_list(self.resources[logical_id].get("DependsOn", [])):
            self.create(needed)
        self._creating.append(logical_id)
        try:
            super().create(logical_id)
        finally:
            self._creating.pop()

    @property
    def _current(self) -> str:
        return self._creating[-1]

    def _arn(self, service: str, rest: str) -> str:
        return f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{rest}"

    def _aws_iam_role(self, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
        iam = self.client("iam")
        name = p.get("RoleName") or f"{self.stack_name}-{self._current}"
        role = iam.create_role(
            RoleName=name,
            Path=p.get("Path", "/"),
            AssumeRolePolicyDocument=json.dumps(p["AssumeRolePolicyDocument"]),
        )["Role"]
        for policy in p.get("Policies", []):
            iam.put_role_policy(
                RoleName=name,
                PolicyName=policy["PolicyName"],
                PolicyDocument=json.dumps(policy["PolicyDocument"]),
            )
        for arn in p.get("ManagedPolicyArns", []):  # AWS's own: moto has their documents
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        return name, {"Arn": role["Arn"], "RoleId": role["RoleId"]}

    def _aws_logs_loggroup(self, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
        logs = self.client("logs")
        logs.create_log_group(logGroupName=p["LogGroupName"])
        if "RetentionInDays" in p:
            logs.put_retention_policy(
                logGroupName=p["LogGroupName"], retentionInDays=int(p["RetentionInDays"])
            )
        arn = self._arn("logs", f"log-group:{p['LogGroupName']}:*")
        return p["LogGroupName"], {"Arn": arn}

    def _aws_cloudwatch_alarm(self, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
        request = {k: v for k, v in p.items() if k not in ("Threshold", "EvaluationPeriods")}
        request |= {"Threshold": float(p["Threshold"])}
        request |= {"EvaluationPeriods": int(p["EvaluationPeriods"])}
        if "Period" in p:
            request["Period"] = int(p["Period"])
        self.client("cloudwatch").put_metric_alarm(**request)
        return p["AlarmName"], {"Arn": self._arn("cloudwatch", f"alarm:{p['AlarmName']}")}

    def _aws_apigateway_account(self, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
        return "api-gateway-account", {}  # the role API Gateway writes access logs with

    def _aws_lambda_function(self, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
        reserved = p.get("ReservedConcurrentExecutions")
        function = Function(
            logical_id=self._current,
            name=p["FunctionName"],
            handler=p["Handler"],
            role_arn=p["Role"],
            memory_mb=int(p.get("MemorySize", 128)),
            timeout_s=int(p.get("Timeout", 3)),
            reserved=int(reserved) if reserved is not None else None,
            environment={
                k: str(v) for k, v in p.get("Environment", {}).get("Variables", {}).items()
            },
        )
        self.functions[function.logical_id] = function
        return function.name, {"Arn": self._arn("lambda", f"function:{function.name}")}

    def function_named(self, name_or_arn: str) -> Function:
        name = name_or_arn.rsplit(":", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn
        (found,) = (f for f in self.functions.values() if f.name == name)
        return found

    def _aws_lambda_eventsourcemapping(self, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
        function = self.function_named(p["FunctionName"]).logical_id
        failure = (p.get("DestinationConfig") or {}).get("OnFailure", {}).get("Destination")
        self.mappings.append(
            Mapping(
                function=function,
                source_arn=p["EventSourceArn"],
                batch_size=int(p.get("BatchSize", 10)),
                batching_window_s=int(p.get("MaximumBatchingWindowInSeconds", 0)),
                most_at_once=(p.get("ScalingConfig") or {}).get("MaximumConcurrency"),
                partial_failures="ReportBatchItemFailures" in p.get("FunctionResponseTypes", []),
                retries=p.get("MaximumRetryAttempts"),
                bisect=bool(p.get("BisectBatchOnFunctionError")),
                on_failure=failure,
                starting_position=p.get("StartingPosition"),
            )
        )
        return f"{self._current}-mapping", {}

    def _aws_events_rule(self, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
        for target in p["Targets"]:
            function = self.function_named(target["Arn"]).logical_id
            self.schedules.append(Schedule(function, p["ScheduleExpression"]))
        return self._current, {"Arn": self._arn("events", f"rule/{self._current}")}

    def _aws_lambda_permission(self, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
        # Who may invoke a function (API Gateway, EventBridge): the rehearsal plays them.
        return self._current, {}

    def _aws_apigateway_restapi(self, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
        self.api.body = p["Body"]
        return "rehearsal", {"RootResourceId": "root"}

    def _aws_apigateway_deployment(self, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
        return self._current, {}

    def _aws_apigateway_stage(self, p: dict[str, Any]) -> tuple[str, dict[str, str]]:
        self.api.stage = p["StageName"]
        for setting in p.get("MethodSettings", []):
            if setting.get("ResourcePath") == "/*" and setting.get("HttpMethod") == "*":
                self.api.rate_limit = float(setting["ThrottlingRateLimit"])
                self.api.burst_limit = int(setting["ThrottlingBurstLimit"])
        log = p.get("AccessLogSetting") or {}
        if log:
            self.api.access_log_group = log["DestinationArn"].split(":log-group:")[1].split(":")[0]
            self.api.access_log_format = log["Format"]
        return p["StageName"], {}


class _NoValue:
    """``AWS::NoValue``: the property is left out."""


_NO_VALUE = _NoValue()


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
