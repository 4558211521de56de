"""IAM's decision on one request under a principal's identity policies, as AWS makes it.

moto's own policy check matches a resource only for SQS and S3 and ignores conditions,
so a rehearsal judged by it would deny what production allows and allow what production
denies. :func:`evaluate` follows AWS's evaluation logic for identity-based policies:

- an explicit ``Deny`` wins, then any ``Allow``, and otherwise the request is implicitly
  denied;
- ``Action``/``NotAction`` match case-insensitively, ``Resource``/``NotResource``
  case-sensitively, both with the wildcards ``*`` and ``?``;
- conditions: the ``String…``, ``Arn…``, ``Numeric…``, ``Bool`` and ``Null`` operators,
  with the ``ForAllValues:``/``ForAnyValue:`` qualifiers and the ``…IfExists`` suffix;
  condition keys are case-insensitive, their values are not (bar ``…IgnoreCase``).

A condition operator not listed here raises ``ValueError``: a policy the rehearsal
cannot judge must stop it, never pass unjudged. Resource-based policies, permission
boundaries, session policies and SCPs are not evaluated (Majlis uses none of them to
grant its functions anything).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Verdict = Literal["allow", "explicit-deny", "implicit-deny"]


@dataclass(frozen=True)
class Decision:
    """What IAM decided, and the statement (its ``Sid``, when it has one) that decided
    it: the denying statement for an explicit deny, the first allowing one for an allow."""

    verdict: Verdict
    statement: str | None = None

    @property
    def allowed(self) -> bool:
        return self.verdict == "allow"


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@functools.lru_cache(maxsize=4096)
def _pattern(wildcarded: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in wildcarded)
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(regex, flags)


def matches(wildcarded: str, value: str, ignore_case: bool = False) -> bool:
    """Whether ``value`` matches ``wildcarded``, in which ``*`` stands for any run of
    characters and ``?`` for any one."""
    return _pattern(wildcarded, ignore_case).fullmatch(value) is not None


def _arn_matches(wanted: str, got: str) -> bool:
    # ARNs are compared component by component, so a wildcard never spans a colon
    # between the first five; the resource part (the sixth) may hold colons itself.
    wanted_parts, got_parts = wanted.split(":", 5), got.split(":", 5)
    if len(wanted_parts) != 6 or len(got_parts) != 6:
        return False
    return all(matches(w, g) for w, g in zip(wanted_parts, got_parts, strict=True))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _compare_numbers(holds: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def compare(wanted: str, got: str) -> bool:
        w, g = _number(wanted), _number(got)
        return w is not None and g is not None and holds(g, w)  # a non-number matches nothing

    return compare


# Each operator as (does one request value match one policy value, is it a negation).
# A negated operator holds for a request value that matches none of the policy's
# values; any other holds for a value that matches at least one.
_OPERATORS: Mapping[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (lambda w, g: g == w, False),
    "StringNotEquals": (lambda w, g: g == w, True),
    "StringEqualsIgnoreCase": (lambda w, g: g.casefold() == w.casefold(), False),
    "StringNotEqualsIgnoreCase": (lambda w, g: g.casefold() == w.casefold(), True),
    "StringLike": (lambda w, g: matches(w, g), False),
    "StringNotLike": (lambda w, g: matches(w, g), True),
    "ArnEquals": (_arn_matches, False),
    "ArnLike": (_arn_matches, False),
    "ArnNotEquals": (_arn_matches, True),
    "ArnNotLike": (_arn_matches, True),
    "Bool": (lambda w, g: g.lower() == w.lower(), False),
    "NumericEquals": (_compare_numbers(lambda g, w: g == w), False),
    "NumericNotEquals": (_compare_numbers(lambda g, w: g == w), True),
    "NumericLessThan": (_compare_numbers(lambda g, w: g < w), False),
    "NumericLessThanEquals": (_compare_numbers(lambda g, w: g <= w), False),
    "NumericGreaterThan": (_compare_numbers(lambda g, w: g > w), False),
    "NumericGreaterThanEquals": (_compare_numbers(lambda g, w: g >= w), False),
}
_QUALIFIERS = frozenset({"", "ForAllValues", "ForAnyValue"})


def _policy_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _parsed(operator: str) -> tuple[str, str, bool]:
    """An operator's qualifier, name and whether it ends in ``IfExists``; ValueError
    for one this module does not emulate."""
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    if qualifier not in _QUALIFIERS or (name != "Null" and name not in _OPERATORS):
        raise ValueError(f"condition operator {operator} is not emulated")
    return qualifier, name, if_exists


def _condition_holds(
    operator: str, key: str, wanted: Any, context: Mapping[str, list[str]]
) -> bool:
    qualifier, name, if_exists = _parsed(operator)
    wanted_values = [_policy_value(w) for w in _listed(wanted)]
    got = context.get(key.lower())
    if name == "Null":  # "true": the key is absent from the request; "false": present
        return (not got) == (wanted_values[0].lower() == "true")
    one_matches, negated = _OPERATORS[name]

    def value_holds(value: str) -> bool:
        matched = any(one_matches(w, value) for w in wanted_values)
        return not matched if negated else matched

    if not got:  # a key with no values is one the request lacks
        # AWS: ForAllValues is true of a key the request lacks (every one of no values
        # matches), ForAnyValue false; a plain operator is false unless …IfExists, or
        # unless it asks for no match (StringNotEquals, ArnNotLike …): then it is true.
        if qualifier == "ForAnyValue":
            return if_exists
        return qualifier == "ForAllValues" or if_exists or negated
    if qualifier == "ForAllValues":
        return all(value_holds(value) for value in got)
    # ForAnyValue, and a plain operator: AWS asks for a set operator on a key with
    # several values; without one, any matching value satisfies the condition.
    return any(value_holds(value) for value in got)


def _any_matches(patterns: Any, value: str, ignore_case: bool) -> bool:
    return any(matches(p, value, ignore_case) for p in _listed(patterns))


def _applies(
    statement: Mapping[str, Any], action: str, resource: str, context: Mapping[str, list[str]]
) -> bool:
    if "Action" in statement:
        if not _any_matches(statement["Action"], action, ignore_case=True):
            return False
    elif _any_matches(statement.get("NotAction", []), action, ignore_case=True):
        return False
    if "Resource" in statement:
        if not _any_matches(statement["Resource"], resource, ignore_case=False):
            return False
    elif _any_matches(statement.get("NotResource", []), resource, ignore_case=False):
        return False
    return all(
        _condition_holds(operator, key, wanted, context)
        for operator, pairs in (statement.get("Condition") or {}).items()
        for key, wanted in pairs.items()
    )


def _statements(policies: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    statements = [s for policy in policies for s in _listed(policy.get("Statement", []))]
    for statement in statements:  # every operator, whether or not its statement applies
        for operator in statement.get("Condition") or {}:
            _parsed(operator)
    return statements


def evaluate(
    policies: list[dict[str, Any]],
    action: str,
    resource: str,
    context: Mapping[str, list[str]],
) -> Decision:
    """IAM's decision on ``action`` (``service:Action``) on ``resource`` (an ARN, or
    ``*``) for a principal whose identity policies (parsed documents) are ``policies``,
    given the request's condition keys ``context`` (each key's values)."""
    request = {key.lower(): list(values) for key, values in context.items()}
    allowed_by: Mapping[str, Any] | None = None
    for statement in _statements(policies):
        if not _applies(statement, action, resource, request):
            continue
        if statement.get("Effect") == "Deny":
            return Decision("explicit-deny", statement.get("Sid"))
        if allowed_by is None and statement.get("Effect") == "Allow":
            allowed_by = statement
    if allowed_by is None:
        return Decision("implicit-deny")
    return Decision("allow", allowed_by.get("Sid"))
