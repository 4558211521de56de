"""Every section of ``make bench`` by name: what measures it and what shows it.

``python -m bench NAME …`` runs the sections named; each one's name is its key in
bench/results.json.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.campaigns import campaign_fanout, campaign_sending
from bench.challenge import challenge
from bench.cold_start import cold_start
from bench.console import console_at_scale
from bench.email_cpu import email_cpu
from bench.http_load import http_load
from bench.join_click import join_click
from bench.pacing import send_pacing
from bench.priority import mail_priority
from bench.programme import programme_change
from bench.report import (
    _show_campaign_fanout,
    _show_campaign_sending,
    _show_challenge,
    _show_cold_start,
    _show_console,
    _show_email_cpu,
    _show_http_load,
    _show_join_click,
    _show_mail_priority,
    _show_programme_change,
    _show_registration,
    _show_send_pacing,
    _show_zoom,
    _show_zoom_table,
)
from bench.request_path import request_path
from bench.zoom import zoom_sync, zoom_table_calls

# Every section by name (its key in results.json), in the order `make bench` runs them.
SECTIONS: dict[str, tuple[Callable[[], Any], Callable[[Any], None]]] = {
    "cold_start": (cold_start, _show_cold_start),
    "registration": (request_path, _show_registration),
    "join_click": (join_click, _show_join_click),
    "email_cpu": (email_cpu, _show_email_cpu),
    "zoom": (zoom_sync, _show_zoom),
    "zoom_table": (zoom_table_calls, _show_zoom_table),
    "campaign_fanout": (campaign_fanout, _show_campaign_fanout),
    "campaign_sending": (campaign_sending, _show_campaign_sending),
    "send_pacing": (send_pacing, _show_send_pacing),
    "mail_priority": (mail_priority, _show_mail_priority),
    "http_load": (http_load, _show_http_load),
    "programme_change": (programme_change, _show_programme_change),
    "challenge": (challenge, _show_challenge),
    "console": (console_at_scale, _show_console),
}
