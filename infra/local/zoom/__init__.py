"""A stand-in for Zoom's HTTP API over real HTTP on loopback: OAuth, registrants, webhooks.

Local mode and the tests talk to it exactly as Majlis talks to Zoom: Server-to-Server
OAuth at ``/oauth/token``, the registrant endpoints under ``/v2`` and signed webhooks
posted to Majlis. It keeps Zoom's rules that shape Majlis's design (see DESIGN.md,
"Facts to build on"):

- 3 add requests per registrant (email, case-insensitive) per meeting per UTC day,
  counted even when Zoom just answers the existing registrant; the 4th is a 429 with
  ``Retry-After`` until 00:00 UTC. A batch holding a registrant over its limit is
  refused whole with that 429, and every registrant in it still counts one attempt.
- at most 4,999 registrants per meeting or webinar (error 3043), or fewer where a room is
  given its own ``capacity`` (``add_session``); 30 per batch;
- ``settings.language_interpretation`` on a meeting or webinar (``PATCH``, ``GET``): Zoom's
  nine built-in languages, others only once the account defines them
  (``standin.custom_languages``), at most 20 interpreters, interpreters of a webinar
  become panelists; webinar panelists (``GET``/``POST``/``DELETE …/panelists``); livestream
  settings and status (``PATCH …/livestream``, ``…/livestream/status``);
- per-second limits per category (light 30/s, medium 20/s, heavy 10/s): a 429 with
  ``X-RateLimit-Category`` and no ``Retry-After``;
- ids beyond 32 bits: kept as strings here, sent as JSON numbers where Zoom sends numbers;
- webhooks signed over the exact raw bytes sent, posted from a background thread (a
  webhook may reach Majlis before the API response that caused it, as with Zoom),
  retried on 5xx or no answer within 3 s, never on 4xx, never de-duplicated.

Faults (latency, 5xx before or after the work, extra 429s, dropped webhooks, short
token lifetimes) are set at run time through ``standin.faults`` and drawn from a
seeded ``random.Random``. Counters, registrants and webhooks can be read for tests.
Sessions, registrants and their join links can be exported and imported again, at the
same address or another (``export_state``, ``import_state``).

Run alone: ``python -m infra.local.zoom --port 9090 --webhook-url URL``.

What lives where:

- ``standin``: :class:`ZoomStandIn`, the parts' mixins in one class, its shared state and reset;
- ``server``: the HTTP server and handler, routing of paths to endpoints, the /v2 gate;
- ``oauth``: the ``/oauth/token`` endpoint and the checks of access tokens;
- ``registrants``: meetings and webinars, adding, batch adding, listing, status changes,
  daily limits, capacity;
- ``settings``: a meeting's or webinar's settings (interpretation) and its livestream;
- ``panelists``: a webinar's panelists;
- ``participants``: the page a ``join_url`` opens and ``join`` (``participant_joined``);
- ``webhooks``: events, :func:`sign`, delivery with timeouts and retries, URL validation;
- ``faults``: :class:`Faults` and the per-second rate limits;
- ``persistence``: ``export_state`` and ``import_state`` (local mode keeps the account
  across restarts);
- ``common``: what the parts share (``Result``, ``ApiError``, kinds and times);
- ``__main__``: the command line above (``main``).
"""

from __future__ import annotations

from .common import ApiError, Result
from .faults import DEFAULT_RATE_LIMITS, Faults
from .oauth import SCOPE
from .panelists import PANELISTS_MAX
from .registrants import (
    ACTION_EVENTS,
    ACTIONS,
    BATCH_MAX,
    DAILY_ADDS_PER_REGISTRANT,
    LISTABLE,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    PAGE_TOKEN_LIFETIME,
    STATUS_MAX,
)
from .server import CATEGORY
from .settings import BUILT_IN_LANGUAGES, INTERPRETERS_MAX
from .standin import ZoomStandIn
from .webhooks import DEFAULT_WEBHOOK_RETRY_DELAYS, OPERATOR, WEBHOOK_TIMEOUT, sign

__all__ = [
    "ACTIONS",
    "ACTION_EVENTS",
    "BATCH_MAX",
    "BUILT_IN_LANGUAGES",
    "CATEGORY",
    "DAILY_ADDS_PER_REGISTRANT",
    "DEFAULT_RATE_LIMITS",
    "DEFAULT_WEBHOOK_RETRY_DELAYS",
    "INTERPRETERS_MAX",
    "LISTABLE",
    "OPERATOR",
    "PAGE_SIZE_DEFAULT",
    "PAGE_SIZE_MAX",
    "PAGE_TOKEN_LIFETIME",
    "PANELISTS_MAX",
    "SCOPE",
    "STATUS_MAX",
    "WEBHOOK_TIMEOUT",
    "ApiError",
    "Faults",
    "Result",
    "ZoomStandIn",
    "sign",
]
