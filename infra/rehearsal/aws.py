"""The rehearsal's AWS: moto's server on loopback, in this process, judging every call
by its caller's own IAM policies as AWS would, and keeping a ledger of who called what.

Each function of the rehearsal signs its calls with the keys of its own role, so a
policy that lacks a permission production needs fails here as it would there. moto
verifies the signature and finds the key's user or role and its policies; its own
policy decision cannot be used (it matches a resource only for SQS and S3, ignores
conditions, and names no resource in a denial), so :class:`RehearsalAws` replaces that
decision with :func:`infra.rehearsal.iam.evaluate`, on the resources and condition keys
AWS would judge the request by (:func:`needs`). A denial answers in the protocol's own
shape, worded as AWS words it, and is recorded in the :class:`Ledger` with the calls.

What differs from moto's behaviour applies only to requests this server receives (its
WSGI environ carries the rehearsal); moto used in-process (``mock_aws``) meanwhile
behaves as before:

- enforcement is this server's own switch (:meth:`RehearsalAws.enforce`, also
  ``POST /moto-api/reset-auth``), not moto's process-wide request count;
- a request without a body is signed over an empty payload (moto 5.2.5 signs its parsed
  parameters instead, so sesv2's ``GetEmailIdentity`` fails ``SignatureDoesNotMatch``);
- an email identity created with sesv2's ``CreateEmailIdentity`` is verified for
  sending, as SES reports once its DNS records are published;
- every email sesv2 accepts is also written to the outbox and listed in
  :attr:`RehearsalAws.sent`, and :meth:`RehearsalAws.throttle_ses` makes sends fail
  as SES does past the account's sending rate.
"""

from __future__ import annotations

import base64
import dataclasses
import email.policy
import io
import json
import os
import re
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs, unquote

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import UnknownServiceError
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import AccessDeniedError, JsonRESTError
from moto.core.responses import ActionResult
from moto.dynamodb.exceptions import ResourceNotFoundException
from moto.dynamodb.models import dynamodb_backends
from moto.iam.access_control import (
    CreateAccessKeyFailure,
    IAMPolicy,
    IAMRequestBase,
    create_access_key,
)
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.s3.exceptions import S3AccessDeniedError, S3InvalidAccessKeyIdError
from moto.secretsmanager.models import secretsmanager_backends
from moto.ses.models import ses_backends
from moto.ses.responses import EmailResponse as SESResponse
from moto.sesv2.responses import SESV2Response
from moto.utilities.utils import get_partition
from werkzeug.serving import BaseWSGIServer, make_server

from infra.local import embedded
from infra.rehearsal import capacity, iam

REGION = "us-east-1"
OPERATOR = "operator"  # who the operator's calls are attributed to
ANONYMOUS = "anonymous"  # an unsigned request
OPERATOR_USER = "rehearsal-operator"
# The key the operator is created with, before enforcement: moto takes any key then.
_BOOTSTRAP = MappingProxyType(
    {"aws_access_key_id": "AKIAREHEARSALBOOTSTRAP", "aws_secret_access_key": "-"}
)
# The key of a request's WSGI environ naming the rehearsal that serves it.
_SERVING = "majlis.rehearsal"
# A signing name that is not IAM's service prefix: CloudWatch signs as "monitoring".
_IAM_PREFIX = MappingProxyType({"monitoring": "cloudwatch"})

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


# -- what was called, and judged ----------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One authorization: who asked for which action on which resource, and IAM's verdict."""

    who: str  # the session name (the function's logical id), "operator", or the key
    principal: str  # the caller's ARN, as a denial names it
    action: str  # IAM's action, "dynamodb:GetItem"
    resource: str
    context: dict[str, list[str]]  # the request's own condition keys
    verdict: iam.Verdict
    statement: str | None  # the Sid that decided, when it has one
    at: float


@dataclass(frozen=True)
class CallTotals:
    count: int = 0
    request_bytes: int = 0
    response_bytes: int = 0

    def plus(self, request_bytes: int, response_bytes: int) -> CallTotals:
        return CallTotals(
            self.count + 1, self.request_bytes + request_bytes, self.response_bytes + response_bytes
        )


CallKey = tuple[str, str, str]  # (who, IAM's service prefix, the API operation)


class Ledger:
    """Every authorization check and every call the rehearsal's AWS answered.

    Written from the server's request threads; each property returns a copy.
    ``denial_log``, when given, gets one JSON line per denial as it happens.
    """

    def __init__(self, denial_log: Path | None = None) -> None:
        self.denial_log = denial_log
        self._lock = threading.Lock()
        self._checks: list[Check] = []
        self._calls: dict[CallKey, CallTotals] = {}

    @property
    def checks(self) -> list[Check]:
        with self._lock:
            return list(self._checks)

    @property
    def denials(self) -> list[Check]:
        with self._lock:
            return [check for check in self._checks if check.verdict != "allow"]

    @property
    def calls(self) -> dict[CallKey, CallTotals]:
        with self._lock:
            return dict(self._calls)

    def record_check(self, check: Check) -> None:
        with self._lock:
            self._checks.append(check)
            if check.verdict != "allow" and self.denial_log is not None:
                with self.denial_log.open("a", encoding="utf-8") as log:
                    log.write(json.dumps(dataclasses.asdict(check)) + "\n")

    def record_call(self, key: CallKey, request_bytes: int, response_bytes: int) -> None:
        with self._lock:
            self._calls[key] = self._calls.get(key, CallTotals()).plus(
                request_bytes, response_bytes
            )


@dataclass(frozen=True)
class SentEmail:
    """An email sesv2 accepted, as the rehearsal's SES saw it."""

    message_id: str
    source: str
    recipient: str  # the first destination: Majlis sends each email to one address
    tags: dict[str, str]
    configuration_set: str | None
    raw: bytes
    at: float


# -- the resources and condition keys a request is judged by --------------------------


@dataclass(frozen=True)
class Need:
    """One permission a request needs: an IAM action on a resource, in a context."""

    action: str  # "dynamodb:PutItem"
    resource: str
    context: dict[str, list[str]] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    """A request as authorization reads it: the service (IAM's prefix), the action
    (the API's name, as moto found it), and its parameters."""

    service: str
    action: str
    account: str
    region: str
    path: str
    body: Mapping[str, Any]  # a JSON body, parsed
    params: Mapping[str, Any]  # moto's parsed query or form parameters

    def param(self, name: str) -> Any:
        if name in self.body:
            return self.body[name]
        value = self.params.get(name)
        return value[0] if isinstance(value, list) and value else value

    def arn(self, resource: str) -> str:
        return f"arn:aws:{self.service}:{self.region}:{self.account}:{resource}"


def _attribute_value(value: Mapping[str, Any]) -> str:
    """A DynamoDB attribute value ({"S": "x"}) as a condition key holds it."""
    return str(next(iter(value.values())))


def _dynamodb_partition_key(request: Request, table: str, index: str | None = None) -> str | None:
    try:
        found = dynamodb_backends[request.account][request.region].get_table(table)
    except ResourceNotFoundException:  # DynamoDB answers that itself, once allowed to
        return None
    if index is None:
        return found.hash_key_attr
    for secondary in [*found.global_indexes, *found.indexes]:
        if secondary.name == index:
            return next(k["AttributeName"] for k in secondary.schema if k["KeyType"] == "HASH")
    return None


def _leading_keys(request: Request, table: str, item: Mapping[str, Any] | None) -> list[str]:
    """``dynamodb:LeadingKeys``: the partition key value of the item a request names."""
    attribute = _dynamodb_partition_key(request, table)
    if attribute and item and attribute in item:
        return [_attribute_value(item[attribute])]
    return []


def _query_leading_keys(request: Request) -> list[str]:
    """A Query's partition key value: the equality on the table's (or the index's)
    partition key in its key condition."""
    body = request.body
    attribute = _dynamodb_partition_key(request, body["TableName"], body.get("IndexName"))
    for name, condition in (body.get("KeyConditions") or {}).items():
        if name == attribute and condition.get("ComparisonOperator") == "EQ":
            return [_attribute_value(condition["AttributeValueList"][0])]
    names = body.get("ExpressionAttributeNames") or {}
    values = body.get("ExpressionAttributeValues") or {}
    expression = body.get("KeyConditionExpression") or ""
    for name, placeholder in re.findall(r"([#\w.]+)\s*=\s*(:\w+)", expression):
        if names.get(name, name) == attribute and placeholder in values:
            return [_attribute_value(values[placeholder])]
    return []


_TRANSACTION_ACTIONS = MappingProxyType(
    {
        "Put": "PutItem",
        "Update": "UpdateItem",
        "Delete": "DeleteItem",
        "ConditionCheck": "ConditionCheckItem",
        "Get": "GetItem",
    }
)


def _dynamodb(request: Request) -> list[Need]:
    body, action = request.body, request.action

    def table(name: str) -> str:  # TableName may be the table's ARN
        return name if name.startswith("arn:") else request.arn(f"table/{name}")

    def item_need(act: str, spec: Mapping[str, Any]) -> Need:
        name = spec["TableName"]
        keys = _leading_keys(request, name, spec.get("Key") or spec.get("Item"))
        return Need(f"dynamodb:{act}", table(name), {"dynamodb:LeadingKeys": keys})

    if action in ("GetItem", "PutItem", "UpdateItem", "DeleteItem"):
        return [item_need(action, body)]
    if action in ("Query", "Scan"):
        index = f"/index/{body['IndexName']}" if body.get("IndexName") else ""
        context = (
            {"dynamodb:LeadingKeys": _query_leading_keys(request)} if action == "Query" else {}
        )
        return [Need(f"dynamodb:{action}", table(body["TableName"]) + index, context)]
    if action in ("TransactWriteItems", "TransactGetItems"):
        # AWS authorizes each item of a transaction as the single-item action it is, on
        # that item's table and key ("Using IAM with DynamoDB transactions").
        return [
            item_need(_TRANSACTION_ACTIONS[kind], spec)
            for entry in body["TransactItems"]
            for kind, spec in entry.items()
        ]
    if action in ("BatchGetItem", "BatchWriteItem"):
        needs = []
        for name, asked in body["RequestItems"].items():
            items = (
                asked["Keys"]
                if action == "BatchGetItem"
                else [
                    (one.get("PutRequest") or {}).get("Item")
                    or (one.get("DeleteRequest") or {}).get("Key")
                    for one in asked
                ]
            )
            keys = sorted({key for item in items for key in _leading_keys(request, name, item)})
            needs.append(Need(f"dynamodb:{action}", table(name), {"dynamodb:LeadingKeys": keys}))
        return needs
    if action in ("DescribeStream", "GetShardIterator"):
        return [Need(f"dynamodb:{action}", body["StreamArn"])]
    if action == "GetRecords":  # moto's iterator starts with its stream's ARN
        return [Need("dynamodb:GetRecords", body["ShardIterator"].split("|")[0])]
    if action == "ListStreams":
        name = body.get("TableName")
        return [Need("dynamodb:ListStreams", table(f"{name}/stream/*") if name else "*")]
    if "TableName" in body:
        return [Need(f"dynamodb:{action}", table(body["TableName"]))]
    return [Need(f"dynamodb:{action}", "*")]


def _sqs(request: Request) -> list[Need]:
    url = request.param("QueueUrl")
    name = url.rstrip("/").rsplit("/", 1)[-1] if url else request.param("QueueName")
    # SQS authorizes a batch as the action it batches: SendMessageBatch needs
    # sqs:SendMessage (there is no sqs:SendMessageBatch permission).
    action = request.action.removesuffix("Batch")
    return [Need(f"sqs:{action}", request.arn(name) if name else "*")]


def _secretsmanager(request: Request) -> list[Need]:
    wanted = request.param("SecretId") or request.param("Name")
    if not wanted:
        return [Need(f"secretsmanager:{request.action}", "*")]
    # A secret's ARN ends in a random suffix, which is why policies name it "name-*".
    found = secretsmanager_backends[request.account][request.region].secrets.get(wanted)
    arn = found.arn if found is not None else request.arn(f"secret:{wanted}")
    return [Need(f"secretsmanager:{request.action}", arn)]


_SES_SENDS = frozenset({"SendEmail", "SendRawEmail", "SendTemplatedEmail", "SendBulkEmail"})


def _sender(request: Request) -> str | None:
    sender = request.param("FromEmailAddress") or request.param("Source")
    if sender:
        return parseaddr(sender)[1]
    raw = ((request.body.get("Content") or {}).get("Raw") or {}).get("Data")
    if raw is None:
        raw = request.param("RawMessage.Data")
    if not raw:
        return None
    headers = BytesHeaderParser(policy=email.policy.default).parsebytes(base64.b64decode(raw))
    return parseaddr(str(headers.get("From", "")))[1] or None


def _ses(request: Request) -> list[Need]:
    action = f"ses:{request.action}"
    if request.action in _SES_SENDS:
        needs = []
        sender = _sender(request)
        if sender:
            # AWS judges the identity the email is sent under: the address's own, when
            # it is an identity, else its domain's.
            identities = ses_backends[request.account][request.region].email_identities
            identity = sender if sender in identities else sender.rsplit("@", 1)[-1]
            needs.append(Need(action, request.arn(f"identity/{identity}")))
        configuration_set = request.param("ConfigurationSetName")
        if configuration_set:
            needs.append(Need(action, request.arn(f"configuration-set/{configuration_set}")))
        return needs or [Need(action, "*")]
    parts = [unquote(part) for part in request.path.split("?")[0].split("/")]
    if parts[1:4] == ["v2", "email", "identities"] and len(parts) > 4:
        return [Need(action, request.arn(f"identity/{parts[4]}"))]
    if parts[1:4] == ["v2", "email", "configuration-sets"] and len(parts) > 4:
        return [Need(action, request.arn(f"configuration-set/{parts[4]}"))]
    return [Need(action, "*")]


def _sns(request: Request) -> list[Need]:
    topic = request.param("TopicArn") or request.param("TargetArn")
    return [Need(f"sns:{request.action}", topic or "*")]


def _logs(request: Request) -> list[Need]:
    group = request.param("logGroupName") or request.param("logGroupIdentifier")
    stream = request.param("logStreamName")
    if not group:
        return [Need(f"logs:{request.action}", "*")]
    arn = group if group.startswith("arn:") else request.arn(f"log-group:{group}")
    return [Need(f"logs:{request.action}", f"{arn}:log-stream:{stream}" if stream else arn)]


_NEEDS: Mapping[str, Callable[[Request], list[Need]]] = {
    "dynamodb": _dynamodb,
    "sqs": _sqs,
    "secretsmanager": _secretsmanager,
    "ses": _ses,
    "sns": _sns,
    "logs": _logs,
}


def needs(request: Request, moto_resource: str = "*") -> list[Need]:
    """The permissions ``request`` needs, as AWS would judge them.

    S3, IAM and STS are judged on the resource moto found (S3's bucket or object ARN,
    the role of an ``AssumeRole``); a service not known here on ``*``, which no
    resource-scoped Allow matches, so an unknown case shows up as a denial.
    """
    judge = _NEEDS.get(request.service)
    if judge is None:
        return [Need(f"{request.service}:{request.action}", moto_resource)]
    return judge(request)


# -- what each call was, for the ledger's counts ----------------------------------------


@dataclass(frozen=True)
class _Route:
    """One REST operation of a service model: where its requests go."""

    name: str
    method: str
    path: re.Pattern[str]
    literal_query: tuple[tuple[str, str | None], ...]
    required_query: tuple[str, ...]
    required_headers: tuple[str, ...]
    literal: int  # characters of the request URI that are not placeholders

    def fits(self, method: str, path: str, query: Mapping[str, list[str]], headers: Any) -> bool:
        return (
            method == self.method
            and self.path.fullmatch(path) is not None
            and all(
                key in query and (value is None or value in query[key])
                for key, value in self.literal_query
            )
            and all(key in query for key in self.required_query)
            and all(header in headers for header in self.required_headers)
        )

    @property
    def rank(self) -> tuple[int, int]:
        return self.literal, len(self.required_query) + len(self.required_headers)


def _required(shape: Any, location: str) -> tuple[str, ...]:
    """The names on the wire of an input shape's required members sent in ``location``
    (``querystring``, ``header``): what tells apart operations sharing a URI."""
    if shape is None:
        return ()
    return tuple(
        member.serialization.get("name", name)
        for name, member in shape.members.items()
        if name in shape.required_members and member.serialization.get("location") == location
    )


def _routes(model: Any) -> list[_Route]:
    """Every operation of a REST service model (``rest-json``, ``rest-xml``), routed."""
    routes = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        uri = operation.http.get("requestUri", "/")
        template, _, literal_query = uri.partition("?")
        pattern = "".join(
            ("[^/]+" if not part.endswith("+}") else ".+")
            if part.startswith("{")
            else re.escape(part)
            for part in re.split(r"(\{[^}]+\})", template)
        )
        routes.append(
            _Route(
                name=name,
                method=operation.http.get("method", "POST"),
                path=re.compile(pattern.rstrip("/") + "/?"),
                literal_query=tuple(
                    (key, value or None)
                    for key, _, value in (p.partition("=") for p in literal_query.split("&") if p)
                ),
                required_query=_required(operation.input_shape, "querystring"),
                required_headers=tuple(
                    h.lower() for h in _required(operation.input_shape, "header")
                ),
                literal=len(re.sub(r"\{[^}]+\}", "", template)) + len(literal_query),
            )
        )
    return routes


class OperationNames:
    """The API operation each request calls, as the ledger counts it: from
    ``X-Amz-Target``, the ``Action`` parameter, an RPC path, or for REST services
    (S3, sesv2, Lambda) the route in the service's botocore model that fits it."""

    def __init__(self) -> None:
        self._session = botocore.session.get_session()
        self._lock = threading.Lock()
        self._routes: dict[str, list[_Route]] = {}

    def name(self, environ: Mapping[str, Any], signed_for: str, body: bytes) -> str:
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            return target.rsplit(".", 1)[-1]
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO") or "/"
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if (environ.get("CONTENT_TYPE") or "").startswith("application/x-www-form-urlencoded"):
            query = {**query, **parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)}
        if query.get("Action"):
            return query["Action"][0]
        rpc = re.fullmatch(r"/service/[^/]+/operation/([^/]+)", path)
        if rpc:
            return rpc.group(1)
        service = "sesv2" if signed_for == "ses" and path.startswith("/v2/") else signed_for
        headers = {key[5:].replace("_", "-").lower() for key in environ if key.startswith("HTTP_")}
        fitting = [
            route for route in self.routes(service) if route.fits(method, path, query, headers)
        ]
        if fitting:
            return max(fitting, key=lambda route: route.rank).name
        return f"{method} {path}"

    def routes(self, service: str) -> list[_Route]:
        with self._lock:
            if service not in self._routes:
                try:
                    self._routes[service] = _routes(self._session.get_service_model(service))
                except UnknownServiceError:
                    self._routes[service] = []
            return self._routes[service]


def _signer(environ: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(access key id, region, service) of a signed request: its SigV4 credential scope,
    from the Authorization header or a presigned URL's ``X-Amz-Credential``; an S3 URL
    presigned with Signature Version 2 names only its key (the region is then "")."""
    authorization = environ.get("HTTP_AUTHORIZATION") or ""
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if "Credential=" in authorization:
        credential = authorization.split("Credential=", 1)[1].split(",", 1)[0]
    elif "AWSAccessKeyId" in query:
        return query["AWSAccessKeyId"][0], "", "s3"
    else:
        credential = query.get("X-Amz-Credential", [""])[0]
    scope = credential.strip().split("/")
    return (scope[0], scope[2], scope[3]) if len(scope) == 5 else None


# -- how a denial answers -------------------------------------------------------------


class _JsonAccessDenied(JsonRESTError):
    code = 403


class _S3AccessDenied(S3AccessDeniedError):
    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


class _TooManyRequests(JsonRESTError):
    code = 429


def _denied(
    handler: Any, service: str, principal: str, need: Need, decision: iam.Decision
) -> Exception:
    """The error AWS answers a denied request with, in the protocol's own shape and in
    its words: "User: <principal> is not authorized to perform: <action> on resource:
    <resource> because no identity-based policy allows the <action> action"."""
    why = (
        "with an explicit deny in an identity-based policy"
        if decision.verdict == "explicit-deny"
        else f"because no identity-based policy allows the {need.action} action"
    )
    performing = f"{need.action} on resource: {need.resource} {why}"
    if service == "s3":
        return _S3AccessDenied(f"User: {principal} is not authorized to perform: {performing}")
    if (handler.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
        return AccessDeniedError(user_arn=principal, action=performing)  # the query protocol
    return _JsonAccessDenied(
        "AccessDeniedException", f"User: {principal} is not authorized to perform: {performing}"
    )


def _verify_signature(request: IAMRequestBase) -> None:
    """moto's signature check, signing an empty payload when the request has no body.

    moto signs its parsed parameters when it holds no raw body: right for a form (the
    query protocol's body, parsed), but for a request that has no body at all (a GET)
    5.2.5 signs the request's headers, and every one failed ``SignatureDoesNotMatch``.
    """
    authorization = request._headers["Authorization"]
    given = request._get_string_between("Signature=", ",", authorization)
    parameters = request._data
    if not request._body and not int(request._headers.get("Content-Length") or 0):
        request._data = b""  # type: ignore[assignment]
    try:
        calculated = request._calculate_signature()
    finally:
        request._data = parameters
    if calculated != given:
        request._raise_signature_does_not_match()


def _caller(
    handler: Any,
    iam_request_cls: type,
    action: str,
    signer: tuple[str, str, str] | None,
    region: str,
) -> Any:
    """The access key (moto's, with its user or role) a request is signed with, its
    signature verified; None for an unsigned request. A presigned URL is judged as its
    signer; its signature is not verified again (moto does not verify it either)."""
    if "Authorization" in handler.headers:
        query = handler.parsed_url.query
        iam_request = iam_request_cls(
            account_id=handler.current_account,
            method=handler.method,
            path=handler.raw_path + (f"?{query}" if query else ""),
            data=handler.data,
            body=handler.raw_body,
            headers=handler.headers,
            action=action,
        )  # an unknown key, or a token not the key's, raises here
        _verify_signature(iam_request)
        return iam_request._access_key
    if signer is None:
        return None
    query = parse_qs(handler.parsed_url.query)
    tokens = query.get("X-Amz-Security-Token") or query.get("x-amz-security-token")
    try:
        return create_access_key(
            account_id=handler.current_account,
            partition=get_partition(signer[1] or region),
            access_key_id=signer[0],
            headers={"X-Amz-Security-Token": tokens[0]} if tokens else {},
        )
    except CreateAccessKeyFailure:
        raise S3InvalidAccessKeyIdError() from None


def _request(handler: Any, service: str, action: str, region: str) -> Request:
    raw = handler.raw_body
    try:
        body = json.loads(raw) if raw[:1] in (b"{", "{") else {}
    except ValueError:
        body = {}
    return Request(
        service=service,
        action=action,
        account=handler.current_account,
        region=region,
        path=handler.raw_path,
        body=body,
        params=handler.querystring if isinstance(handler.querystring, dict) else {},
    )


# -- moto, told which requests are the rehearsal's ------------------------------------------


def _serving(handler: Any) -> RehearsalAws | None:
    """The rehearsal serving the request ``handler`` (a moto response) answers, if any."""
    environ = getattr(getattr(handler, "normalized_request", None), "environ", None) or {}
    return environ.get(_SERVING)


def _install() -> None:
    """Route moto's authorization, and sesv2's sends and identities, through the
    rehearsal serving each request; once per process. Requests no rehearsal serves
    (``mock_aws`` in-process) get moto's own behaviour."""
    if getattr(ActionAuthenticatorMixin, "_majlis_rehearsal", False):
        return
    authorize = ActionAuthenticatorMixin._authenticate_and_authorize_action
    send_email = SESV2Response.send_email
    get_send_quota = SESResponse.get_send_quota
    create_email_identity = SESV2Response.create_email_identity

    def authenticate_and_authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        rehearsal = _serving(self)
        if rehearsal is None:
            return authorize(self, iam_request_cls, resource)
        return rehearsal._authorize(self, iam_request_cls, resource)

    def sending(self: SESV2Response) -> str:
        rehearsal = _serving(self)
        if rehearsal is None:
            return send_email(self)
        return rehearsal._send(self, send_email)

    def creating_identity(self: SESV2Response) -> str:
        answer = create_email_identity(self)
        if _serving(self) is not None:
            identities = self.sesv2_backend.core_backend.email_identities
            identities[self._get_param("EmailIdentity")].verified_for_sending_status = True
        return answer

    def quota(self: SESResponse) -> Any:
        rehearsal = _serving(self)
        answer = get_send_quota(self)
        if rehearsal is not None and rehearsal.send_quota is not None:
            rate, day = rehearsal.send_quota
            answer = ActionResult(
                {
                    "Max24HourSend": day,
                    "MaxSendRate": rate,
                    "SentLast24Hours": rehearsal.sent_in_24_hours(),
                }
            )
        return answer

    SESResponse.get_send_quota = quota  # type: ignore[method-assign]
    ActionAuthenticatorMixin._authenticate_and_authorize_action = authenticate_and_authorize  # type: ignore[method-assign]
    SESV2Response.send_email = sending  # type: ignore[method-assign]
    SESV2Response.create_email_identity = creating_identity  # type: ignore[method-assign]
    ActionAuthenticatorMixin._majlis_rehearsal = True  # type: ignore[attr-defined]


class _QuietRequestHandler(MotoRequestHandler):
    """moto's request handler without werkzeug's line per request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _outbox_path(outbox: Path, message_id: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return outbox / f"{stamp}-{message_id}.eml"


def _raw_of(content: Mapping[str, Any], source: str, recipients: list[str]) -> bytes:
    if "Raw" in content:
        return base64.b64decode(content["Raw"]["Data"])
    simple = content.get("Simple") or {}
    message = EmailMessage()
    message["From"], message["To"] = source, ", ".join(recipients)
    message["Subject"] = (simple.get("Subject") or {}).get("Data", "")
    body = simple.get("Body") or {}
    message.set_content((body.get("Text") or body.get("Html") or {}).get("Data", ""))
    return message.as_bytes()


# -- the rehearsal's AWS ----------------------------------------------------------------


class RehearsalAws:
    """moto's server on ``127.0.0.1`` (a free port), in a thread of this process, with
    IAM judged as AWS judges it once :meth:`enforce` is on.

    :meth:`start` starts from nothing (moto's state is reset) and creates the operator,
    an IAM user allowed everything, whose keys (:attr:`operator`) the rehearsal's own
    steps use: provisioning, and playing the AWS services themselves. The functions
    use the keys of their own roles (:meth:`assume`). :meth:`stop` forgets everything.
    moto's state belongs to the process, so one rehearsal runs in a process at a time.
    """

    def __init__(self, outbox: Path, region: str = REGION, denial_log: Path | None = None) -> None:
        self.outbox = outbox
        self.region = region
        self.ledger = Ledger(denial_log)
        self.writes = capacity.WriteMeter()  # DynamoDB's write units, by who and table
        self.endpoint = ""
        # Each access key id, and whom its calls are attributed to.
        self._names: dict[str, str] = {_BOOTSTRAP["aws_access_key_id"]: OPERATOR}
        self._operator: dict[str, str] = {}
        self._enforcing = False
        self._lock = threading.Lock()
        self._sent: list[SentEmail] = []
        self._sent_to: dict[str, list[SentEmail]] = {}  # by recipient, lower case
        self._throttle = 0
        self._throttled = 0
        # The account's quota (per second, per 24 hours) once out of SES's sandbox; None:
        # moto's, which is the sandbox's (1 a second, 200 a day).
        self.send_quota: tuple[float, float] | None = None
        self.clock: Callable[[], float] = time.time  # when SES took an email, for its quota
        self._operations = OperationNames()
        self._session = boto3.session.Session()  # not thread-safe: used under _clients_lock
        self._clients: dict[tuple[str, str, tuple[tuple[str, str], ...]], Any] = {}
        self._clients_lock = threading.Lock()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- serving ----------------------------------------------------------------

    def start(self) -> str:
        """Serve, from nothing; the endpoint (``http://127.0.0.1:<port>``)."""
        if self._server is not None:
            raise RuntimeError("the rehearsal's AWS is already started")
        _install()
        # Concurrent requests keep DynamoDB's and SQS's promises, as in local mode; SQS
        # does not count a queue's messages for each one sent or received (a burst's
        # thousands of emails waiting made each send and receive O(queue)), nor DynamoDB
        # sort the whole table for each query (most of the time of 5,000 people), copy
        # an item to update it, parse an expression it has parsed or walk an answer's
        # shape to write JSON it holds already (a third of the time of 5,000 people).
        # None of them changes an answer's bytes, which the bill's reads are weighed by.
        embedded.install_faithful_dynamodb()
        embedded.install_faithful_queues()
        embedded.install_quick_queues()
        embedded.install_quick_queries()
        embedded.install_quick_copies()
        embedded.install_quick_parsing()
        embedded.install_quick_answers()
        capacity.install()
        embedded.build_routers([*embedded.ROUTED, "dynamodb", "dynamodbstreams"])
        self.outbox.mkdir(parents=True, exist_ok=True)
        moto = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            "127.0.0.1",
            0,
            self._wsgi(moto),
            threaded=True,
            request_handler=_QuietRequestHandler,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how soon stop() is heard
            name="rehearsal-aws",
            daemon=True,
        )
        self._thread.start()
        self.endpoint = f"http://127.0.0.1:{self._server.server_port}"
        self._post("/moto-api/reset", b"")
        self._enforcing = False
        self._operator = self._create_operator()
        return self.endpoint

    def stop(self) -> None:
        """Stop serving (the port is free again) and forget every resource."""
        server, self._server = self._server, None
        if server is None:
            return
        try:
            self._post("/moto-api/reset", b"")
        finally:
            server.shutdown()
            server.server_close()
            if self._thread is not None:
                self._thread.join()
            self._enforcing = False
            with self._lock:
                self._names = {_BOOTSTRAP["aws_access_key_id"]: OPERATOR}
            with self._clients_lock:
                self._clients.clear()

    def _post(self, path: str, data: bytes) -> bytes:
        # This server, on loopback: the only host the rehearsal's AWS asks anything of.
        asked = urllib.request.Request(self.endpoint + path, data=data, method="POST")  # noqa: S310
        with urllib.request.urlopen(asked, timeout=10) as answer:  # noqa: S310
            return answer.read()

    # -- identities -----------------------------------------------------------------

    def _create_operator(self) -> dict[str, str]:
        everything = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
        bootstrap = self.client("iam", _BOOTSTRAP)
        bootstrap.create_user(UserName=OPERATOR_USER)
        bootstrap.put_user_policy(
            UserName=OPERATOR_USER, PolicyName="everything", PolicyDocument=json.dumps(everything)
        )
        key = bootstrap.create_access_key(UserName=OPERATOR_USER)["AccessKey"]
        with self._lock:
            self._names[key["AccessKeyId"]] = OPERATOR
        return {
            "aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"],
        }

    @property
    def operator(self) -> dict[str, str]:
        """The operator's credentials (``aws_access_key_id``, ``aws_secret_access_key``)."""
        if not self._operator:
            raise RuntimeError("the rehearsal's AWS is not started")
        return dict(self._operator)

    def assume(self, role_arn: str, session: str) -> dict[str, str]:
        """Credentials of ``role_arn`` for the session ``session`` (a function's logical
        id), whose calls and denials the ledger attributes to ``session``.

        The operator asks, playing the Lambda service: the role's trust policy (which
        names ``lambda.amazonaws.com``) is not evaluated.
        """
        granted = self.client("sts").assume_role(
            RoleArn=role_arn, RoleSessionName=session, DurationSeconds=43200
        )["Credentials"]
        with self._lock:
            self._names[granted["AccessKeyId"]] = session
        return {
            "aws_access_key_id": granted["AccessKeyId"],
            "aws_secret_access_key": granted["SecretAccessKey"],
            "aws_session_token": granted["SessionToken"],
        }

    def who(self, access_key_id: str) -> str:
        """Whom the calls signed with ``access_key_id`` are attributed to."""
        with self._lock:
            return self._names.get(access_key_id, access_key_id)

    def client(self, service: str, creds: Mapping[str, str] | None = None) -> Any:
        """A boto3 client of ``service`` on this endpoint, signed with ``creds`` (the
        operator's unless given), S3 addressed by path and signing Version 4, and never
        retrying by itself.

        One client per service and credentials, made once: a boto3 session loads a
        service's model on its first client, a tenth of a second for most.
        """
        signing = dict(creds if creds is not None else self.operator)
        cached = (self.endpoint, service, tuple(sorted(signing.items())))
        with self._clients_lock:
            if cached not in self._clients:
                self._clients[cached] = self._session.client(
                    service,
                    endpoint_url=self.endpoint,
                    region_name=self.region,
                    config=Config(
                        s3={"addressing_style": "path"},
                        retries={"mode": "standard", "total_max_attempts": 1},
                        # S3's presigned URLs as Majlis makes them (adapters/aws.py).
                        signature_version="s3v4" if service == "s3" else None,
                    ),
                    **signing,
                )
            return self._clients[cached]

    # -- IAM ------------------------------------------------------------------------

    @property
    def enforcing(self) -> bool:
        return self._enforcing

    def enforce(self, on: bool) -> None:
        """Judge every later request by its caller's policies (on), or none (off)."""
        self._enforcing = on

    def _authorize(self, handler: Any, iam_request_cls: type, moto_resource: str) -> None:
        """moto's authentication (the key, the signature), then IAM's decision on each
        permission the request needs; the first denial answers the request."""
        if not self._enforcing:
            return
        action = handler._get_action()
        action = action[0] if isinstance(action, list) else action
        signer = _signer(handler.normalized_request.environ)
        key = _caller(handler, iam_request_cls, action, signer, self.region)
        service = _IAM_PREFIX.get(signer[2], signer[2]) if signer else str(handler.service_name)
        if (service, action) == ("sts", "GetCallerIdentity"):  # allowed whatever the policies
            return
        request = _request(handler, service, action, (signer[1] if signer else "") or self.region)
        principal = key.arn if key is not None else ANONYMOUS
        policies = [IAMPolicy(p)._policy_json for p in key.collect_policies()] if key else []
        who = self.who(signer[0]) if key is not None and signer else ANONYMOUS
        for need in needs(request, moto_resource):
            context = {
                **need.context,
                "aws:PrincipalAccount": [request.account],
                "aws:RequestedRegion": [request.region],
                # The loopback stands in for production's endpoints, reached over TLS only.
                "aws:SecureTransport": ["true"],
            }
            decision = iam.evaluate(policies, need.action, need.resource, context)
            self.ledger.record_check(
                Check(
                    who=who,
                    principal=principal,
                    action=need.action,
                    resource=need.resource,
                    context=need.context,
                    verdict=decision.verdict,
                    statement=decision.statement,
                    at=time.time(),
                )
            )
            if not decision.allowed:
                raise _denied(handler, service, principal, need, decision)

    # -- SES ----------------------------------------------------------------------------

    @property
    def sent(self) -> list[SentEmail]:
        """Every email sesv2 accepted, in order."""
        with self._lock:
            return list(self._sent)

    def sent_since(self, start: int) -> list[SentEmail]:
        """The emails accepted after the first ``start``, in order."""
        with self._lock:
            return self._sent[start:]

    def sent_to(self, address: str) -> list[SentEmail]:
        """Every email accepted for ``address`` (any case), in order."""
        with self._lock:
            return list(self._sent_to.get(address.lower(), ()))

    @property
    def throttled(self) -> int:
        """How many sends :meth:`throttle_ses` refused."""
        with self._lock:
            return self._throttled

    def sent_in_24_hours(self) -> float:
        since = self.clock() - 86_400
        with self._lock:
            return float(sum(1 for mail in self._sent if mail.at >= since))

    def throttle_ses(self, n: int) -> None:
        """Answer the next ``n`` sesv2 sends as SES does past the sending rate
        (429 ``TooManyRequestsException``), sending nothing."""
        with self._lock:
            self._throttle = n

    def _send(self, handler: SESV2Response, send_email: Callable[[SESV2Response], str]) -> str:
        with self._lock:
            if self._throttle > 0:
                self._throttle -= 1
                self._throttled += 1
                raise _TooManyRequests("TooManyRequestsException", "Maximum sending rate exceeded.")
        answer = send_email(handler)
        params = json.loads(handler.body)
        destination = params.get("Destination") or {}
        recipients = [
            address
            for field in ("ToAddresses", "CcAddresses", "BccAddresses")
            for address in destination.get(field) or []
        ]
        source = params.get("FromEmailAddress") or ""
        sent = SentEmail(
            message_id=json.loads(answer)["MessageId"],
            source=source,
            recipient=recipients[0] if recipients else "",
            tags={tag["Name"]: tag["Value"] for tag in params.get("EmailTags") or []},
            configuration_set=params.get("ConfigurationSetName"),
            raw=_raw_of(params.get("Content") or {}, source, recipients),
            at=self.clock(),
        )
        self._write_to_outbox(sent)
        with self._lock:
            self._sent.append(sent)
            self._sent_to.setdefault(sent.recipient.lower(), []).append(sent)
        return answer

    def _write_to_outbox(self, sent: SentEmail) -> Path:
        # The layout of local mode's outbox (infra/local/embedded.write_to_outbox),
        # whole or not at all: a reader listing *.eml never sees one half written.
        path = _outbox_path(self.outbox, sent.message_id)
        self.outbox.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_bytes(sent.raw)
        os.replace(partial, path)
        return path

    # -- the WSGI middleware ----------------------------------------------------------

    def _wsgi(self, moto: WsgiApp) -> WsgiApp:
        """moto's application, counting each call in the ledger and marking its
        requests as this rehearsal's (see :func:`_serving`)."""

        def application(
            environ: dict[str, Any], start_response: Callable[..., Any]
        ) -> Iterable[bytes]:
            path = environ.get("PATH_INFO") or "/"
            if path == "/moto-api/reset-auth" and environ.get("REQUEST_METHOD") == "POST":
                return self._reset_auth(environ, start_response)
            body = _read_body(environ)
            environ["wsgi.input"] = io.BytesIO(body)
            environ[_SERVING] = self
            signer = _signer(environ)
            who = self.who(signer[0]) if signer else ANONYMOUS
            with self.writes.measuring(who):
                chunks = moto(environ, start_response)
                try:
                    answer = b"".join(chunks)
                finally:
                    close = getattr(chunks, "close", None)
                    if close is not None:
                        close()
            if not path.startswith("/moto-api/"):
                service = _IAM_PREFIX.get(signer[2], signer[2]) if signer else "-"
                operation = self._operations.name(environ, signer[2] if signer else "", body)
                self.ledger.record_call((who, service, operation), len(body), len(answer))
            return [answer]

        return application

    def _reset_auth(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> list[bytes]:
        """moto's switch, for this server only: ``0`` enforces from now, ``inf`` never
        (moto's counts of requests let through first have no use here)."""
        previous = "0" if self._enforcing else "inf"
        asked = _read_body(environ).decode("utf-8", "replace").strip()
        if asked not in ("0", "inf"):
            start_response("400 Bad Request", [("Content-Type", "application/json")])
            return [json.dumps({"Error": "the rehearsal's AWS takes 0 or inf"}).encode()]
        self.enforce(asked == "0")
        start_response("200 OK", [("Content-Type", "application/json")])
        answer = {"status": "ok", "PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT": previous}
        return [json.dumps(answer).encode()]


def _read_body(environ: Mapping[str, Any]) -> bytes:
    length = environ.get("CONTENT_LENGTH")
    if length:
        return environ["wsgi.input"].read(int(length))
    if environ.get("wsgi.input_terminated"):  # chunked: werkzeug ends the stream
        return environ["wsgi.input"].read()
    return b""
