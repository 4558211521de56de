"""The rehearsal's bill: counted calls into billing units, hand-computed line by line,
the scaling to the reference conference, and the tables that show it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from infra.rehearsal.capacity import WriteUnits
from infra.rehearsal.cost import (
    FunctionUse,
    Line,
    Price,
    Prices,
    Standing,
    Usage,
    bill,
    markdown,
    scaled,
    standing_from_template,
    table,
    total,
    unmetered,
    usage_from_calls,
)

KB = 1024
GB = 1024**3
LIST_PRICES = Prices()


@dataclass(frozen=True)
class Calls:
    count: int
    request_bytes: int = 0
    response_bytes: int = 0


def usage_of(calls: dict[tuple[str, str, str], Calls], **given: Any) -> Usage:
    return usage_from_calls(calls, [], people=100, api_requests=0, **given)


def usd(usage: Usage, service: str, item: str, prices: Prices = LIST_PRICES) -> float:
    [line] = [line for line in bill(usage, prices) if (line.service, line.item) == (service, item)]
    return line.usd


# -- Lambda --------------------------------------------------------------------------


def test_a_million_requests_at_512_mb_for_100_ms_each() -> None:
    # Given 1,000,000 invocations of 100 ms at 512 MB: 1e6 x 0.1 s x 0.5 GB = 50,000 GB-s
    usage = Usage(people=1, functions=(FunctionUse("api_handler", 1_000_000, 100_000_000, 512),))
    # Then the requests cost $0.20 and the compute 50,000 x $0.0000166667
    assert usd(usage, "Lambda", "requests") == pytest.approx(0.20)
    assert usd(usage, "Lambda", "api_handler, 512 MB") == pytest.approx(0.833335)


def test_each_duration_is_billed_rounded_up_to_the_millisecond() -> None:
    use = FunctionUse.from_durations("mail_worker", 1024, [0.1, 0.0001, 0.2504])
    assert (use.invocations, use.billed_ms) == (3, 100 + 1 + 251)
    assert use.gb_seconds == pytest.approx(0.352)


# -- API Gateway, data transfer, WAF ----------------------------------------------------


def test_rest_api_requests_and_responses_out() -> None:
    usage = Usage(people=1, api_requests=2_000_000, api_bytes_out=10 * GB)
    assert usd(usage, "API Gateway", "REST API requests") == pytest.approx(7.00)
    assert usd(usage, "Data transfer", "API responses to the internet") == pytest.approx(0.90)


def test_the_web_acl_is_billed_only_when_the_stage_has_one() -> None:
    without = Usage(people=1, api_requests=2_000_000)
    with_acl = Usage(people=1, api_requests=2_000_000, standing=Standing(waf_acls=1, waf_rules=1))
    assert not [line for line in bill(without) if line.service == "WAF"]
    waf = [line for line in bill(with_acl) if line.service == "WAF"]
    # $5 the ACL-month, $1 the rule-month, 2M requests x $0.60 per million
    assert total(waf) == pytest.approx(5 + 1 + 1.20)


# -- DynamoDB -------------------------------------------------------------------------


def test_a_write_is_a_unit_per_kilobyte_of_item_rounded_up() -> None:
    usage = usage_of(
        {
            ("api_handler", "dynamodb", "PutItem"): Calls(10, request_bytes=10 * 1536),  # 2 each
            ("mail_worker", "dynamodb", "PutItem"): Calls(10, request_bytes=10 * KB),  # 1 each
            ("api_handler", "dynamodb", "UpdateItem"): Calls(5, request_bytes=5 * 100),  # 1 each
        }
    )
    assert usage.dynamodb_write_units == 20 + 10 + 5


def test_a_transaction_writes_each_item_twice() -> None:
    key = ("api_handler", "dynamodb", "TransactWriteItems")
    counted = {key: Calls(5, request_bytes=15 * 1500)}
    # 15 items of 1,500 bytes: 2 units each, twice
    assert usage_of(counted, items={key: 15}).dynamodb_write_units == 15 * 2 * 2
    # Items not given: each call one item of 4,500 bytes, 5 units, twice
    assert usage_of(counted).dynamodb_write_units == 5 * 5 * 2


def test_the_indexes_write_a_share_of_the_table_s_units_once_more() -> None:
    counted = {
        ("api_handler", "dynamodb", "PutItem"): Calls(10, request_bytes=10 * 1536),
        ("api_handler", "dynamodb", "TransactWriteItems"): Calls(1, request_bytes=500),
    }
    assert usage_of(counted).dynamodb_index_write_units == 20 + 1  # not doubled: no transaction
    assert usage_of(counted, index_write_share=0.5).dynamodb_index_write_units == 10.5


def test_measured_writes_replace_the_estimate_from_the_calls() -> None:
    counted = {
        ("api_handler", "dynamodb", "PutItem"): Calls(10, request_bytes=10 * 1536),
        ("api_handler", "dynamodb", "GetItem"): Calls(2, response_bytes=20),
    }
    measured = {
        ("api_handler", "majlis"): WriteUnits(table=30, indexes=12),
        ("mail_worker", "majlis-limits"): WriteUnits(table=5, indexes=0),
    }
    usage = usage_of(counted, writes=measured)
    assert (usage.dynamodb_write_units, usage.dynamodb_index_write_units) == (35, 12)
    assert usage.dynamodb_read_units == 2 * 0.5  # reads are still the calls'
    items = {(line.service, line.item) for line in bill(scaled(usage))}
    assert ("DynamoDB", "index write units") in items
    assert scaled(usage).dynamodb_writes_measured
    assert ("DynamoDB", "index write units (estimate)") in {
        (line.service, line.item) for line in bill(usage_of(counted))
    }


def test_an_eventually_consistent_read_is_half_a_unit_per_4_kb() -> None:
    usage = usage_of(
        {
            ("api_handler", "dynamodb", "GetItem"): Calls(4, response_bytes=4 * 4097),  # 1 each
            ("mail_worker", "dynamodb", "GetItem"): Calls(2, response_bytes=2 * 10),  # 0.5 each
            ("api_handler", "dynamodb", "Query"): Calls(3, response_bytes=3 * 10_000),  # 1.5 each
        }
    )
    assert usage.dynamodb_read_units == 4 + 1 + 4.5


def test_a_transaction_reads_each_item_at_two_units_per_4_kb() -> None:
    key = ("api_handler", "dynamodb", "TransactGetItems")
    usage = usage_of({key: Calls(2, response_bytes=4 * 5000)}, items={key: 4})
    assert usage.dynamodb_read_units == 4 * 2 * 2  # 4 items of 5,000 bytes: 2 blocks each


def test_dynamodb_is_billed_per_million_units() -> None:
    usage = Usage(people=1, dynamodb_write_units=1_000_000, dynamodb_read_units=1_000_000)
    assert usd(usage, "DynamoDB", "write request units") == pytest.approx(0.625)
    assert usd(usage, "DynamoDB", "read request units") == pytest.approx(0.125)


def test_lambda_s_reads_of_the_stream_are_free_and_others_are_not() -> None:
    counted = {
        ("pump", "dynamodbstreams", "GetRecords"): Calls(300),
        ("exporter", "dynamodbstreams", "GetRecords"): Calls(100_000),
    }
    assert usage_of(counted).stream_read_requests == 0
    usage = usage_of(counted, billed_stream_readers={"exporter"})
    assert usage.stream_read_requests == 100_000
    assert usd(usage, "DynamoDB", "stream reads (Lambda's are free)") == pytest.approx(0.02)


# -- SQS, SNS, SES, S3, Secrets Manager --------------------------------------------------


def test_every_sqs_action_is_a_request_per_64_kb() -> None:
    usage = usage_of(
        {
            ("api_handler", "sqs", "SendMessage"): Calls(10, request_bytes=10 * 100 * KB),  # 2
            ("pump", "sqs", "ReceiveMessage"): Calls(5, response_bytes=5 * 2 * KB),  # 1 each
            ("pump", "sqs", "DeleteMessageBatch"): Calls(5, request_bytes=500),
            ("pump", "sqs", "GetQueueAttributes"): Calls(1),
        }
    )
    assert usage.sqs_requests == 20 + 5 + 5 + 1


def test_sqs_is_billed_per_million_requests() -> None:
    usage = Usage(people=1, sqs_requests=1_000_000)
    assert usd(usage, "SQS", "requests (64 KB chunks)") == pytest.approx(0.40)


def test_lambda_s_polls_of_quiet_queues_are_billed_by_the_hour() -> None:
    # 6 queues x 15 polls a minute x 60 x 730 hours = 3,942,000 requests
    usage = Usage(people=1, standing=Standing(sqs_event_sources=6))
    assert usd(usage, "SQS", "Lambda's polls of quiet queues (estimate)") == pytest.approx(1.5768)


def test_ses_publishes_its_events_to_sns_besides_what_was_counted() -> None:
    usage = usage_of(
        {
            ("mail_worker", "sesv2", "SendEmail"): Calls(1000, request_bytes=1000 * 30 * KB),
            ("api_handler", "sns", "Publish"): Calls(10, request_bytes=10 * 500),
        }
    )
    assert usage.sns_publishes == 10 + 1000 * 2  # send and delivery for each email


def test_sns_is_billed_per_million_publishes() -> None:
    usage = Usage(people=1, sns_publishes=2_000_000)
    assert usd(usage, "SNS", "publishes (deliveries to SQS are free)") == pytest.approx(1.00)


def test_ses_bills_each_email_and_its_bytes() -> None:
    counted = {("mail_worker", "sesv2", "SendEmail"): Calls(60_000, request_bytes=GB)}
    usage = usage_of(counted)
    assert (usage.ses_emails, usage.ses_bytes) == (60_000, GB)
    assert usd(usage, "SES", "emails") == pytest.approx(6.00)
    assert usd(usage, "SES", "attachments (whole messages)") == pytest.approx(0.12)
    essentials = Prices(ses_emails=Price(0.16, "emails", 1000))
    assert usd(usage, "SES", "emails", essentials) == pytest.approx(9.60)


def test_s3_puts_and_lists_cost_more_than_gets_and_deletes_nothing() -> None:
    usage = usage_of(
        {
            ("export_registrations", "s3", "PutObject"): Calls(1000),
            ("api_handler", "s3", "GetObject"): Calls(600),
            ("api_handler", "s3", "HeadObject"): Calls(400),
            ("export_registrations", "s3", "DeleteObject"): Calls(50),
        }
    )
    assert (usage.s3_puts, usage.s3_gets) == (1000, 1000)
    assert usd(usage, "S3", "PUT, COPY, POST, LIST requests") == pytest.approx(0.005)
    assert usd(usage, "S3", "GET and other requests") == pytest.approx(0.0004)


def test_secrets_are_billed_by_the_month_and_calls_by_the_ten_thousand() -> None:
    usage = usage_of({("api_handler", "secretsmanager", "GetSecretValue"): Calls(10_000)})
    usage = Usage(people=1, secrets_calls=usage.secrets_calls, standing=Standing(secrets=3))
    assert usd(usage, "Secrets Manager", "secrets") == pytest.approx(1.20)
    assert usd(usage, "Secrets Manager", "API calls") == pytest.approx(0.05)


def test_the_standing_resources_are_prorated_by_the_hour() -> None:
    day = Usage(people=1, standing=Standing(secrets=3, hours=24))
    assert usd(day, "Secrets Manager", "secrets") == pytest.approx(3 * 0.40 * 24 / 730)


# -- CloudWatch and KMS ----------------------------------------------------------------


def test_logs_metrics_and_alarms() -> None:
    usage = Usage(people=1, log_bytes=2 * GB, standing=Standing(custom_metrics=20, alarms=37))
    assert usd(usage, "CloudWatch", "logs ingested") == pytest.approx(1.00)
    assert usd(usage, "CloudWatch", "logs stored a month, uncompressed") == pytest.approx(0.06)
    assert usd(usage, "CloudWatch", "custom metrics") == pytest.approx(6.00)
    assert usd(usage, "CloudWatch", "alarms, standard resolution") == pytest.approx(3.70)


def test_kms_keys_and_requests() -> None:
    usage = usage_of({("api_handler", "kms", "Decrypt"): Calls(10_000)})
    usage = Usage(people=1, kms_requests=usage.kms_requests, standing=Standing(kms_keys=1))
    assert usd(usage, "KMS", "customer managed keys") == pytest.approx(1.00)
    assert usd(usage, "KMS", "requests") == pytest.approx(0.03)


def test_sns_asks_kms_for_a_data_key_every_5_minutes_at_most() -> None:
    busy = Usage(people=1, sns_publishes=10_000, standing=Standing(sns_publishers=1))
    quiet = Usage(people=1, sns_publishes=100, standing=Standing(sns_publishers=1))
    # A day is 288 periods of 5 minutes, 2 requests each; never more than 2 a publish
    assert usd(busy, "KMS", "SNS data keys (AWS's formula)") == pytest.approx(576 * 0.03 / 10_000)
    assert usd(quiet, "KMS", "SNS data keys (AWS's formula)") == pytest.approx(200 * 0.03 / 10_000)


# -- the counted calls ------------------------------------------------------------------


def test_services_and_actions_are_known_however_they_are_spelled() -> None:
    usage = usage_of({("api_handler", "DynamoDB", "put_item"): Calls(1, request_bytes=100)})
    assert usage.dynamodb_write_units == 1


def test_calls_neither_priced_nor_known_free_are_named() -> None:
    counted = {
        ("api_handler", "cloudwatch", "PutMetricData"): Calls(1),
        ("pump", "dynamodbstreams", "GetShardIterator"): Calls(1),
        ("api_handler", "dynamodb", "GetItem"): Calls(1),
    }
    assert unmetered(counted) == [("cloudwatch", "PutMetricData")]


def test_the_template_s_standing_resources() -> None:
    without = standing_from_template(custom_metrics=20, sqs_event_sources=6)
    with_acl = standing_from_template(custom_metrics=20, sqs_event_sources=6, waf=True, hours=24)
    assert (without.waf_acls, without.waf_rules, without.hours) == (0, 0, 730)
    assert with_acl.waf_acls == 1 and with_acl.waf_rules >= 1 and with_acl.hours == 24
    assert without.secrets and without.kms_keys and without.alarms and without.sns_publishers


# -- scaling ---------------------------------------------------------------------------


RUN = Usage(
    people=500,
    functions=(FunctionUse("mail_worker", 6000, 1_200_000, 1024),),
    api_requests=3000,
    dynamodb_write_units=9000,
    ses_emails=6000,
    log_bytes=10**8,
    standing=Standing(secrets=3, kms_keys=1, custom_metrics=20, alarms=37, sqs_event_sources=6),
)


def test_the_day_grows_in_proportion_to_the_people() -> None:
    reference = scaled(RUN)
    assert reference.people == 5000
    assert (reference.api_requests, reference.ses_emails) == (30_000, 60_000)
    assert (reference.dynamodb_write_units, reference.log_bytes) == (90_000, 10**9)
    [use] = reference.functions
    assert (use.invocations, use.billed_ms, use.memory_mb) == (60_000, 12_000_000, 1024)


def subtotals(usage: Usage) -> tuple[float, float]:
    lines = bill(usage)
    return total(li for li in lines if not li.standing), total(li for li in lines if li.standing)


def test_the_standing_resources_do_not_grow_with_the_people() -> None:
    assert scaled(RUN).standing == RUN.standing
    day, standing = subtotals(RUN)
    assert subtotals(scaled(RUN)) == (pytest.approx(10 * day), pytest.approx(standing))


def test_a_run_of_no_people_does_not_scale() -> None:
    with pytest.raises(ValueError, match="no people"):
        scaled(Usage(people=0))


# -- the tables ------------------------------------------------------------------------


def test_the_table_s_total_is_the_sum_of_its_lines() -> None:
    lines = bill(scaled(RUN))
    shown = table(lines).splitlines()
    assert shown[0].split() == ["Service", "Item", "Quantity", "Unit", "price", "USD"]
    assert shown[-1].split() == ["Total", f"{sum(line.usd for line in lines):.4f}"]
    day, standing = subtotals(scaled(RUN))
    assert [row.split()[-1] for row in shown if row.startswith("Subtotal")] == [
        f"{day:.4f}",
        f"{standing:.4f}",
    ]
    assert len({len(row) for row in shown if row.startswith(("Lambda", "SES", "-"))}) == 1


def test_the_table_shows_each_line_s_unit_price() -> None:
    shown = table([Line("SES", "emails", 60_000, LIST_PRICES.ses_emails)]).splitlines()
    assert shown[2] == "SES      emails    60,000  $0.10 / 1K emails  6.0000"


def test_the_markdown_table_has_a_header_a_row_a_line_and_its_totals() -> None:
    lines = bill(RUN)
    rows = markdown(lines).splitlines()
    assert rows[0] == "| Service | Item | Quantity | Unit price | USD |"
    assert rows[1] == "|---|---|--:|--:|--:|"
    assert len(rows) == 2 + len(lines) + 3  # two subtotals and the total
    assert rows[-1] == f"| **Total** | | | | **{total(lines):.4f}** |"
