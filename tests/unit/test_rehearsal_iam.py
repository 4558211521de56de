"""The rehearsal's IAM: identity policies judged by AWS's evaluation logic."""

from __future__ import annotations

from typing import Any

import pytest

from infra.rehearsal.iam import Decision, evaluate, matches

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/majlis"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:majlis-mail"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any = "dynamodb:GetItem", resource: Any = TABLE, **more: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **more}


def with_condition(operator: str, key: str, wanted: Any) -> dict[str, Any]:
    return policy(allow(Condition={operator: {key: wanted}}))


def verdict(policies: list[dict[str, Any]], context: dict[str, list[str]] | None = None) -> str:
    return evaluate(policies, "dynamodb:GetItem", TABLE, context or {}).verdict


def test_an_allow_allows_and_names_its_statement() -> None:
    decision = evaluate([policy(allow(Sid="Read"))], "dynamodb:GetItem", TABLE, {})
    assert decision == Decision("allow", "Read")
    assert decision.allowed


def test_nothing_allowing_is_an_implicit_deny() -> None:
    assert evaluate([policy(allow())], "dynamodb:PutItem", TABLE, {}) == Decision("implicit-deny")
    assert evaluate([], "dynamodb:GetItem", TABLE, {}) == Decision("implicit-deny")


def test_an_explicit_deny_wins_over_any_allow_in_any_policy() -> None:
    # Given one policy allowing everything and another denying one action
    policies = [
        policy(allow("*", "*")),
        policy({"Sid": "Never", "Effect": "Deny", "Action": "dynamodb:GetItem", "Resource": "*"}),
    ]
    # Then that action is denied, by the denying statement, and others allowed
    assert evaluate(policies, "dynamodb:GetItem", TABLE, {}) == Decision("explicit-deny", "Never")
    assert evaluate(policies, "dynamodb:PutItem", TABLE, {}).verdict == "allow"


def test_a_deny_whose_condition_fails_does_not_deny() -> None:
    deny = {
        "Effect": "Deny",
        "Action": "dynamodb:*",
        "Resource": TABLE,
        "Condition": {"ForAnyValue:StringLike": {"dynamodb:LeadingKeys": ["TOKEN#*"]}},
    }
    policies = [policy(allow("dynamodb:*"), deny)]
    assert verdict(policies, {"dynamodb:LeadingKeys": ["EVENT#1"]}) == "allow"
    assert verdict(policies, {"dynamodb:LeadingKeys": ["EVENT#1", "TOKEN#x"]}) == "explicit-deny"


def test_actions_match_case_insensitively_with_wildcards() -> None:
    assert verdict([policy(allow("DynamoDB:getitem"))]) == "allow"
    assert verdict([policy(allow("dynamodb:Get*"))]) == "allow"
    assert verdict([policy(allow("dynamodb:?etItem"))]) == "allow"
    assert verdict([policy(allow(["sqs:*", "dynamodb:Put*"]))]) == "implicit-deny"


def test_resources_match_case_sensitively_with_wildcards() -> None:
    assert verdict([policy(allow(resource="arn:aws:dynamodb:*:*:table/majlis"))]) == "allow"
    assert verdict([policy(allow(resource="arn:aws:dynamodb:*:*:table/majli?"))]) == "allow"
    assert verdict([policy(allow(resource="arn:aws:dynamodb:*:*:table/Majlis"))]) == "implicit-deny"
    index = f"{TABLE}/index/gsi1"
    assert evaluate([policy(allow("dynamodb:Query"))], "dynamodb:Query", index, {}).verdict == (
        "implicit-deny"
    )


def test_not_action_allows_every_action_but_those_named() -> None:
    policies = [policy({"Effect": "Allow", "NotAction": "dynamodb:Delete*", "Resource": "*"})]
    assert evaluate(policies, "dynamodb:GetItem", TABLE, {}).verdict == "allow"
    assert evaluate(policies, "dynamodb:DeleteItem", TABLE, {}).verdict == "implicit-deny"


def test_not_resource_allows_every_resource_but_those_named() -> None:
    policies = [
        policy({"Effect": "Allow", "Action": "sqs:*", "NotResource": "arn:aws:sqs:*:*:*-dlq"})
    ]
    assert evaluate(policies, "sqs:SendMessage", QUEUE, {}).verdict == "allow"
    assert evaluate(policies, "sqs:SendMessage", f"{QUEUE}-dlq", {}).verdict == "implicit-deny"


def test_a_single_statement_rather_than_a_list() -> None:
    assert verdict([{"Version": "2012-10-17", "Statement": allow()}]) == "allow"


def test_condition_keys_are_case_insensitive_and_their_values_are_not() -> None:
    policies = [with_condition("StringEquals", "DynamoDB:LeadingKeys", "EVENT#1")]
    assert verdict(policies, {"dynamodb:leadingkeys": ["EVENT#1"]}) == "allow"
    assert verdict(policies, {"dynamodb:LeadingKeys": ["event#1"]}) == "implicit-deny"


@pytest.mark.parametrize(
    ("operator", "wanted", "got", "holds"),
    [
        ("StringEquals", ["a", "b"], "b", True),
        ("StringEquals", "a", "A", False),
        ("StringNotEquals", ["a", "b"], "c", True),
        ("StringNotEquals", ["a", "b"], "a", False),
        ("StringEqualsIgnoreCase", "abc", "ABC", True),
        ("StringNotEqualsIgnoreCase", "abc", "ABC", False),
        ("StringLike", "CAMPAIGN#*", "CAMPAIGN#7", True),
        ("StringLike", "REG#?", "REG#12", False),
        ("StringNotLike", "TOKEN#*", "EVENT#1", True),
        ("StringNotLike", "TOKEN#*", "TOKEN#1", False),
        (
            "ArnEquals",
            "arn:aws:sns:*:123456789012:majlis-*",
            "arn:aws:sns:us-east-1:123456789012:majlis-ses",
            True,
        ),
        ("ArnLike", "arn:aws:sns:*:*:majlis-*", "arn:aws:sqs:us-east-1:1:majlis-ses", False),
        ("ArnNotEquals", "arn:aws:sns:*:*:majlis-ses", "arn:aws:sns:us-east-1:1:other", True),
        ("ArnNotLike", "arn:aws:sns:*:*:*", "arn:aws:sns:us-east-1:1:other", False),
        ("ArnLike", "arn:aws:sns:*", "arn:aws:sns:us-east-1:1:x", False),  # six parts or none
        ("Bool", True, "true", True),
        ("Bool", "false", "true", False),
        ("NumericEquals", "5", "5.0", True),
        ("NumericNotEquals", "5", "6", True),
        ("NumericLessThan", 10, "9", True),
        ("NumericLessThanEquals", "10", "10", True),
        ("NumericGreaterThan", "10", "10", False),
        ("NumericGreaterThanEquals", "10", "11", True),
        ("NumericEquals", "5", "five", False),
    ],
)
def test_each_operator(operator: str, wanted: Any, got: str, holds: bool) -> None:
    policies = [with_condition(operator, "k", wanted)]
    assert verdict(policies, {"k": [got]}) == ("allow" if holds else "implicit-deny")


def test_for_all_values_needs_every_request_value_to_match() -> None:
    policies = [with_condition("ForAllValues:StringLike", "dynamodb:LeadingKeys", ["CAMPAIGN#*"])]
    assert verdict(policies, {"dynamodb:LeadingKeys": ["CAMPAIGN#1", "CAMPAIGN#2"]}) == "allow"
    assert verdict(policies, {"dynamodb:LeadingKeys": ["CAMPAIGN#1", "REG#1"]}) == "implicit-deny"


def test_for_any_value_needs_one_request_value_to_match() -> None:
    policies = [with_condition("ForAnyValue:StringEquals", "aws:TagKeys", ["team"])]
    assert verdict(policies, {"aws:TagKeys": ["cost", "team"]}) == "allow"
    assert verdict(policies, {"aws:TagKeys": ["cost"]}) == "implicit-deny"


def test_for_all_values_with_a_negated_operator_needs_every_value_outside() -> None:
    policies = [with_condition("ForAllValues:StringNotLike", "dynamodb:LeadingKeys", ["TOKEN#*"])]
    assert verdict(policies, {"dynamodb:LeadingKeys": ["EVENT#1", "REG#2"]}) == "allow"
    assert verdict(policies, {"dynamodb:LeadingKeys": ["EVENT#1", "TOKEN#2"]}) == "implicit-deny"


def test_a_key_missing_from_the_request() -> None:
    # A plain operator is false, unless IfExists; ForAllValues is true; ForAnyValue false
    assert verdict([with_condition("StringEquals", "k", "v")]) == "implicit-deny"
    assert verdict([with_condition("StringEqualsIfExists", "k", "v")]) == "allow"
    assert verdict([with_condition("ForAllValues:StringLike", "k", "v*")]) == "allow"
    assert verdict([with_condition("ForAnyValue:StringLike", "k", "v*")]) == "implicit-deny"
    assert verdict([with_condition("ForAnyValue:StringLikeIfExists", "k", "v*")]) == "allow"


def test_a_negated_operator_on_a_missing_key_holds() -> None:
    # AWS: a condition asking that the key not match is true when the key is absent
    assert verdict([with_condition("StringNotEquals", "k", "v")]) == "allow"
    assert verdict([with_condition("ArnNotLike", "k", "arn:aws:s3:::x*")]) == "allow"
    assert verdict([with_condition("ForAnyValue:StringNotLike", "k", "v*")]) == "implicit-deny"
    deny = {
        "Effect": "Deny",
        "Action": "s3:GetObject",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}},
    }
    allow = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    found = evaluate([{"Statement": [allow, deny]}], "s3:GetObject", "arn:aws:s3:::b/k", {})
    assert found.verdict == "explicit-deny"


def test_a_key_with_no_values_is_a_key_missing() -> None:
    empty = {"dynamodb:LeadingKeys": []}
    key = "dynamodb:LeadingKeys"
    assert verdict([with_condition("ForAllValues:StringLike", key, "EVENT#*")], empty) == "allow"
    assert verdict([with_condition("ForAnyValue:StringLike", key, "EVENT#*")], empty) == (
        "implicit-deny"
    )
    assert verdict([with_condition("StringLikeIfExists", key, "EVENT#*")], empty) == "allow"


def test_if_exists_still_judges_a_key_that_is_present() -> None:
    policies = [with_condition("StringEqualsIfExists", "k", "v")]
    assert verdict(policies, {"k": ["v"]}) == "allow"
    assert verdict(policies, {"k": ["w"]}) == "implicit-deny"


def test_null_asks_whether_the_key_is_absent() -> None:
    absent, present = [with_condition("Null", "k", "true")], [with_condition("Null", "k", False)]
    assert verdict(absent) == "allow"
    assert verdict(absent, {"k": ["v"]}) == "implicit-deny"
    assert verdict(present, {"k": ["v"]}) == "allow"
    assert verdict(present) == "implicit-deny"


def test_every_condition_of_a_statement_must_hold() -> None:
    policies = [
        policy(
            allow(
                Condition={
                    "StringEquals": {"aws:RequestedRegion": "us-east-1"},
                    "Bool": {"aws:SecureTransport": "true"},
                }
            )
        )
    ]
    both = {"aws:RequestedRegion": ["us-east-1"], "aws:SecureTransport": ["true"]}
    assert verdict(policies, both) == "allow"
    assert verdict(policies, {**both, "aws:SecureTransport": ["false"]}) == "implicit-deny"


@pytest.mark.parametrize(
    "operator", ["DateGreaterThan", "IpAddress", "ForEachValue:StringEquals", "StringEqualz"]
)
def test_an_operator_not_emulated_fails_loudly(operator: str) -> None:
    with pytest.raises(ValueError, match="not emulated"):
        verdict([with_condition(operator, "k", "v")], {"k": ["v"]})


def test_an_operator_not_emulated_fails_even_where_its_statement_does_not_apply() -> None:
    unjudged = policy(allow("sqs:*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    with pytest.raises(ValueError, match="IpAddress"):
        evaluate([policy(allow()), unjudged], "dynamodb:GetItem", TABLE, {})


def test_wildcards_stand_for_runs_and_single_characters_only() -> None:
    assert matches("a*c", "abbbc")
    assert matches("a?c", "abc")
    assert not matches("a?c", "abbc")
    assert not matches("a.c", "abc")  # a dot is a dot
    assert matches("A*", "abc", ignore_case=True)
