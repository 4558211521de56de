"""Who may not register: an event's blocked addresses and domains, and throwaway mail.

An organiser blocks an address (``a@b.example``) or a whole domain (``spam.example``,
which also blocks its subdomains, ``mx.spam.example``). Entries are kept in the form
addresses are compared in (:mod:`chalicelib.domain.addresses`): case-folded, domains in
their ASCII (punycode) form. Disposable-address domains come from the
``disposable-email-domains`` list (pinned), read at first use.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import cache

import idna

from chalicelib.domain.addresses import MAX_ADDRESS_LENGTH, parse_address
from chalicelib.domain.text import TextError

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def blocked_entry(entry: str) -> str:
    """An address or a domain as it is compared; TextError if it is neither."""
    text = entry.strip()
    if "@" in text.lstrip("@"):
        return parse_address(text).key
    domain = text.lstrip("@").rstrip(".").lower()
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        ascii_domain = ""
    labels = ascii_domain.split(".")
    if (
        len(labels) < 2
        or len(ascii_domain) > MAX_ADDRESS_LENGTH
        or not all(_LABEL.fullmatch(label) for label in labels)
    ):
        raise TextError(
            "invalid_blocked", "Block an address (a@b.example) or a domain (b.example)."
        )
    return ascii_domain


def _domains(key: str) -> list[str]:
    """The domain of an address key and each domain it is under: a.b.example, b.example."""
    labels = key.rpartition("@")[2].split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def is_blocked(blocked: Collection[str], key: str) -> bool:
    """Whether the address ``key`` (an :class:`Address` key) is blocked by ``blocked``."""
    return bool(blocked) and (key in blocked or any(d in blocked for d in _domains(key)))


@cache
def _disposable() -> frozenset[str]:
    from disposable_email_domains import blocklist  # about 5,000 domains: not on every path

    return frozenset(blocklist)


def is_disposable(key: str) -> bool:
    """Whether the address ``key`` is at a disposable-address domain (or under one)."""
    domains = _disposable()
    return any(d in domains for d in _domains(key))
