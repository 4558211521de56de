"""Rendering pages in the visitor's language, with headers that keep them safe.

The stylesheet is inlined and allowed by its hash, so the Content-Security-Policy
needs no ``unsafe-inline``; pages carry no script unless a later page adds one with
its own hash.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from pathlib import Path

from markupsafe import Markup

from chalicelib import i18n

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


@functools.cache
def page_css() -> str:
    return (STATIC / "page.css").read_text(encoding="utf-8")


@functools.cache
def security_headers() -> dict[str, str]:
    css_hash = base64.b64encode(hashlib.sha256(page_css().encode("utf-8")).digest()).decode()
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'sha256-{css_hash}'; img-src 'self'; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        ),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
    }


def render(template: str, language: str, **context: object) -> str:
    env = i18n.environment(TEMPLATES, language)
    return env.get_template(template).render(
        language=language,
        dir=i18n.direction(language),
        page_css=Markup(page_css()),  # noqa: S704 - our own file
        **context,
    )
