"""From the inbox to Zoom, and the outbox as a person reads it, on local mode."""

from __future__ import annotations

import email
import re
import time
from email import policy

import icalendar
import requests

from tests.builders import person


def _email_to(local, address: str):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for path in sorted(local.outbox.glob("*.eml")) if local.outbox.exists() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if address in str(message["To"]).lower():
                return path, message
        time.sleep(0.1)
    raise AssertionError(f"no email to {address}")


def test_the_join_link_in_the_email_leads_to_zoom(local):
    response = requests.post(
        f"{local.url}/events/demo/registrations",
        json=person(31, email="clicker@example.org", language="es", sessions=["media"]),
        timeout=30,
    )
    assert response.status_code == 201
    _, message = _email_to(local, "clicker@example.org")
    text = message.get_body(("plain",)).get_content()
    (join_url,) = re.findall(rf"{re.escape(local.url)}/join/\S+", text)
    redirect = requests.get(join_url, allow_redirects=False, timeout=30)
    assert redirect.status_code == 302
    # To the session's Zoom webinar (the stand-in's, on loopback): personal once synced
    assert redirect.headers["Location"].startswith(f"{local.zoom_url}/w/81234567895")
    # The calendar entry carries the same link
    (invite,) = list(message.iter_attachments())
    calendar = icalendar.Calendar.from_ical(invite.get_content())
    (vevent,) = calendar.walk("VEVENT")
    assert str(vevent["URL"]) == join_url


def test_the_outbox_can_be_read_in_a_browser(local):
    requests.post(
        f"{local.url}/events/demo/registrations",
        json=person(32, email="reader@example.org", language="ar"),
        timeout=30,
    )
    path, message = _email_to(local, "reader@example.org")
    index = requests.get(f"{local.url}/_outbox/", timeout=30)
    assert index.status_code == 200
    assert str(message["Subject"]) in index.text
    page = requests.get(f"{local.url}/_outbox/{path.name}", timeout=30)
    assert page.status_code == 200
    assert "<iframe sandbox" in page.text
    assert "invite.ics" in page.text
    invite = requests.get(f"{local.url}/_outbox/{path.name}/attachment/0", timeout=30)
    assert invite.headers["Content-Type"] == "text/calendar"
    assert invite.content.startswith(b"BEGIN:VCALENDAR")
    raw = requests.get(f"{local.url}/_outbox/{path.name}/raw", timeout=30)
    assert raw.content == path.read_bytes()
    assert requests.get(f"{local.url}/_outbox/../../etc/passwd", timeout=30).status_code == 404
