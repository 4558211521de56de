"""Per-address rate limits on the public routes anyone can call without a token.

Two limits, each per client address and minute:

- ``registrations``: every new registration (API or page), counted in the very
  transaction that stores it, so the request path stays one write. Set well above a
  real crowd behind one address: a university network registering 200 people in a
  minute stays under it. (Refused bodies store nothing and cost no write; an address
  already registered is answered from its registration, its email resent at most
  every 10 minutes.)
- ``refused_links``: only links that fail their signature check, which is what guessing
  at tokens produces. A person following their own valid link is never counted nor
  refused, so a room of attendees behind one address can all click "join" at once.

Over a limit, the request is answered 429 with ``Retry-After`` (the seconds left in the
window) and nothing else happens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.bootstrap import Majlis
from chalicelib.domain.limits import Limit
from chalicelib.ports import Counted
from chalicelib.problems import Problem

if TYPE_CHECKING:
    from chalicelib.usecases.access import Refusal


def registrations(majlis: Majlis) -> Limit:
    return Limit("registrations", majlis.settings.registrations_per_minute)


def refused_links(majlis: Majlis) -> Limit:
    return Limit("refused-links", majlis.settings.refused_links_per_minute)


def count_refused_link(majlis: Majlis, reason: Refusal, address: str | None) -> None:
    """Count a refused link if its signature failed (what guessing produces); a link we
    signed (expired, revoked, cancelled …) is not a guess. Raises a 429 Problem."""
    from chalicelib.usecases.access import Refusal  # links' code stays off a registration

    if reason is Refusal.INVALID:
        count(majlis, refused_links(majlis), address)


def counted(majlis: Majlis, limit: Limit, address: str | None) -> Counted | None:
    """This request, to count against ``limit`` (None without an address to count by,
    which is never the case behind API Gateway)."""
    return Counted(limit, address, majlis.clock()) if address else None


def too_many(counted: Counted) -> Problem:
    _, seconds_left = counted.limit.window(counted.now)
    return Problem(
        429,
        "Too many requests from your network. Please try again in a minute.",
        headers={"Retry-After": str(max(1, seconds_left))},
    )


def count(majlis: Majlis, limit: Limit, address: str | None) -> None:
    """Count one request from ``address``; raises a 429 Problem once over ``limit``."""
    request = counted(majlis, limit, address)
    if request is not None and not majlis.limiter.admit(request):
        raise too_many(request)
