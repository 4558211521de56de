"""The AWS bill of the rehearsed day, at list prices, from the usage the rehearsal counted.

The rehearsal counts every AWS call (by caller, service and action, with its bytes),
every invocation of every function, every API request, every email and every log
byte. :func:`usage_from_calls` turns those counts into the units AWS bills,
:func:`scaled` takes a smaller run to the reference conference (5,000 people), and
:func:`bill` prices the result line by line; :func:`table` and :func:`markdown` show it.

The prices are us-east-1's on-demand list prices, in USD, with no free tier, no
Savings Plan and no volume tier beyond the first (a day of Majlis is far below every
tier's end). Each field of :class:`Prices` names the page it comes from.

Two kinds of things are billed. The day's usage grows with its people and is scaled
with them. The standing resources (secrets, keys, alarms, custom metrics, a web ACL,
Lambda's pollers of quiet queues) are billed by the hour whatever happens, AWS
prorating a month of 730 hours: :class:`Standing` holds them and is never scaled. Its
``hours`` default to a whole month, the month the conference falls in, because the
stack stands all month around it; ``hours=24`` gives the day's share alone.

Estimates, each an upper bound unless said otherwise:

- DynamoDB's writes, table and indexes, are measured item by item as they are applied
  (``writes``, from :mod:`infra.rehearsal.capacity`). Without them they are estimated
  from the calls: an item's size is the call's request bytes divided by the number of
  items it carried (``items``; else one item a call), and ``index_write_share`` of the
  table's units is charged once more for the indexes, high or low as the writes go.
- A read's item size is its call's response bytes divided by the number of items it
  carried, JSON attribute names and type tags included (high); without ``items`` for a
  call, each call counts as one item: exact for ``GetItem``, low for a batch.
- Every API request is billed, although AWS bills none refused by an authorizer or
  throttled; the SES bytes billed as attachments are whole messages; log storage is the
  day's logs uncompressed for a month (AWS stores them compressed).
- SES publishes its events to SNS itself (``ses_events_per_email``, send and delivery
  for each email), so no counted call shows them.
- The rehearsal's pollers stand in for Lambda's event sources: their deletes are billed
  as Lambda's are, their reads of the table's stream are free as Lambda's are, and
  their receives are left to the standing line for Lambda's polling.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from enum import Enum
from typing import Protocol

from infra import resources_of_type

HOURS_PER_MONTH = 730  # AWS prorates monthly charges over 730 hours
DAY_SECONDS = 86_400
KB = 1024
GB = 1024**3
MILLION = 1_000_000
REFERENCE_PEOPLE = 5000  # the reference conference: 5,000 people, 8 sessions, ~12 emails each

# SNS with a KMS key asks KMS for a data key at most every 5 minutes per topic and
# publishing principal, 2 requests each time (R = B / D * 2P, "Estimating AWS KMS costs",
# https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
SNS_DATA_KEY_REUSE_SECONDS = 300
# Lambda long-polls a quiet queue it reads (20-second polls, five pollers), whether or
# not a message comes: about 15 ReceiveMessage a minute per queue (an estimate: AWS does
# not publish its pollers' idle behaviour; https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html).
IDLE_POLLS_PER_QUEUE_HOUR = 15 * 60


@dataclass(frozen=True)
class Price:
    """``usd`` for each ``per`` ``unit``: $0.20 per 1,000,000 requests."""

    usd: float
    unit: str
    per: int = 1


@dataclass(frozen=True)
class Prices:
    """List prices, us-east-1, on-demand, in USD, each with the page it is on."""

    # https://aws.amazon.com/lambda/pricing/ (x86; duration rounded up to 1 ms)
    lambda_requests: Price = Price(0.20, "requests", MILLION)
    lambda_compute: Price = Price(0.0000166667, "GB-s")
    # https://aws.amazon.com/api-gateway/pricing/ (REST APIs, first 333 million a month)
    api_requests: Price = Price(3.50, "requests", MILLION)
    # https://aws.amazon.com/ec2/pricing/on-demand/ (data transfer out to the internet,
    # at which API Gateway bills its responses; first 10 TB a month)
    transfer_out: Price = Price(0.09, "GB")
    # https://aws.amazon.com/dynamodb/pricing/on-demand/ (halved on 1 November 2024 from
    # $1.25 and $0.25: https://aws.amazon.com/blogs/database/new-amazon-dynamodb-lowers-pricing-for-on-demand-throughput-and-global-tables/)
    dynamodb_writes: Price = Price(0.625, "WRU", MILLION)
    dynamodb_reads: Price = Price(0.125, "RRU", MILLION)
    # Same page: GetRecords by anything but Lambda's triggers and global tables
    stream_reads: Price = Price(0.02, "reads", 100_000)
    # https://aws.amazon.com/sqs/pricing/ (standard queues; each 64 KB chunk a request)
    sqs_requests: Price = Price(0.40, "requests", MILLION)
    # https://aws.amazon.com/sns/pricing/ (each 64 KB chunk a request; SQS deliveries free)
    sns_publishes: Price = Price(0.50, "publishes", MILLION)
    # https://aws.amazon.com/ses/pricing/ (à la carte, per recipient; an account new to
    # SES may be on the Essentials plan instead, at $0.16 per 1,000)
    ses_emails: Price = Price(0.10, "emails", 1000)
    ses_attachments: Price = Price(0.12, "GB")
    # https://aws.amazon.com/s3/pricing/ (S3 Standard; DELETE is free)
    s3_puts: Price = Price(0.005, "requests", 1000)  # PUT, COPY, POST, LIST
    s3_gets: Price = Price(0.0004, "requests", 1000)  # GET, SELECT and every other
    # https://aws.amazon.com/secrets-manager/pricing/ (a secret's month prorated hourly)
    secrets: Price = Price(0.40, "secret-month")
    secrets_calls: Price = Price(0.05, "calls", 10_000)
    # https://aws.amazon.com/cloudwatch/pricing/ (Lambda logs: first 10 TB; first 10,000 metrics)
    logs_ingested: Price = Price(0.50, "GB")
    logs_stored: Price = Price(0.03, "GB-month")
    metrics: Price = Price(0.30, "metric-month")  # EMF metrics are custom metrics
    alarms: Price = Price(0.10, "alarm-month")  # standard resolution
    # https://aws.amazon.com/kms/pricing/ (a key's month prorated hourly; symmetric keys)
    kms_keys: Price = Price(1.00, "key-month")
    kms_requests: Price = Price(0.03, "requests", 10_000)
    # https://aws.amazon.com/waf/pricing/ (only when the stage has its web ACL)
    waf_acls: Price = Price(5.00, "ACL-month")
    waf_rules: Price = Price(1.00, "rule-month")
    waf_requests: Price = Price(0.60, "requests", MILLION)


@dataclass(frozen=True)
class FunctionUse:
    """A function's invocations, their billed duration summed, and its memory."""

    function: str
    invocations: float
    billed_ms: float
    memory_mb: int

    @classmethod
    def from_durations(cls, function: str, memory_mb: int, seconds: Iterable[float]) -> FunctionUse:
        """Each duration rounded up to the millisecond, as Lambda bills it."""
        # Rounded to a nanosecond first, so that 0.1 s is 100 ms and not 101.
        billed = [math.ceil(round(s * 1000, 6)) for s in seconds]
        return cls(function, len(billed), sum(billed), memory_mb)

    @property
    def gb_seconds(self) -> float:
        return self.billed_ms / 1000 * self.memory_mb / 1024


@dataclass(frozen=True)
class Standing:
    """What does not grow with the people: billed by the hour (for ``hours``), or
    counted by the resource (``sns_publishers``)."""

    secrets: int = 0
    kms_keys: int = 0
    custom_metrics: int = 0
    alarms: int = 0
    sqs_event_sources: int = 0  # queues Lambda polls
    sns_publishers: int = 0  # (topic, publishing principal) pairs: KMS data keys
    waf_acls: int = 0
    waf_rules: int = 0
    hours: float = HOURS_PER_MONTH

    @property
    def months(self) -> float:
        return self.hours / HOURS_PER_MONTH


@dataclass(frozen=True)
class Usage:
    """A day's billing units; every number but ``people`` and ``standing`` grows with
    the people (:func:`scaled`)."""

    people: int
    functions: tuple[FunctionUse, ...] = ()
    api_requests: float = 0
    api_bytes_out: float = 0
    dynamodb_write_units: float = 0
    dynamodb_index_write_units: float = 0
    dynamodb_writes_measured: bool = False  # else estimated from the calls
    dynamodb_read_units: float = 0
    stream_read_requests: float = 0
    sqs_requests: float = 0
    sns_publishes: float = 0
    ses_emails: float = 0
    ses_bytes: float = 0
    s3_puts: float = 0
    s3_gets: float = 0
    secrets_calls: float = 0
    kms_requests: float = 0
    log_bytes: float = 0
    standing: Standing = Standing()


class MeasuredWrites(Protocol):
    """DynamoDB's write units of one (who, table), as :mod:`infra.rehearsal.capacity`
    measures them."""

    @property
    def table(self) -> float: ...
    @property
    def indexes(self) -> float: ...


class CallCount(Protocol):
    """The counts of one (caller, service, action): what the rehearsal records."""

    @property
    def count(self) -> int: ...
    @property
    def request_bytes(self) -> int: ...
    @property
    def response_bytes(self) -> int: ...


class Measure(Enum):
    """How a call becomes billing units."""

    WRITE = "1 KB of each item"  # DynamoDB write units, each item rounded up
    READ = "4 KB of each item"  # DynamoDB read units, each item rounded up
    RESULT = "4 KB of the result"  # Query and Scan: the call's items summed, rounded up
    CHUNK = "64 KB of payload"  # SQS and SNS: a request per 64 KB of a call's payload
    CALL = "call"
    EMAIL = "email"  # one recipient (Majlis sends each email to one), its bytes attached
    FREE = "free"


# What each counted call bills as: (Usage field, measure, units per measure). "*" is
# every action of a service. Majlis reads eventually consistently (half a read unit
# per 4 KB); a transaction reads or writes each item twice.
METERS: dict[tuple[str, str], tuple[str, Measure, float]] = {
    ("dynamodb", "PutItem"): ("dynamodb_write_units", Measure.WRITE, 1),
    ("dynamodb", "UpdateItem"): ("dynamodb_write_units", Measure.WRITE, 1),
    ("dynamodb", "DeleteItem"): ("dynamodb_write_units", Measure.WRITE, 1),
    ("dynamodb", "BatchWriteItem"): ("dynamodb_write_units", Measure.WRITE, 1),
    ("dynamodb", "TransactWriteItems"): ("dynamodb_write_units", Measure.WRITE, 2),
    ("dynamodb", "GetItem"): ("dynamodb_read_units", Measure.READ, 0.5),
    ("dynamodb", "BatchGetItem"): ("dynamodb_read_units", Measure.READ, 0.5),
    ("dynamodb", "TransactGetItems"): ("dynamodb_read_units", Measure.READ, 2),
    ("dynamodb", "Query"): ("dynamodb_read_units", Measure.RESULT, 0.5),
    ("dynamodb", "Scan"): ("dynamodb_read_units", Measure.RESULT, 0.5),
    ("dynamodb", "DescribeTable"): ("", Measure.FREE, 0),
    ("dynamodbstreams", "GetRecords"): ("stream_read_requests", Measure.CALL, 1),
    ("dynamodbstreams", "DescribeStream"): ("", Measure.FREE, 0),
    ("dynamodbstreams", "GetShardIterator"): ("", Measure.FREE, 0),
    ("dynamodbstreams", "ListStreams"): ("", Measure.FREE, 0),
    ("sqs", "*"): ("sqs_requests", Measure.CHUNK, 1),
    ("sns", "*"): ("sns_publishes", Measure.CHUNK, 1),
    ("sesv2", "SendEmail"): ("ses_emails", Measure.EMAIL, 1),
    ("sesv2", "GetAccount"): ("", Measure.FREE, 0),
    ("ses", "SendRawEmail"): ("ses_emails", Measure.EMAIL, 1),
    ("ses", "SendEmail"): ("ses_emails", Measure.EMAIL, 1),
    ("ses", "GetSendQuota"): ("", Measure.FREE, 0),
    ("s3", "PutObject"): ("s3_puts", Measure.CALL, 1),
    ("s3", "CopyObject"): ("s3_puts", Measure.CALL, 1),
    ("s3", "CreateMultipartUpload"): ("s3_puts", Measure.CALL, 1),
    ("s3", "UploadPart"): ("s3_puts", Measure.CALL, 1),
    ("s3", "CompleteMultipartUpload"): ("s3_puts", Measure.CALL, 1),
    ("s3", "ListObjects"): ("s3_puts", Measure.CALL, 1),
    ("s3", "ListObjectsV2"): ("s3_puts", Measure.CALL, 1),
    ("s3", "DeleteObject"): ("", Measure.FREE, 0),
    ("s3", "AbortMultipartUpload"): ("", Measure.FREE, 0),
    ("s3", "*"): ("s3_gets", Measure.CALL, 1),
    ("secretsmanager", "*"): ("secrets_calls", Measure.CALL, 1),
    ("kms", "*"): ("kms_requests", Measure.CALL, 1),
    ("logs", "*"): ("", Measure.FREE, 0),  # billed by the bytes ingested, not the calls
}


def _key(service: str, action: str) -> tuple[str, str]:
    """``DynamoDB Streams``/``GetRecords`` and ``dynamodbstreams``/``get_records`` alike."""
    return service.lower().replace(" ", "").replace("-", ""), action.lower().replace("_", "")


_METERS = {_key(*name): meter for name, meter in METERS.items()}


def _meter(service: str, action: str) -> tuple[str, Measure, float] | None:
    service, action = _key(service, action)
    return _METERS.get((service, action)) or _METERS.get((service, "*"))


def unmetered(calls: Mapping[tuple[str, str, str], CallCount]) -> list[tuple[str, str]]:
    """The (service, action) of counted calls :data:`METERS` does not know: neither
    priced nor known to be free, so missing from the bill."""
    return sorted({(s, a) for _, s, a in calls if _meter(s, a) is None})


def _units(measure: Measure, call: CallCount, items: int | None) -> float:
    """Billing units of a call's counts, before the meter's units per measure."""
    if measure is Measure.FREE or call.count == 0:
        return 0
    if measure in (Measure.CALL, Measure.EMAIL):
        return call.count
    if measure is Measure.CHUNK:
        payload = max(call.request_bytes, call.response_bytes) / call.count
        return call.count * max(1, math.ceil(payload / (64 * KB)))
    if measure is Measure.RESULT:
        return call.count * max(1, math.ceil(call.response_bytes / call.count / (4 * KB)))
    write = measure is Measure.WRITE
    size, block = (call.request_bytes, KB) if write else (call.response_bytes, 4 * KB)
    items = items or call.count
    return items * max(1, math.ceil(size / items / block))


def usage_from_calls(
    calls: Mapping[tuple[str, str, str], CallCount],
    functions: Iterable[FunctionUse],
    *,
    people: int,
    api_requests: int,
    api_bytes_out: int = 0,
    log_bytes: int = 0,
    standing: Standing = Standing(),
    items: Mapping[tuple[str, str, str], int] | None = None,
    writes: Mapping[tuple[str, str], MeasuredWrites] | None = None,
    index_write_share: float = 1.0,
    billed_stream_readers: Collection[str] = (),
    ses_events_per_email: float = 2.0,
) -> Usage:
    """The billing units of the counted ``calls``, keyed (who, service, action).

    ``items`` gives, by the same key, how many items the DynamoDB calls carried in all
    (batches, transactions); ``writes``, DynamoDB's write units as measured, keyed (who,
    table), which the calls then do not estimate; ``billed_stream_readers`` are the
    callers whose stream reads AWS bills (none in Majlis: only Lambda's trigger reads
    the stream).
    """
    totals: dict[str, float] = {}
    index_units = 0.0
    for key, call in calls.items():
        who, service, action = key
        meter = _meter(service, action)
        if meter is None or meter[1] is Measure.FREE:
            continue
        field, measure, per = meter
        if field == "stream_read_requests" and who not in billed_stream_readers:
            continue
        if measure is Measure.WRITE and writes is not None:
            continue
        units = _units(measure, call, (items or {}).get(key))
        totals[field] = totals.get(field, 0) + units * per
        if measure is Measure.WRITE:
            index_units += units * index_write_share
        if measure is Measure.EMAIL:
            totals["ses_bytes"] = totals.get("ses_bytes", 0) + call.request_bytes
    totals["sns_publishes"] = (
        totals.get("sns_publishes", 0) + totals.get("ses_emails", 0) * ses_events_per_email
    )
    if writes is not None:
        totals["dynamodb_write_units"] = sum(w.table for w in writes.values())
        index_units = sum(w.indexes for w in writes.values())
    return Usage(
        people=people,
        functions=tuple(functions),
        api_requests=api_requests,
        api_bytes_out=api_bytes_out,
        dynamodb_index_write_units=index_units,
        dynamodb_writes_measured=writes is not None,
        log_bytes=log_bytes,
        standing=standing,
        **totals,
    )


def standing_from_template(
    custom_metrics: int, sqs_event_sources: int, waf: bool = False, hours: float = HOURS_PER_MONTH
) -> Standing:
    """The standing resources ``infra/resources.yaml`` declares, with the counts it
    cannot know: the distinct custom metrics, and the queues Lambda polls."""
    acl = next(iter(resources_of_type("AWS::WAFv2::WebACL").values()), None)
    return Standing(
        secrets=len(resources_of_type("AWS::SecretsManager::Secret")),
        kms_keys=len(resources_of_type("AWS::KMS::Key")),
        custom_metrics=custom_metrics,
        alarms=len(resources_of_type("AWS::CloudWatch::Alarm")),
        sqs_event_sources=sqs_event_sources,
        # One publisher a topic: SES to its events' topic, CloudWatch to the alarms'.
        sns_publishers=len(resources_of_type("AWS::SNS::Topic")),
        waf_acls=1 if waf and acl else 0,
        waf_rules=len(acl["Properties"]["Rules"]) if waf and acl else 0,
        hours=hours,
    )


def scaled(usage: Usage, to_people: int = REFERENCE_PEOPLE) -> Usage:
    """``usage`` as ``to_people`` people would make it: the day's numbers in proportion,
    the standing resources as they are."""
    if usage.people <= 0:
        raise ValueError("a run of no people scales to nothing")
    factor = to_people / usage.people
    fixed = {"people", "functions", "standing", "dynamodb_writes_measured"}
    grown = {f.name: getattr(usage, f.name) * factor for f in fields(usage) if f.name not in fixed}
    functions = tuple(
        replace(use, invocations=use.invocations * factor, billed_ms=use.billed_ms * factor)
        for use in usage.functions
    )
    return replace(usage, people=to_people, functions=functions, **grown)


@dataclass(frozen=True)
class Line:
    """One line of the bill: ``quantity`` of ``price.unit`` at ``price``. A ``standing``
    line is billed by the hour for :attr:`Standing.hours`."""

    service: str
    item: str
    quantity: float
    price: Price
    standing: bool = False

    @property
    def unit(self) -> str:
        return self.price.unit

    @property
    def usd(self) -> float:
        return self.quantity / self.price.per * self.price.usd


def _sns_data_key_requests(usage: Usage) -> float:
    """KMS requests SNS makes for its topics' data keys over the day, by AWS's formula,
    and never more than two for each publish."""
    reuses = math.ceil(DAY_SECONDS / SNS_DATA_KEY_REUSE_SECONDS)
    return min(2 * usage.sns_publishes, 2 * reuses * usage.standing.sns_publishers)


def bill(usage: Usage, prices: Prices = Prices()) -> list[Line]:
    """Every line of the bill for ``usage``, at ``prices``: the day's, then the standing."""
    p, s, u = prices, usage.standing, usage
    functions = sorted(u.functions, key=lambda use: use.function)
    day = [
        Line("Lambda", "requests", sum(use.invocations for use in functions), p.lambda_requests),
        *(
            Line("Lambda", f"{use.function}, {use.memory_mb} MB", use.gb_seconds, p.lambda_compute)
            for use in functions
        ),
        Line("API Gateway", "REST API requests", u.api_requests, p.api_requests),
        Line(
            "Data transfer", "API responses to the internet", u.api_bytes_out / GB, p.transfer_out
        ),
        Line("DynamoDB", "write request units", u.dynamodb_write_units, p.dynamodb_writes),
        Line(
            "DynamoDB",
            "index write units" + ("" if u.dynamodb_writes_measured else " (estimate)"),
            u.dynamodb_index_write_units,
            p.dynamodb_writes,
        ),
        Line("DynamoDB", "read request units", u.dynamodb_read_units, p.dynamodb_reads),
        Line(
            "DynamoDB",
            "stream reads (Lambda's are free)",
            u.stream_read_requests,
            p.stream_reads,
        ),
        Line("SQS", "requests (64 KB chunks)", u.sqs_requests, p.sqs_requests),
        Line("SNS", "publishes (deliveries to SQS are free)", u.sns_publishes, p.sns_publishes),
        Line("SES", "emails", u.ses_emails, p.ses_emails),
        Line("SES", "attachments (whole messages)", u.ses_bytes / GB, p.ses_attachments),
        Line("S3", "PUT, COPY, POST, LIST requests", u.s3_puts, p.s3_puts),
        Line("S3", "GET and other requests", u.s3_gets, p.s3_gets),
        Line("Secrets Manager", "API calls", u.secrets_calls, p.secrets_calls),
        Line("CloudWatch", "logs ingested", u.log_bytes / GB, p.logs_ingested),
        Line("CloudWatch", "logs stored a month, uncompressed", u.log_bytes / GB, p.logs_stored),
        Line("KMS", "requests", u.kms_requests, p.kms_requests),
        Line(
            "KMS",
            "SNS data keys (AWS's formula)",
            _sns_data_key_requests(u),
            p.kms_requests,
        ),
    ]
    if s.waf_acls:
        day.append(Line("WAF", "requests", u.api_requests, p.waf_requests))
    months = s.months
    standing = [
        Line(
            "SQS",
            "Lambda's polls of quiet queues (estimate)",
            s.sqs_event_sources * IDLE_POLLS_PER_QUEUE_HOUR * s.hours,
            p.sqs_requests,
        ),
        Line("Secrets Manager", "secrets", s.secrets * months, p.secrets),
        Line("CloudWatch", "custom metrics", s.custom_metrics * months, p.metrics),
        Line("CloudWatch", "alarms, standard resolution", s.alarms * months, p.alarms),
        Line("KMS", "customer managed keys", s.kms_keys * months, p.kms_keys),
    ]
    if s.waf_acls:
        standing += [
            Line("WAF", "web ACLs", s.waf_acls * months, p.waf_acls),
            Line("WAF", "rules", s.waf_rules * months, p.waf_rules),
        ]
    return day + [replace(line, standing=True) for line in standing]


def total(lines: Iterable[Line]) -> float:
    return sum(line.usd for line in lines)


HEADER = ("Service", "Item", "Quantity", "Unit price", "USD")
_BLOCKS = {1: "", 1000: "1K ", 10_000: "10K ", 100_000: "100K ", MILLION: "1M "}


def _price(price: Price) -> str:
    whole, _, fraction = f"{price.usd:.10f}".rstrip("0").partition(".")
    return f"${whole}.{fraction.ljust(2, '0')} / {_BLOCKS[price.per]}{price.unit}"


def _quantity(q: float) -> str:
    return f"{q:,.0f}" if q >= 100 or q == int(q) else f"{q:,.2f}" if q >= 1 else f"{q:.4g}"


def _usd(amount: float) -> str:
    return f"{amount:.4f}"


def _rows(lines: Sequence[Line]) -> list[tuple[str, ...]]:
    """The lines, the day's then the standing, each kind with its subtotal; the total."""
    rows: list[tuple[str, ...]] = []
    day = [line for line in lines if not line.standing]
    standing = [line for line in lines if line.standing]
    for kind, group in (
        ("Subtotal: the day's usage", day),
        ("Subtotal: standing resources", standing),
    ):
        rows += [
            (line.service, line.item, _quantity(line.quantity), _price(line.price), _usd(line.usd))
            for line in group
        ]
        if group and len(group) < len(lines):
            rows.append((kind, "", "", "", _usd(total(group))))
    return [*rows, ("Total", "", "", "", _usd(total(lines)))]


def table(lines: Sequence[Line]) -> str:
    """The bill as aligned plain text: a rule above each subtotal and the total."""
    rows = [HEADER, *_rows(lines)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    rule = "  ".join("-" * width for width in widths)
    shown = []
    for row in rows:
        if row[0].startswith(("Subtotal", "Total")):
            shown.append(rule)
        cells = [
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        shown.append("  ".join(cells).rstrip())
        if row is rows[0]:
            shown.append(rule)
    return "\n".join(shown)


def markdown(lines: Sequence[Line]) -> str:
    """The bill as a Markdown table, for the README."""
    body = [
        f"| **{row[0]}** | | | | **{row[4]}** |"
        if row[0].startswith(("Subtotal", "Total"))
        else "| " + " | ".join(row) + " |"
        for row in _rows(lines)
    ]
    return "\n".join(["| " + " | ".join(HEADER) + " |", "|---|---|--:|--:|--:|", *body])
