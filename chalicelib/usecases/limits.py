"""Per-address rate limits on the public routes anyone can call without a token.

Limits per client address and minute, and one per event and minute:

- ``registrations``: every new registration (API or page), counted in the very
  transaction that stores it, so the request path stays one write. Set well above a
  real crowd behind one address: a university network registering 200 people in a
  minute stays under it. (Refused bodies store nothing and cost no write; an address
  already registered is answered from its registration, its email resent at most
  every 10 minutes; on a double opt-in event it is counted too, and so is a blocked
  one, so that a 429 tells nobody apart.)
- ``event-registrations``: every new registration of one event, whatever the address
  (the event's ``registrations_per_minute``, 3,000 unless set: well above the real
  burst), counted in the same transaction: many addresses at once cannot take the
  seats faster than that.
- ``lost_links``: requests to have one's links emailed again ("lost your links?"), each
  one write, whatever the address.
- ``confirms``: double opt-in confirmations (the confirm link's POST), each one write.
- ``challenge``: a proof of work's solution (``chalicelib/challenges.py``), one use per
  challenge: counted last in the registration's transaction (or on its own for an
  address already registered, or blocked), so that a solution of a registration
  refused for another limit stays good for its retry. A second use is a 422 ``altcha``.
- ``refused_links``: only links that fail their signature check, which is what guessing
  at tokens produces. A person following their own valid link is never counted nor
  refused, so a room of attendees behind one address can all click "join" at once.

Over a limit, the request is answered 429 with ``Retry-After`` (the seconds left in the
window) and nothing else happens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.domain.errors import FieldError, Invalid, Refused, TooManyRequests
from chalicelib.domain.limits import Limit
from chalicelib.ports import Counted, Services

if TYPE_CHECKING:
    from chalicelib.challenges import Solved
    from chalicelib.domain.events import Event
    from chalicelib.usecases.access import Refusal

EVENT_REGISTRATIONS = "event-registrations"
CHALLENGE = "challenge"
# A solution's use counts at its challenge's expiry, not at the request's time, so that
# every use of one challenge falls in one window; its marker is kept one to two windows
# past that expiry (the counters' TTL), then forgotten.
CHALLENGE_WINDOW = 1_200


def registrations(services: Services) -> Limit:
    return Limit("registrations", services.settings.registrations_per_minute)


def refused_links(services: Services) -> Limit:
    return Limit("refused-links", services.settings.refused_links_per_minute)


def lost_links(services: Services) -> Limit:
    return Limit("lost-links", services.settings.lost_links_per_minute)


def confirms(services: Services) -> Limit:
    return Limit("confirms", services.settings.confirms_per_minute)


def count_refused_link(services: Services, reason: Refusal, address: str | None) -> None:
    """Count a refused link if its signature failed (what guessing produces); a link we
    signed (expired, revoked, cancelled …) is not a guess. Raises TooManyRequests."""
    from chalicelib.usecases.access import Refusal  # links' code stays off a registration

    if reason is Refusal.INVALID:
        count(services, refused_links(services), address)


def counted(services: Services, limit: Limit, address: str | None) -> Counted | None:
    """This request, to count against ``limit`` (None without an address to count by,
    which is never the case behind API Gateway)."""
    return Counted(limit, address, services.clock()) if address else None


def new_registration(
    services: Services, event: Event, address: str | None, solved: Solved | None = None
) -> list[Counted]:
    """What a new registration of ``event`` from ``address`` counts against (with the
    use of its challenge's solution last, when it has one)."""
    now = services.clock()
    per_event = Counted(Limit(EVENT_REGISTRATIONS, event.registrations_per_minute), event.id, now)
    used = (
        Counted(Limit(CHALLENGE, 1, CHALLENGE_WINDOW), solved.signature, solved.expires_at)
        if solved
        else None
    )
    return [c for c in (counted(services, registrations(services), address), per_event, used) if c]


def admit_all(services: Services, counted: list[Counted]) -> None:
    """Count requests outside a registration's own write; raises TooManyRequests once one
    of their limits is over (Invalid for a challenge's solution used before)."""
    for request in counted:
        if not services.limiter.admit(request):
            raise refusal(request)


def solution_use(counted: list[Counted]) -> list[Counted]:
    """Of what a registration counts, the use of its challenge's solution alone."""
    return [c for c in counted if c.limit.name == CHALLENGE]


def refusal(counted: Counted) -> Refused:
    """The answer to a request over ``counted``'s limit: a 429, or a 422 for a
    challenge's solution used before."""
    if counted.limit.name == CHALLENGE:
        return Invalid(
            [
                FieldError(
                    "altcha", "challenge_used", "This check was used already: tick the box again."
                )
            ]
        )
    return too_many(counted)


def too_many(counted: Counted) -> TooManyRequests:
    _, seconds_left = counted.limit.window(counted.now)
    if counted.limit.name == EVENT_REGISTRATIONS:
        message = "Very many people are registering right now. Please try again in a minute."
    else:
        message = "Too many requests from your network. Please try again in a minute."
    return TooManyRequests(message, retry_after=max(1, seconds_left))


def count(services: Services, limit: Limit, address: str | None) -> None:
    """Count one request from ``address``; raises TooManyRequests once over ``limit``."""
    request = counted(services, limit, address)
    if request is not None and not services.limiter.admit(request):
        raise too_many(request)
