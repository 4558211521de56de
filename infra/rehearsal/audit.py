"""The audit at the end of a rehearsal: what should have happened against what did.

- **Emails:** for every person, the emails they are owed (kind, what about, language)
  against what the outbox holds: none missing, none twice, none to anyone else.
- **Links:** every link is https; every link of ours points at the stage's public
  address and, followed through the gateway, answers as it should for its person now.
- **Statistics:** ``GET …/stats`` against a recount of every registration the
  organizer API lists, and against what the people did.
- **IAM:** no call denied; for each role, the actions it is granted and never used.
- **Logs:** no person's address in any function's log.
- **Calls:** every AWS call, by service and by function.
"""

from __future__ import annotations

import email
import json
import re
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from email import policy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import yaml
from boto3.dynamodb.types import TypeDeserializer

from infra import INFRA_DIR
from infra.rehearsal.scenario import (
    EVENT_ID,
    REGISTRATION_KINDS,
    Conference,
    ses_address,
    token_fields,
)
from infra.rehearsal.stage import Stage

# The actions a role is granted and the rehearsal never sees it use, each with why it
# stays (an action the conference does not reach, or one AWS needs on its behalf).
JUSTIFIED = INFRA_DIR / "iam-unused.yaml"
LINK = re.compile(r"""(?:https?://)[^\s<>"')]+""")
# Where else an email's link may lead: Zoom (a person's own join link), and the
# organisers' own sites.
ELSEWHERE = ("zoom.us", "zoomgov.com", "example.org")


def _campaigns(stage: Stage) -> dict[str, dict[str, Any]]:
    """Every campaign of the event as stored (reminders and change notices included)."""
    table = stage.stack.refs["Table"]
    dynamodb = stage.aws.client("dynamodb")
    found: dict[str, dict[str, Any]] = {}
    deserializer = TypeDeserializer()
    for page in dynamodb.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="#k = :c",
        ExpressionAttributeNames={"#k": "kind"},
        ExpressionAttributeValues={":c": {"S": "campaign"}},
    ):
        for item in page["Items"]:
            plain = {k: deserializer.deserialize(v) for k, v in item.items()}
            found[plain["campaign_id"]] = plain
    return found


def _about(campaign: dict[str, Any]) -> str:
    purpose = campaign.get("purpose", "announcement")
    if purpose == "reminder":  # of a session, or of a day ("… before 2027-03-06")
        about = campaign.get("session_id") or str(campaign.get("name", "")).rsplit(" ", 1)[-1]
        return f"{about} {campaign.get('reminder')}"
    if purpose == "change":
        changed = (campaign.get("change") or {}).get("sessions") or []
        return ",".join(str(c.get("session_id")) for c in changed)
    return campaign.get("name", "")


class Audit:
    def __init__(self, conference: Conference, stage: Stage) -> None:
        self.conference = conference
        self.stage = stage
        self.found: list[str] = []
        self.figures: dict[str, Any] = {}
        self.seconds: dict[str, float] = {}
        # Whether every step was played: only then is an action never used a finding.
        self.whole_conference = True

    def fail(self, what: str) -> None:
        self.found.append(what)

    @property
    def failures(self) -> list[str]:
        """What went wrong: while the conference was played, then in the audit."""
        return self.conference.failures + self.found

    def while_running(self) -> None:
        """What needs the stage up: the outbox, the links followed, the statistics."""
        self._each(self.emails, self.links, self.stats, self.zoom)

    def after_stopping(self) -> None:
        """What needs the logs shipped and every call made."""
        self._each(self.iam, self.logs, self.calls, self.errors)

    def _each(self, *sections: Any) -> None:
        for section in sections:
            began = time.perf_counter()
            try:
                section()
            except Exception as error:  # noqa: BLE001 - the other sections still run
                self.fail(
                    f"the audit of {section.__name__} stopped: {type(error).__name__}: {error}"
                )
            self.seconds[section.__name__] = round(time.perf_counter() - began, 2)

    # -- emails -----------------------------------------------------------------------

    def _outbox(self) -> list[tuple[Any, Any]]:
        sent = {s.message_id: s for s in self.stage.aws.sent}
        found = []
        for path in sorted(self.stage.outbox.glob("*.eml")):
            message_id = path.stem.split("-", 1)[1]
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            found.append((message, sent.get(message_id)))
        return found

    def emails(self) -> None:
        campaigns = _campaigns(self.stage)
        attendees = {a.address: a for a in self.conference.attendees.values()}
        got: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
        languages: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        kinds: Counter[str] = Counter()
        self.messages = self._outbox()
        for message, sent in self.messages:
            if sent is None:
                self.fail("an email in the outbox that SES did not take")
                continue
            kind = sent.tags.get("kind", "")
            about = ""
            if "campaign" in sent.tags:
                about = _about(campaigns.get(sent.tags["campaign"], {}))
            elif kind not in REGISTRATION_KINDS:
                self.fail(f"an email of an unknown kind {kind!r}")
            kinds[kind] += 1
            got[sent.recipient.lower()][(kind, about)] += 1
            languages[(sent.recipient.lower(), kind, about)].add(str(message["Content-Language"]))
        wrong_time = self._times(attendees, campaigns)
        missing = duplicated = unexpected = wrong_language = 0
        for address, counts in got.items():
            if address not in attendees:
                unexpected += sum(counts.values())
                self.fail(f"{sum(counts.values())} email(s) to an address nobody registered")
        for address, attendee in attendees.items():
            owed = Counter(
                (o.kind, o.about if o.kind not in REGISTRATION_KINDS else "") for o in attendee.owed
            )
            counts = Counter(
                {
                    (k, a if k not in REGISTRATION_KINDS else ""): n
                    for (k, a), n in got[address].items()
                }
            )
            who = attendee.described()
            for key in owed | counts:
                if counts[key] < owed[key]:
                    missing += owed[key] - counts[key]
                    self.fail(f"missing {owed[key] - counts[key]} {key[0]} ({key[1]}) to {who}")
                elif counts[key] > owed[key]:
                    duplicated += counts[key] - owed[key]
                    self.fail(f"{counts[key] - owed[key]} {key[0]} too many ({key[1]}) to {who}")
            for owed_email in attendee.owed:
                about = owed_email.about if owed_email.kind not in REGISTRATION_KINDS else ""
                seen = languages.get((address, owed_email.kind, about), set())
                if seen and owed_email.language not in seen:
                    wrong_language += 1
                    self.fail(f"a {owed_email.kind} email in {seen}, not {owed_email.language}")
        owed_total = sum(len(a.owed) for a in attendees.values())
        self.figures["emails"] = {
            "owed": owed_total,
            "in_outbox": len(self.messages),
            "missing": missing,
            "duplicated": duplicated,
            "unexpected": unexpected,
            "wrong_language": wrong_language,
            "wrong_time": wrong_time,
            "by_kind": dict(sorted(kinds.items())),
            "people": len(attendees),
            "per_person": round(len(self.messages) / max(1, len(attendees)), 1),
        }

    def _times(self, attendees: dict[str, Any], campaigns: dict[str, dict[str, Any]]) -> int:
        """Each reminder and change notice gives its session's start and end in the
        reader's own time zone (the one they registered with, or changed to); how many
        did not."""
        wrong = 0
        for message, sent in self.messages:
            if sent is None or "campaign" not in sent.tags:
                continue
            campaign = campaigns.get(sent.tags["campaign"], {})
            if campaign.get("purpose") not in ("reminder", "change"):
                continue
            attendee = attendees.get(sent.recipient.lower())
            if attendee is None:
                continue
            zones = {attendee.person.timezone, attendee.timezone}
            text = message.get_body(("plain",)).get_content()
            about = _about(campaign).split(" ")[0].split(",")
            if campaign.get("purpose") == "reminder" and not campaign.get("session_id"):
                # a day's: the reader's own sessions of the day
                theirs = attendee.person.sessions or tuple(self.conference.sessions)
                about = [s for s in campaign["audience"]["sessions"] if s in theirs]
            for session_id in about:
                session = self.conference.sessions[session_id]
                starts, ends = (
                    datetime.fromisoformat(session[k]) for k in ("starts_at", "ends_at")
                )
                if not any(
                    _shown(starts.astimezone(ZoneInfo(z)), text)
                    and _shown(ends.astimezone(ZoneInfo(z)), text)
                    for z in zones
                ):
                    wrong += 1
                    self.fail(
                        f"a {campaign.get('purpose')} without {session_id}'s times in its zone"
                    )
        return wrong

    # -- links --------------------------------------------------------------------------

    def links(self) -> None:
        public = urlsplit(self.stage.public_url).hostname
        ours: dict[str, set[str]] = defaultdict(set)
        bad = 0
        total = 0
        for message, sent in self.messages:
            for part in message.walk():
                if part.get_content_type() not in ("text/plain", "text/html"):
                    continue  # a calendar file folds its lines: its links are the text's
                for url in LINK.findall(part.get_content()):
                    total += 1
                    host = urlsplit(url).hostname or ""
                    if not url.startswith("https://"):
                        bad += 1
                        self.fail(f"a link that is not https, to {host}")
                    elif host == public:
                        if sent is not None:
                            ours[sent.recipient.lower()].add(url.rstrip(".,;"))
                    elif not any(host == h or host.endswith("." + h) for h in ELSEWHERE):
                        bad += 1
                        self.fail(f"a link to {host}")
        followed = Counter()
        attendees = {a.address: a for a in self.conference.attendees.values()}
        for address, urls in ours.items():
            attendee = attendees.get(address)
            if attendee is None:
                continue
            for url in sorted(urls):
                route = urlsplit(url).path.split("/")[1]
                if route not in ("join", "manage", "unsubscribe"):
                    continue
                wanted = self._link_answer(attendee, route, url)
                answer = self.conference.visit("GET", url, attendee)
                followed[f"{route} {answer.status}"] += 1
                if answer.status not in wanted:
                    self.fail(f"a {route} link answered {answer.status}, not {wanted}")
        self.figures["links"] = {
            "in_emails": total,
            "not_https_or_elsewhere": bad,
            "followed": dict(sorted(followed.items())),
        }

    def _link_answer(self, attendee: Any, route: str, url: str) -> tuple[int, ...]:
        """What a link should answer now: a join link leads to Zoom until 12 hours after
        its session ends (then 410), a manage or unsubscribe link answers its page; none
        of a cancelled or erased registration leads anywhere (410, or 404 once erased)."""
        gone = attendee.status in ("cancelled", "erased")
        now = self.stage.clock.now()
        if route == "join":
            fields = token_fields(url)
            session = self.conference.sessions.get(fields[2] if len(fields) == 5 else "")
            if session is None:
                return (404,)
            if gone or now > datetime.fromisoformat(session["ends_at"]) + timedelta(hours=12):
                return (404, 410)
            return (302,)
        if route == "manage":
            return (404, 410) if gone else (200,)
        return (200, 404, 410) if attendee.status == "erased" else (200,)

    # -- statistics ---------------------------------------------------------------------

    def stats(self) -> None:
        answer = self.conference.organizer("GET", f"/events/{EVENT_ID}/stats")
        if answer.status != 200:
            self.fail(f"GET stats: {answer.status}")
            return
        stats = answer.json()
        listed: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = "limit=500" + (f"&cursor={cursor}" if cursor else "")
            page = self.conference.organizer("GET", f"/events/{EVENT_ID}/registrations?{query}")
            listed += page.json()["items"]
            cursor = page.json().get("next")
            if not cursor:
                break
        recount: Counter[str] = Counter(r["status"] for r in listed)
        registered = [r for r in listed if r["status"] == "registered"]
        by_language = Counter(r["language"] for r in registered)
        by_country = Counter(r["country"] for r in registered)
        by_session = Counter(s for r in registered for s in r["sessions"])
        drift = []
        for status in REGISTRATION_KINDS:
            if stats["registrations"].get(status, 0) != recount[status]:
                drift.append(
                    f"{status}: {stats['registrations'].get(status, 0)} ≠ {recount[status]}"
                )
        for name, counted in (
            ("by_language", by_language),
            ("by_country", by_country),
            ("by_session", by_session),
        ):
            given = {k: v for k, v in stats.get(name, {}).items() if v}
            if given != dict(counted):
                drift.append(f"{name}: {given} ≠ {dict(counted)}")
        people = Counter(a.status for a in self.conference.attendees.values())
        if recount["registered"] != people["registered"]:
            drift.append(
                f"registered: listed {recount['registered']}, the people say {people['registered']}"
            )
        if recount["pending"] != people["pending"]:
            drift.append(
                f"pending: listed {recount['pending']}, the people say {people['pending']}"
            )
        published = self.stage.feedback.published
        emails = stats.get("emails", {})
        for name, wanted in (
            ("sent", len(self.stage.aws.sent)),
            ("delivered", published.get("Delivery", 0)),
            ("bounced", published.get("Bounce", 0)),
            ("complained", published.get("Complaint", 0)),
        ):
            if emails.get(name, 0) != wanted:
                drift.append(f"emails {name}: {emails.get(name, 0)} ≠ {wanted}")
        for line in drift:
            self.fail(f"stats drift: {line}")
        self.figures["stats"] = {
            "registrations": stats["registrations"],
            "emails": emails,
            "countries": len(by_country),
            "languages": dict(sorted(by_language.items())),
            "drift": drift,
        }

    # -- Zoom ---------------------------------------------------------------------------

    def zoom(self) -> None:
        """Each session's registrants in Zoom against its registered holders: the same
        people, each once, nobody cancelled, erased or still pending."""
        differences = 0
        by_session = {}
        for session in self.conference.event["sessions"]:
            zoom = session.get("zoom")
            if not zoom:
                continue
            theirs = Counter(
                ses_address(r["email"])
                for r in self.stage.zoom.registrants(zoom["type"], zoom["id"])
                if r.get("status") in ("approved", "pending")
            )
            ours = Counter(
                ses_address(a.person.email) for a in self.conference.holders(session["id"])
            )
            extra, missing = theirs - ours, ours - theirs
            differences += sum(extra.values()) + sum(missing.values())
            if extra or missing:
                self.fail(
                    f"Zoom's registrants of {session['id']}: {sum(missing.values())} missing, "
                    f"{sum(extra.values())} not ours or twice"
                )
            by_session[session["id"]] = {"zoom": sum(theirs.values()), "ours": sum(ours.values())}
        calls = self.stage.zoom.requests_log
        self.figures["zoom"] = {
            "by_session": by_session,
            "differences": differences,
            "api_calls": len(calls),
            "answered_429": sum(1 for c in calls if c.get("status") == 429),
            "answered_5xx": sum(1 for c in calls if (c.get("status") or 0) >= 500),
        }

    # -- IAM ------------------------------------------------------------------------------

    def iam(self) -> None:
        ledger = self.stage.aws.ledger
        used: dict[str, set[str]] = defaultdict(set)
        for check in ledger.checks:
            used[check.who].add(check.action.lower())
        denials = [
            {"function": d.who, "action": d.action, "resource": d.resource} for d in ledger.denials
        ]
        for d in denials:
            self.fail(
                f"DENIED function={d['function']} action={d['action']} resource={d['resource']}"
            )
        unused: dict[str, list[str]] = {}
        for function in self.stage.stack.functions.values():
            role = function.role_arn.rsplit("/", 1)[-1].removeprefix("majlis-prod-")
            granted = set()
            properties = self.stage.definition["Resources"][role]["Properties"]
            for document in properties.get("Policies", []):
                for statement in document["PolicyDocument"]["Statement"]:
                    if statement.get("Effect") != "Allow":
                        continue
                    actions = statement["Action"]
                    granted |= set(actions if isinstance(actions, list) else [actions])
            never = sorted(a for a in granted if a.lower() not in used[function.logical_id])
            if never:
                unused[function.logical_id] = never
        justified = yaml.safe_load(JUSTIFIED.read_text(encoding="utf-8")) or {}
        for function, actions in unused.items() if self.whole_conference else ():
            for action in actions:
                if action not in (justified.get(function) or {}):
                    self.fail(
                        f"{function} is granted {action} and never used it: remove it from "
                        f"its policy, or say why it stays in {JUSTIFIED.name}"
                    )
        used_after_all = [
            f"{function} {action}"
            for function, reasons in justified.items()
            for action in reasons or {}
            if action not in unused.get(function, [])
        ]
        self.figures["iam"] = {
            "checks": len(ledger.checks),
            "denials": denials,
            "unused_by_function": unused,
            "justified_yet_used": used_after_all,  # this time: faults are drawn at random
        }

    # -- logs, calls, errors ----------------------------------------------------------

    def logs(self) -> None:
        addresses = {a.person.email for a in self.conference.attendees.values()}
        addresses |= {a.address for a in self.conference.attendees.values()}
        leaked = 0
        lines = 0
        for path in sorted((self.stage.work / "logs").glob("*.log")):
            text = path.read_text("utf-8", "replace").lower()
            lines += text.count("\n")
            for address in addresses:
                if address in text:
                    leaked += 1
                    self.fail(f"a person's address in {path.name}")
        self.figures["logs"] = {"lines": lines, "addresses_found": leaked}

    def calls(self) -> None:
        by_service: Counter[str] = Counter()
        by_function: dict[str, Counter[str]] = defaultdict(Counter)
        for (who, service, action), totals in self.stage.aws.ledger.calls.items():
            by_service[service] += totals.count
            by_function[who][f"{service}:{action}"] += totals.count
        self.figures["calls"] = {
            "by_service": dict(by_service.most_common()),
            "by_function": {w: dict(c.most_common()) for w, c in sorted(by_function.items())},
        }

    def errors(self) -> None:
        for poller in self.stage.pollers:
            if getattr(poller, "stuck", 0):
                self.fail(f"{poller.mapping.function}: {poller.stuck} stream records never done")
        killed = self.conference.killed
        ended = [e for e in self.stage.errors if "container ended" in e[1]]
        others = [e for e in self.stage.errors if "container ended" not in e[1]]
        if len(ended) > killed:
            self.fail(f"{len(ended) - killed} invocation(s) ended without being killed")
        for where, what in others:
            self.fail(f"{where}: {_kind_of(what)}")
        statuses = self.stage.gateway.counts.by_status
        server_errors = sum(n for s, n in statuses.items() if s >= 500)
        if server_errors:
            self.fail(f"{server_errors} answer(s) of 5xx through the gateway")
        self.figures["http"] = {
            "requests": self.stage.gateway.counts.requests,
            "by_status": {str(k): v for k, v in sorted(statuses.items())},
            "gateway_answered": self.stage.gateway.counts.gateway_answered,
            "authorizer_invocations": self.stage.gateway.counts.authorizer_invocations,
        }


def _shown(moment: datetime, text: str) -> bool:
    """Whether ``text`` gives the time of ``moment``, as 09:00 or as 9:00 (es)."""
    return f"{moment:%H:%M}" in text or f"{moment.hour}:{moment:%M}" in text


def _kind_of(error: str) -> str:
    """An error's kind and AWS code, without its message (which may quote data)."""
    code = re.search(r"\(([A-Za-z]+)\)", error)
    return error.split(":", 1)[0] + (f" ({code.group(1)})" if code else "")


def write(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str) + "\n", "utf-8")
