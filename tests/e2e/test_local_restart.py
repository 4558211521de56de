"""Local mode keeps its promises across a restart: every link of an email sent before it
still works (signing keys, Zoom join URLs and the stand-in's registrants are kept), and
the demo event is not seeded again (its sessions do not move)."""

from __future__ import annotations

import email
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from email import policy
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib import bootstrap
from tests.builders import person
from tests.conftest import free_port

EVENT = "demo"
http = requests.Session()
http.trust_env = False  # loopback only, never through a proxy


def one_session_per_slot(event: dict[str, Any]) -> list[str]:
    """The first session of each time slot (overlapping sessions are alternatives)."""
    chosen, slot_end = [], None
    sessions = [s for s in event["sessions"] if s.get("status", "scheduled") != "cancelled"]
    for session in sorted(sessions, key=lambda s: datetime.fromisoformat(s["starts_at"])):
        starts, ends = (datetime.fromisoformat(session[k]) for k in ("starts_at", "ends_at"))
        if slot_end is None or starts >= slot_end:
            chosen.append(session["id"])
            slot_end = ends
        else:
            slot_end = max(slot_end, ends)
    return chosen


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return found


def email_to(outbox: Path, address: str, subject: str = "") -> email.message.EmailMessage | None:
    """The first email to ``address`` (whose subject holds ``subject``) in the outbox."""
    for path in sorted(outbox.glob("*.eml")) if outbox.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if address in str(message["To"]).lower() and subject in str(message["Subject"]):
            return message
    return None


def links_of(message: email.message.EmailMessage, base: str) -> dict[str, set[str]]:
    """Every join, manage and unsubscribe link in the message, by kind."""
    text = str(message.get("List-Unsubscribe", ""))
    for part in message.walk():
        if part.get_content_type() in ("text/plain", "text/html"):
            text += part.get_content()
    found: dict[str, set[str]] = {"join": set(), "manage": set(), "unsubscribe": set()}
    for kind, token in re.findall(rf"{re.escape(base)}/(join|manage|unsubscribe)/([\w.~-]+)", text):
        found[kind].add(f"{base}/{kind}/{token}")
    return found


def sessions_of(url: str) -> dict[str, tuple[str, str]]:
    event = http.get(f"{url}/events/{EVENT}", timeout=30).json()
    return {s["id"]: (s["starts_at"], s["ends_at"]) for s in event["sessions"]}


def check_links(local: Any, links: dict[str, set[str]]) -> None:
    for join in links["join"]:
        redirect = http.get(join, allow_redirects=False, timeout=30)
        assert redirect.status_code == 302, (join, redirect.status_code, redirect.text[:300])
        target = redirect.headers["Location"]
        assert target.startswith(f"{local.zoom_url}/w/"), target
        page = http.get(target, timeout=30)
        assert page.status_code == 200, (target, page.text)
        assert "Joining" in page.text
    for link in links["manage"] | links["unsubscribe"]:
        page = http.get(link, timeout=30)
        assert page.status_code == 200, (link, page.status_code, page.text[:300])


class Runs:
    """Local mode with kept state, started and stopped in one folder on one API port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.running: list[Any] = []

    def start(self) -> Any:
        from infra.local.runner import LocalMajlis

        local = LocalMajlis(root=self.root, port=self.port, keep_state=True).start()
        self.running.append(local)
        return local

    def stop(self, local: Any) -> None:
        self.running.remove(local)
        local.stop()


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[Runs]:
    from chalicelib import config
    from chalicelib.adapters import aws as aws_clients

    saved = dict(os.environ)
    started = Runs(tmp_path)
    try:
        yield started
    finally:
        for local in list(started.running):
            started.stop(local)
        os.environ.clear()
        os.environ.update(saved)
        bootstrap.use(None)
        aws_clients.client.cache_clear()
        config.settings.cache_clear()


def test_every_link_of_an_email_sent_before_a_restart_still_works(runs, tmp_path):
    local = runs.start()
    assert not local.demo_kept  # a fresh .local: seeded
    assert (tmp_path / "address").read_text().strip() == local.url
    event = http.get(f"{local.url}/events/{EVENT}", timeout=30).json()
    chosen = one_session_per_slot(event)
    zoom_of = {s.id: s.zoom for s in local.majlis.events.get(EVENT).sessions if s.zoom}
    assert any(session in zoom_of for session in chosen), "the demo has Zoom sessions"
    created = http.post(
        f"{local.url}/events/{EVENT}/registrations",
        json=person(41, email="kept@example.org", language="ur", sessions=chosen),
        timeout=30,
    )
    assert created.status_code == 201, created.text
    registration_id = created.json()["registration_id"]
    message = wait_for(lambda: email_to(local.outbox, "kept@example.org"), "the confirmation")
    links = links_of(message, local.url)
    assert len(links["join"]) == len(chosen) and links["manage"]
    # An announcement too: its unsubscribe link (the confirmation has none) and join links
    campaign = http.post(
        f"{local.url}/events/{EVENT}/campaigns",
        headers={"Authorization": f"Bearer {local.organizer_token}"},
        json={
            "name": "before the restart",
            "audience": {"languages": ["ur"]},
            "content": {
                "ar": {"subject": "قبل", "text": "{{first_name}} {{join_links}}"},
                "ur": {"subject": "پہلے", "text": "{{first_name}} {{join_links}}"},
            },
        },
        timeout=30,
    )
    assert campaign.status_code in (200, 201, 202), campaign.text
    announcement = wait_for(
        lambda: email_to(local.outbox, "kept@example.org", subject="پہلے"), "the announcement"
    )
    for kind, found in links_of(announcement, local.url).items():
        links[kind] |= found
    assert links["unsubscribe"]

    def synced() -> bool:  # Zoom has them, and Majlis has their personal join URLs
        registration = local.majlis.registrations.get(registration_id, consistent=True)
        return all(
            "kept@example.org" in {r["email"] for r in local.zoom.registrants(zoom.type, zoom.id)}
            and registration.zoom.get(session, {}).get("join_url")
            for session, zoom in zoom_of.items()
            if session in chosen
        )

    wait_for(synced, "the Zoom registrants and their join URLs", timeout=60)
    sessions = sessions_of(local.url)
    zoom_url = local.zoom_url
    check_links(local, links)
    runs.stop(local)
    state = tmp_path / "state"
    for kept in ("table.jsonl", "signing-keys.json", "zoom.json"):
        assert oct((state / kept).stat().st_mode)[-3:] == "600", kept

    # Started again: same keys, same stand-in address and registrants, same programme
    local = runs.start()
    assert local.demo_kept
    assert local.zoom_url == zoom_url
    assert sessions_of(local.url) == sessions
    check_links(local, links)
    assert local.errors == []
    runs.stop(local)

    # Started again with the stand-in's port taken: it moves, and the join URLs with it
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", int(zoom_url.rsplit(":", 1)[1])))
        squatter.listen()
        local = runs.start()
        assert local.zoom_url != zoom_url
        check_links(local, links)
        assert sessions_of(local.url) == sessions
        stored = local.majlis.events.get(EVENT)
        assert all(
            s.join_url.startswith(f"{local.zoom_url}/w/") for s in stored.sessions if s.join_url
        )
        runs.stop(local)
    assert len(list(local.outbox.glob("*.eml"))) == 2  # and nothing was sent twice
