"""The pages a join link can lead to instead of Zoom: why it does not work, kindly."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib import i18n
from chalicelib.pages.render import render
from chalicelib.usecases.access import LinkRefused, Refusal


def refusal_page_text(reason: Refusal, gettext: Callable[[str], str]) -> tuple[str, list[str]]:
    """Heading and paragraphs of the page that explains a refused link."""
    _ = gettext
    if reason is Refusal.INVALID:
        return _("This link does not work"), [
            _(
                "Please check that you copied the whole link from your email. If it still "
                "does not work, use the link in the most recent email from the organisers."
            )
        ]
    if reason is Refusal.UNAVAILABLE:
        return _("The join link is not ready yet"), [
            _(
                "The organisers have not published the link for this session yet. Please try "
                "again closer to the start of the session."
            )
        ]
    reasons = {
        Refusal.EXPIRED: _("This session is over, so its link has expired."),
        Refusal.REVOKED: _(
            "This link has been replaced. Please use the link in your most recent email "
            "from the organisers."
        ),
        Refusal.CANCELLED: _("This registration has been cancelled."),
        Refusal.WAITLISTED: _(
            "You are on the waiting list. If a place becomes available, we will email you "
            "your own join link."
        ),
        Refusal.SESSION_CANCELLED: _(
            "The organisers have cancelled this session. Your registration page shows the "
            "sessions that take place."
        ),
    }
    return _("This link is no longer valid"), [reasons[reason]]


def refused_page(
    refused: LinkRefused, accept_language: str | None, base_url: str
) -> tuple[str, int]:
    """(HTML, status) in the registrant's language, else the browser's."""
    language = refused.language or i18n.negotiate(accept_language, list(i18n.LANGUAGES), "en")
    heading, paragraphs = refusal_page_text(refused.reason, i18n.translations(language).gettext)
    html = render("link_problem.html", language, base_url, heading=heading, paragraphs=paragraphs)
    return html, refused.reason.status
