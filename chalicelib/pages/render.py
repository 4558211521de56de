"""Rendering pages in the visitor's language, with headers that keep them safe.

Styles and scripts are files served from ``/assets/`` (``chalicelib/pages/static``), so
the Content-Security-Policy allows only our own origin for them: nothing inline, no
``unsafe-inline``, no third party; pages cannot be framed.
"""

from __future__ import annotations

import functools
from pathlib import Path

from chalicelib import i18n

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


@functools.cache
def security_headers() -> dict[str, str]:
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": (
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
            "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        ),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
    }


def render(template: str, language: str, base_url: str, **context: object) -> str:
    env = i18n.environment(TEMPLATES, language)
    context.setdefault("switch_languages", None)
    return env.get_template(template).render(
        language=language, dir=i18n.direction(language), assets=f"{base_url}/assets", **context
    )
