"""What every part of the Zoom stand-in shares: the answer type, API errors, ids' kinds, times.

Nothing here touches the stand-in's state; the parts (``server``, ``oauth``, ``registrants``,
``participants``, ``webhooks``, ``faults``) import these from here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

Result = tuple[int, dict[str, str], Any]


def _kind(kind: str) -> str:
    """ "meeting", "meetings", "webinar" or "webinars" → "meeting" or "webinar"."""
    singular = kind.lower().removesuffix("s")
    if singular not in ("meeting", "webinar"):
        raise ValueError(f"kind must be meeting or webinar, not {kind!r}")
    return singular


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiError(Exception):
    def __init__(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(payload.get("message"))
        self.status = status
        self.payload = payload
        self.headers = headers or {}


def _invalid(field_name: str, message: str = "Invalid field.") -> ApiError:
    return ApiError(
        400,
        {
            "code": 300,
            "message": "Validation Failed.",
            "errors": [{"field": field_name, "message": message}],
        },
    )
