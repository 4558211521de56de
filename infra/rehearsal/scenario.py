"""The reference conference, played from its announcement to its follow-up.

Every step is what a person does through the public address (organisers through the
organizer API, attendees through the links their emails hold) or what a service does
(SES's events, Zoom's webhooks, the schedules), with the clock jumping from one
moment of the conference to the next. Each step also writes down what should follow
from it: the emails each person is owed (:class:`Owed`), which the audit compares with
the outbox.

The steps, in order: the event put and opened (double opt-in, a capacity that leaves a
waiting list); the registration burst (people, duplicates, bots, bad input; SES
throttling some sends); the opt-in confirmations; cancellations that promote the
waiting list, updates, unsubscribes; a session moved; two announcements to segments
(a worker killed in the middle of one); a restart of every function; an erasure; on
each day the day-before reminders, and at each session the hour-before reminder, the
join clicks and Zoom's ``participant_joined`` webhooks (some twice, out of order);
after the last session a follow-up to those who missed the first.
"""

from __future__ import annotations

import csv
import email
import io
import json
import random
import re
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import requests

from infra.local.demo import demo_event
from infra.rehearsal import people as crowd_of
from infra.rehearsal.people import Attempt, Person
from infra.rehearsal.stage import Stage

EVENT_ID = "bridges-2027"
CONFERENCE_SITE = "https://conference.example.org"
SAME_SITE = {"Sec-Fetch-Site": "same-origin"}
REGISTRATION_KINDS = ("pending", "registered", "waitlisted", "cancelled")


@dataclass(frozen=True)
class Owed:
    """One email a person should have received: its kind and what it is about."""

    kind: str  # pending (the opt-in request), registered, waitlisted, cancelled, or a
    # campaign's purpose: announcement, reminder, change
    about: str = ""  # a campaign's name, a reminder's session and offset, a changed session
    language: str = ""  # the language it should be written in


@dataclass
class Attendee:
    """What the rehearsal knows of one person, as the people themselves would."""

    person: Person
    address: str  # as SES has it: the domain in punycode
    source_ip: str  # where they register and click from
    status: str = "none"  # none, pending, registered, waitlisted, cancelled, erased
    email_status: str = "ok"  # ok, bounced, complained, unsubscribed
    language: str = ""
    timezone: str = ""
    registration_id: str | None = None
    clicked: set[str] = field(default_factory=set)
    joined: set[str] = field(default_factory=set)
    owed: list[Owed] = field(default_factory=list)

    def described(self) -> str:
        """Who they are to the audit, without their address or name."""
        p = self.person
        return (
            f"a {self.status} {p.language} registrant ({self.email_status}, updates "
            f"{'on' if p.updates else 'off'}, {len(p.sessions)} session(s), {p.country})"
        )

    @property
    def wants_announcements(self) -> bool:
        return self.person.updates and self.email_status == "ok"

    @property
    def takes_transactional(self) -> bool:
        return self.email_status not in ("bounced", "complained")


def ses_address(address: str) -> str:
    """An address as SES has it: lower case, its domain in punycode."""
    local, _, domain = address.strip().lower().partition("@")
    return f"{local}@{domain.encode('idna').decode('ascii')}"


class Conference:
    def __init__(self, stage: Stage, people: int, seed: int = 0) -> None:
        self.stage = stage
        self.people = people
        self.random = random.Random(seed)
        self.failures: list[str] = []
        self.steps: list[dict[str, Any]] = []
        self.attendees: dict[str, Attendee] = {}
        self.answers: Counter[str] = Counter()
        self.campaigns: dict[str, str] = {}  # name -> id
        self._lock = threading.Lock()
        first_day = stage.clock.now().date() + timedelta(days=21)
        self.event = demo_event(today=first_day, days_ahead=0)
        self.event |= {
            "double_opt_in": True,
            "allowed_origins": [CONFERENCE_SITE],
            "registrations_per_minute": 20_000,
        }
        self.sessions = {s["id"]: s for s in self.event["sessions"]}
        self.attempts = crowd_of.crowd(people, self.event["sessions"], seed=seed)

    # -- helpers ----------------------------------------------------------------------

    def fail(self, what: str) -> None:
        with self._lock:
            self.failures.append(what)

    def organizer(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.stage.organizer_token}"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body)
        return self.stage.gateway.request(method, path, headers=headers, body=data)

    def _step(self, name: str, began: float, **figures: Any) -> None:
        self.steps.append(
            {
                "step": name,
                "at": self.stage.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
                "seconds": round(time.perf_counter() - began, 2),
                **figures,
            }
        )

    def settle(self) -> None:
        # A stage that stops moving has hung; a crowd's emails take their time (a day's
        # reminders for 5,000 people are about 25,000).
        self.stage.settle(most_s=600 + self.people * 0.5)

    def owe(self, attendee: Attendee, kind: str, about: str = "", language: str = "") -> None:
        attendee.owed.append(Owed(kind, about, language or attendee.language))

    def in_status(self, *statuses: str) -> list[Attendee]:
        return [a for a in self.attendees.values() if a.status in statuses]

    def holders(self, session: str) -> list[Attendee]:
        return [
            a
            for a in self.in_status("registered")
            if session in (a.person.sessions or tuple(self.sessions))
        ]

    def messages_to(self, attendee: Attendee, kind: str) -> list[Any]:
        """The emails of ``kind`` SES took for ``attendee``, parsed, oldest first."""
        found = []
        for sent in self.stage.aws.sent_to(attendee.address):
            if sent.tags.get("kind") == kind:
                found.append(email.message_from_bytes(sent.raw, policy=policy.default))
        return found

    def link_in(self, message: Any, path: str) -> str:
        text = message.get_body(("plain",)).get_content()
        links = re.findall(rf"https://\S+/{path}/[^\s>\"']+", text)
        if not links:
            raise LookupError(f"no /{path}/ link in the email")
        return links[0]

    def visit(self, method: str, link: str, by: Attendee | None = None, **kwargs: Any) -> Any:
        """Follow a link of an email (as ``by``, from their own address)."""
        parts = urlsplit(link)
        url = parts.path + (f"?{parts.query}" if parts.query else "")
        if by is not None:
            kwargs["source_ip"] = by.source_ip
        return self.stage.gateway.request(method, url, **kwargs)

    def in_parallel(self, work: Any, items: list[Any], threads: int = 12) -> list[Any]:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            return list(pool.map(work, items))

    # -- the conference ------------------------------------------------------------------

    def play(self, stop_after: str | None = None) -> None:
        """Every step in order (up to and including ``stop_after`` when given)."""
        for step in (
            self.announce,
            self.burst,
            self.confirm,
            self.changes_of_mind,
            self.move_a_session,
            self.announcements,
            self.restart,
            self.erasure,
            self.export,
            self.the_days,
            self.follow_up,
        ):
            began = time.perf_counter()
            print(f"· {step.__name__}", flush=True)
            step()
            if not self.steps or self.steps[-1]["step"] != step.__name__:
                self._step(step.__name__, began)
            if step.__name__ == stop_after:
                return

    def announce(self) -> None:
        began = time.perf_counter()
        expected_confirmers = self.people - self._bouncers_wanted() - self._never_wanted()
        self.waiting = max(2, self.people // 100)
        self.event["capacity"] = expected_confirmers - self.waiting
        put = self.organizer("PUT", f"/events/{EVENT_ID}", self.event)
        if put.status != 201:
            self.fail(f"PUT /events/{EVENT_ID}: {said(put)}")
            raise RuntimeError("the event could not be created")
        public = self.stage.gateway.request("GET", f"/events/{EVENT_ID}")
        if public.status != 200 or "capacity" in public.json():
            self.fail(f"GET /events/{EVENT_ID}: {public.status}")
        page = self.stage.gateway.request("GET", f"/events/{EVENT_ID}/register?lang=ur")
        if page.status != 200 or 'dir="rtl"' not in page.text:
            self.fail(f"the Urdu registration page: {page.status}")
        self._step("announce", began, capacity=self.event["capacity"])

    def _bouncers_wanted(self) -> int:
        return max(1, self.people // 100)

    def _never_wanted(self) -> int:
        return max(1, self.people // 50)

    def burst(self) -> None:
        began = time.perf_counter()
        throttled = max(3, self.people // 50)
        self.stage.aws.throttle_ses(throttled)
        first = [a for a in self.attempts if a.kind != "duplicate"]
        again = [a for a in self.attempts if a.kind == "duplicate"]
        self.in_parallel(self._post, first, threads=16)
        self.in_parallel(self._post, again, threads=16)
        everyone = list(self.attendees.values())
        self.random.shuffle(everyone)
        self.bouncing = everyone[: self._bouncers_wanted()]
        self.never = everyone[len(self.bouncing) : len(self.bouncing) + self._never_wanted()]
        for attendee in self.bouncing:
            self.stage.feedback.bouncing.add(attendee.address)
        self.settle()
        for attendee in self.bouncing:
            attendee.email_status = "bounced"
        self._step(
            "burst",
            began,
            attempts=len(self.attempts),
            answers=dict(sorted(self.answers.items())),
            ses_throttled=throttled,
        )

    def _post(self, attempt: Attempt) -> None:
        headers = {"Content-Type": attempt.content_type, "Origin": CONFERENCE_SITE}
        answer = self.stage.gateway.request(
            "POST",
            f"/events/{EVENT_ID}/registrations",
            headers=headers,
            body=attempt.data,
            source_ip=attempt.source_ip,
        )
        wanted = attempt.expected_status(double_opt_in=True)
        with self._lock:
            self.answers[f"{attempt.kind.split(':')[0]} {answer.status}"] += 1
        if answer.status != wanted:
            self.fail(f"{attempt.kind} registration answered {answer.status}, not {wanted}")
            return
        if attempt.expected_field:
            fields = [e.get("field") for e in answer.json().get("errors", [])]
            if attempt.expected_field not in fields:
                self.fail(f"{attempt.kind}: errors name {fields}, not {attempt.expected_field}")
        if attempt.kind == "person" and attempt.person is not None:
            person = attempt.person
            attendee = Attendee(
                person,
                ses_address(person.email),
                attempt.source_ip,
                status="pending",
                language=person.language,
                timezone=person.timezone,
            )
            self.owe(attendee, "pending")
            with self._lock:
                self.attendees[person.email] = attendee

    def confirm(self) -> None:
        began = time.perf_counter()
        skipped = {a.person.email for a in self.bouncing + self.never}
        confirming = [a for a in self.in_status("pending") if a.person.email not in skipped]
        # Each confirmed registrant is added to Zoom, which fails one call in twenty with
        # a 5xx and rate-limits another (beyond its plan's limits, always on).
        self.stage.zoom.faults.set(error_rate=0.05, extra_429_rate=0.05)
        done = self.in_parallel(self._confirm, confirming)
        confirming = [a for a, ok in zip(confirming, done, strict=True) if ok]
        self.settle()
        self.stage.zoom.faults.reset()
        waitlisted = self._listed("waitlisted")
        for attendee in confirming:
            if attendee.registration_id in waitlisted:
                attendee.status = "waitlisted"
                self.owe(attendee, "waitlisted")
            else:
                attendee.status = "registered"
                self.owe(attendee, "registered")
        if len(waitlisted) != self.waiting:
            self.fail(f"{len(waitlisted)} waitlisted, not {self.waiting}")
        zoom = self.organizer("GET", f"/events/{EVENT_ID}/zoom")  # the organiser looks
        if zoom.status != 200:
            self.fail(f"GET /events/{EVENT_ID}/zoom: {said(zoom)}")
        self._step("confirm", began, confirmed=len(confirming), waitlisted=len(waitlisted))

    def _confirm(self, attendee: Attendee) -> bool:
        (request,) = self.messages_to(attendee, "pending")[:1] or [None]
        if request is None:
            self.fail("an opt-in request was not sent")
            return False
        link = self.link_in(request, "confirm")
        shown = self.visit("GET", link, attendee)  # the page, with its button
        done = self.visit("POST", link, attendee, headers=SAME_SITE)
        if shown.status != 200 or done.status != 200:
            self.fail(f"confirming: GET {shown.status}, POST {done.status}")
            return False
        attendee.registration_id = token_fields(link)[1]
        return True

    def _listed(self, status: str) -> set[str]:
        """Registration ids of ``status``, from the organizer API (every page)."""
        found: dict[str, str] = {}
        cursor = None
        while True:
            query = f"status={status}&limit=500" + (f"&cursor={cursor}" if cursor else "")
            page = self.organizer("GET", f"/events/{EVENT_ID}/registrations?{query}")
            if page.status != 200:
                self.fail(f"listing {status}: {said(page)}")
                return set()
            for item in page.json()["items"]:
                found[item["email"]] = item["registration_id"]
            cursor = page.json().get("next")
            if not cursor:
                break
        for address, rid in found.items():
            attendee = self.attendees.get(address)
            if attendee is not None:
                attendee.registration_id = rid
        return set(found.values())

    def changes_of_mind(self) -> None:
        """Some cancel (the waiting list moves up), some change their time zone, some
        mark their confirmation as spam."""
        began = time.perf_counter()
        registered = self.in_status("registered")
        self.random.shuffle(registered)
        cancelling = registered[: self.waiting]
        updating = registered[self.waiting : self.waiting + max(1, self.people // 100)]
        rest = registered[len(cancelling) + len(updating) :]
        complaining = rest[: max(1, self.people // 200)]
        self.in_parallel(self._cancel, cancelling)
        self.in_parallel(self._update, updating)
        for attendee in self.in_status("waitlisted"):
            attendee.status = "registered"  # promoted: a place each
            self.owe(attendee, "registered")
        # A complaint about the confirmation they were sent (their mail client's button).
        for attendee in complaining:
            (confirmation,) = [
                s
                for s in self.stage.aws.sent_to(attendee.address)
                if s.tags.get("kind") == "registered"
            ][:1]
            self.stage.feedback.complain(confirmation, self.stage.clock.now())
        self.settle()
        for attendee in complaining:
            attendee.email_status = "complained"
        if self._listed("waitlisted"):
            self.fail("the waiting list was not promoted after the cancellations")
        self._step(
            "changes_of_mind",
            began,
            cancelled=len(cancelling),
            updated=len(updating),
            complained=len(complaining),
        )

    def _manage_link(self, attendee: Attendee) -> str:
        (confirmation,) = self.messages_to(attendee, "registered")[-1:]
        return self.link_in(confirmation, "manage")

    def _cancel(self, attendee: Attendee) -> None:
        answer = self.visit(
            "POST",
            self._manage_link(attendee),
            attendee,
            headers=SAME_SITE | {"Content-Type": "application/json"},
            body=json.dumps({"action": "cancel"}),
        )
        if answer.status != 200:
            self.fail(f"cancelling: {said(answer)}")
            return
        attendee.status = "cancelled"
        self.owe(attendee, "cancelled")

    def _update(self, attendee: Attendee) -> None:
        zone = "Europe/Istanbul" if attendee.timezone != "Europe/Istanbul" else "Asia/Jerusalem"
        answer = self.visit(
            "POST",
            self._manage_link(attendee),
            attendee,
            headers=SAME_SITE | {"Content-Type": "application/json"},
            body=json.dumps({"action": "update", "timezone": zone}),
        )
        if answer.status != 200:
            self.fail(f"updating: {said(answer)}")
            return
        attendee.timezone = zone
        self.owe(attendee, "registered", "updated")

    def _unsubscribe(self, attendee: Attendee) -> None:
        """Half with their mail client's one-click button (RFC 8058) where the email has
        one, the others with the link in the email and the page's button."""
        (latest,) = self.messages_to(attendee, "announcement")[-1:]
        header = re.findall(r"<(https://[^>]+)>", str(latest["List-Unsubscribe"] or ""))
        if header and self.random.random() < 0.5:
            answer = self.visit(
                "POST",
                header[0],
                attendee,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                body="List-Unsubscribe=One-Click",
            )
        else:
            link = self.link_in(latest, "unsubscribe")
            shown = self.visit("GET", link, attendee)
            if shown.status != 200:
                self.fail(f"the unsubscribe page: {shown.status}")
            answer = self.visit("POST", link, attendee, headers=SAME_SITE)
        if answer.status != 200:
            self.fail(f"unsubscribing: {answer.status}")
            return
        attendee.email_status = "unsubscribed"

    def move_a_session(self) -> None:
        """The organiser moves one session an hour later; its holders are told."""
        began = time.perf_counter()
        moved = self.event["sessions"][5]
        start = datetime.fromisoformat(moved["starts_at"]) + timedelta(hours=1)
        end = datetime.fromisoformat(moved["ends_at"]) + timedelta(hours=1)
        moved["starts_at"] = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        moved["ends_at"] = end.strftime("%Y-%m-%dT%H:%M:%SZ")
        told = [a for a in self.holders(moved["id"]) if a.takes_transactional]
        dry = self.organizer("PUT", f"/events/{EVENT_ID}?dry_run=true", self.event)
        if dry.status != 200 or dry.json().get("notifying") != len(told):
            self.fail(f"dry run of the move: {said(dry)}, not {len(told)}")
        put = self.organizer("PUT", f"/events/{EVENT_ID}", self.event)
        if put.status != 200:
            self.fail(f"moving a session: {said(put)}")
        for attendee in told:
            self.owe(attendee, "change", moved["id"])
        self.settle()
        self._step("move_a_session", began, session=moved["id"], notified=len(told))

    def announcements(self) -> None:
        began = time.perf_counter()
        first = {
            "name": "Interpretation channels",
            "audience": {"languages": ["tr", "ms"]},
            "content": {
                "ar": {"subject": "قنوات الترجمة", "text": "مرحبا {{first_name}}\n{{sessions}}"},
                "en": {"subject": "Interpretation", "text": "Hello {{first_name}}\n{{sessions}}"},
                "tr": {"subject": "Tercüme kanalları", "text": "Merhaba {{first_name}}"},
            },
        }
        second = {
            "name": "Youth workshop materials",
            "audience": {"sessions": ["youth"]},
            "content": {
                lang: {"subject": f"Youth {lang}", "text": "{{first_name}}: {{manage_url}}"}
                for lang in self.event["languages"]
            },
        }
        for body, kill in ((first, True), (second, False)):
            matched = self._audience(body["audience"])
            reached = [a for a in matched if a.wants_announcements]
            answer = self.organizer("POST", f"/events/{EVENT_ID}/campaigns", body)
            if answer.status != 202 or answer.json().get("recipients") != len(matched):
                self.fail(
                    f"campaign {body['name']!r}: {said(answer)} (the audience is {len(matched)})"
                )
                continue
            self.campaigns[body["name"]] = answer.json()["campaign_id"]
            for attendee in reached:
                own = attendee.language in body["content"]
                self.owe(attendee, "announcement", body["name"], "" if own else "ar")
            if kill:
                self._kill_a_sending_worker()
            self.settle()
            if kill:  # some of its readers want no more announcements
                leaving = reached[: max(1, len(reached) // 10)]
                self.in_parallel(self._unsubscribe, leaving)
                self.unsubscribed = len(leaving)
            progress = self.organizer(
                "GET", f"/events/{EVENT_ID}/campaigns/{self.campaigns[body['name']]}"
            ).json()
            if progress.get("status") != "done":
                self.fail(f"campaign {body['name']!r} is {progress.get('status')}, not done")
        self._step("announcements", began, killed=self.killed, unsubscribed=self.unsubscribed)

    killed = 0
    unsubscribed = 0

    def _kill_a_sending_worker(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            killed = self.stage.kill_busy("AnnouncementWorker")
            if killed:
                self.killed += killed
                return
            time.sleep(0.02)
        self.fail("no announcement worker was sending to be killed")

    def _audience(self, audience: dict[str, Any]) -> list[Attendee]:
        """Whom an audience matches (those who will not read announcements included:
        the campaign counts them as suppressed)."""
        found = []
        for attendee in self.in_status("registered"):
            if "languages" in audience and attendee.language not in audience["languages"]:
                continue
            sessions = attendee.person.sessions or tuple(self.sessions)
            if "sessions" in audience and not set(sessions) & set(audience["sessions"]):
                continue
            attended = audience.get("attended")
            if attended:
                if attended["session"] not in sessions:
                    continue
                went = attended["session"] in attendee.clicked | attendee.joined
                if went != attended["value"]:
                    continue
            found.append(attendee)
        return found

    def restart(self) -> None:
        """A deploy: every function starts cold."""
        self.stage.restart()

    def erasure(self) -> None:
        began = time.perf_counter()
        (attendee,) = self.random.sample(self.in_status("registered"), 1)
        answer = self.organizer(
            "DELETE", f"/events/{EVENT_ID}/registrations/{attendee.registration_id}"
        )
        if answer.status != 204:
            self.fail(f"erasure: {said(answer)}")
        attendee.status = "erased"
        self.erased = attendee
        self.settle()
        self._step("erasure", began)

    def export(self) -> None:
        """The organiser exports the registered to a spreadsheet: a UTF-8 CSV with a BOM,
        one row each, the erased person nowhere in it."""
        began = time.perf_counter()
        started = self.organizer("POST", f"/events/{EVENT_ID}/exports?status=registered")
        if started.status != 202:
            self.fail(f"export: {said(started)}")
            return
        self.settle()
        path = f"/events/{EVENT_ID}/exports/{started.json()['export_id']}"
        answer = self.organizer("GET", path).json()
        registered = len(self.in_status("registered"))
        if answer.get("status") != "done" or answer.get("rows") != registered:
            self.fail(
                f"export: {answer.get('status')}, {answer.get('rows')} rows, not {registered}"
            )
            return
        url = answer["url"]  # presigned, for the bucket: on the rehearsal's AWS
        if urlsplit(url).hostname != "127.0.0.1":
            self.fail("the export's URL leads off the rehearsal's AWS")
            return
        with requests.Session() as browser:
            browser.trust_env = False  # no proxy between the organiser and the bucket
            download = browser.get(url, timeout=30)
        text = download.content.decode("utf-8")
        rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
        if not text.startswith("\ufeff") or len(rows) != registered + 1:
            self.fail(f"the export's file: {download.status_code}, {len(rows) - 1} rows")
        if self.erased.person.email in text.lower():
            self.fail("the erased person is in the export")
        self._step("export", began, rows=len(rows) - 1)

    def the_days(self) -> None:
        """Each day's reminder a day before its first session, then each session's hour
        reminder and its join clicks, in the order they come."""
        for attendee in self.in_status("pending"):
            attendee.status = "expired"  # unconfirmed past opt_in_hours: forgotten
        zone = ZoneInfo(self.event["timezone"])
        by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for session in self.event["sessions"]:
            starts = datetime.fromisoformat(session["starts_at"])
            by_day[starts.astimezone(zone).date().isoformat()].append(session)
        moments: list[tuple[datetime, str, Any]] = []
        for day, sessions in by_day.items():
            first = min(datetime.fromisoformat(s["starts_at"]) for s in sessions)
            moments.append((first - timedelta(days=1) + timedelta(minutes=5), "day", day))
            for session in sessions:
                start = datetime.fromisoformat(session["starts_at"])
                moments.append((start - timedelta(minutes=55), "session", session))
        for moment, kind, what in sorted(moments, key=lambda m: (m[0], m[1])):
            began = time.perf_counter()
            moment = max(moment, self.stage.clock.now())  # a session's clicks ran past it
            if kind == "day":
                self.stage.jump_to(moment)
                self._day_reminder(what, [s["id"] for s in by_day[what]])
                self.stage.fire("ReconcileZoom")  # every 30 minutes: once a day is enough here
                self.settle()
                self._step(f"reminders P1D {what}", began)
                continue
            start = datetime.fromisoformat(what["starts_at"])
            self.stage.jump_to(moment)
            self._reminders([what], "PT1H")
            self.stage.jump_to(start + timedelta(minutes=2))
            clicks, joins = self._join(what)
            self._step(f"session {what['id']}", began, clicks=clicks, webhooks=joins)

    def _day_reminder(self, day: str, sessions: list[str]) -> None:
        """One email to each registered person holding any of the day's sessions."""
        holding = {a.address: a for session in sessions for a in self.holders(session)}
        for attendee in holding.values():
            if attendee.takes_transactional:
                self.owe(attendee, "reminder", f"{day} P1D")
        self.stage.fire("SendReminders")
        self.settle()

    def _reminders(self, sessions: list[dict[str, Any]], offset: str) -> None:
        for session in sessions:
            for attendee in self.holders(session["id"]):
                if attendee.takes_transactional:
                    self.owe(attendee, "reminder", f"{session['id']} {offset}")
        self.stage.fire("SendReminders")
        self.settle()

    def _join(self, session: dict[str, Any]) -> tuple[int, int]:
        holders = self.holders(session["id"])
        self.random.shuffle(holders)
        clickers = holders[: len(holders) * 6 // 10]
        zoomers = holders[len(clickers) : len(clickers) + len(holders) // 5]

        def click(attendee: Attendee) -> None:
            (latest,) = self.messages_to(attendee, "registered")[-1:]
            link = join_links(latest).get(session["id"])
            if link is None:
                self.fail(f"no join link for {session['id']} in a confirmation")
                return
            answer = self.visit("GET", link, attendee)
            where = answer.headers.get("Location", "")
            if answer.status != 302 or not where.startswith("https://"):
                self.fail(f"join click: {answer.status} to {where[:60]}")
                return
            attendee.clicked.add(session["id"])

        self.in_parallel(click, clickers)
        sent = self.stage.zoom_joins(session, [a.person.email for a in zoomers], self.random)
        for attendee in zoomers:
            attendee.joined.add(session["id"])
        self.settle()
        return len(clickers), sent

    def follow_up(self) -> None:
        began = time.perf_counter()
        last = max(datetime.fromisoformat(s["ends_at"]) for s in self.event["sessions"])
        self.stage.jump_to(last + timedelta(hours=1))
        body = {
            "name": "Missed the opening?",
            "audience": {"attended": {"session": "education", "value": False}},
            "content": {
                "ar": {"subject": "فاتتك الجلسة؟", "text": "{{first_name}}"},
                "en": {"subject": "Missed it?", "text": "{{first_name}}"},
            },
        }
        matched = self._audience(body["audience"])
        reached = [a for a in matched if a.wants_announcements]
        answer = self.organizer("POST", f"/events/{EVENT_ID}/campaigns", body)
        if answer.status != 202 or answer.json().get("recipients") != len(matched):
            self.fail(f"follow-up: {said(answer)}, not {len(matched)}")
        else:
            self.campaigns[body["name"]] = answer.json()["campaign_id"]
        for attendee in reached:
            own = attendee.language in body["content"]
            self.owe(attendee, "announcement", body["name"], "" if own else "ar")
        self.settle()
        self._step("follow_up", began, recipients=len(reached))


def said(answer: Any) -> str:
    """An answer in a failure's words: its status and problem type, never its body (a
    body may repeat what a person sent)."""
    kind = ""
    if answer.headers.get("Content-Type", "").startswith("application/problem+json"):
        kind = str(answer.json().get("type", ""))
    return f"{answer.status} {kind}".strip()


def token_fields(link: str) -> list[str]:
    """A signed link's fields: key id, registration id, session id, version, expiry."""
    token = urlsplit(link).path.rsplit("/", 1)[-1]
    return token.split(".", 1)[0].split("~")


def join_links(message: Any) -> dict[str, str]:
    """Each session's join link in an email, by the session it opens."""
    text = message.get_body(("plain",)).get_content()
    return {token_fields(u)[2]: u for u in re.findall(r"https://\S+/join/[^\s>\"']+", text)}
