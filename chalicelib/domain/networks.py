"""Client networks: where a join link is opened from, to see links passed around.

A link opened from many networks was most likely shared (forwarded to a group, posted
online). A network is an IPv4 /24 or an IPv6 /48, what one household, office or
campus usually holds; only a keyed hash of it is stored (``usecases/access.py``).
"""

from __future__ import annotations

import ipaddress

# The most networks kept per registration: enough to tell, and the item stays small.
MOST_NETWORKS = 20


def network_of(address: str | None) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) an address is in, as text; None if it is not one."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
