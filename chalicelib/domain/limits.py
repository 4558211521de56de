"""Rate limits per client address: how many requests a window admits, and when it ends.

A limit counts in fixed windows (a minute by default), which takes one counter per
address and window: one conditional write per counted request. A burst across the edge
of two windows may see up to twice the limit in a short while; the limits are set with
that in mind, well above what a real crowd behind one address does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Limit:
    name: str
    requests: int
    window_seconds: int = 60

    def window(self, now: datetime) -> tuple[int, int]:
        """The window ``now`` falls in (its start, in epoch seconds) and the seconds left."""
        epoch = int(now.timestamp())
        start = epoch - epoch % self.window_seconds
        return start, start + self.window_seconds - epoch
