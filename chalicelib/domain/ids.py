"""Identifiers: registration ids and other opaque, time-ordered ids.

An id is 48 bits of milliseconds since the epoch and 80 random bits, in Crockford's
base 32 (lower case): 26 characters that sort by creation time, so a page through an
event's registrations comes out oldest first.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
ID_PATTERN = re.compile(r"[0-9a-hjkmnp-tv-z]{26}")


def new_id(now_ms: int | None = None) -> str:
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    value = (millis << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_id(value: str) -> bool:
    return bool(ID_PATTERN.fullmatch(value))


def derived_id(key: str) -> str:
    """The id of something that must exist once per ``key`` (a reminder, the notice of a
    programme change): always the same for the same key, shaped like every other id."""
    value = int.from_bytes(hashlib.sha256(key.encode()).digest()[:17], "big")
    found = "".join(reversed([_ALPHABET[(value >> (5 * i)) & 31] for i in range(26)]))
    assert ID_PATTERN.fullmatch(found)
    return found
