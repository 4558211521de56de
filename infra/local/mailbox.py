"""Reading the local outbox in a browser: ``http://127.0.0.1:8000/_outbox/``.

Local mode only (the path does not exist in AWS). The index lists every email SES
accepted, newest first; each email's page shows its headers, its HTML part rendered in
a sandboxed frame, its text part, and its attachments to download, and links to the
raw ``.eml``.
"""

from __future__ import annotations

import email
import html
from email import policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

PREFIX = "/_outbox"
_STYLE = (
    "body{font:15px/1.5 system-ui,sans-serif;margin:1.5rem;color:#1f2933}"
    "table{border-collapse:collapse;width:100%}td,th{padding:.35rem .5rem;"
    "border-bottom:1px solid #e4e7eb;text-align:start;vertical-align:top}"
    "iframe{width:100%;height:70vh;border:1px solid #cbd2d9}"
    "pre{white-space:pre-wrap;background:#f5f7fa;padding:1rem}"
)


def _page(title: str, body: str) -> bytes:
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>"
    ).encode()


def _read(path: Path) -> EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=policy.default)  # type: ignore[return-value]


def _emails(outbox: Path) -> list[Path]:
    return sorted(outbox.glob("*.eml"), reverse=True) if outbox.exists() else []


def respond(outbox: Path, path: str) -> tuple[int, str, bytes]:
    """(status, content type, body) for a GET under ``/_outbox``."""
    rest = path[len(PREFIX) :].strip("/")
    known = {p.name: p for p in _emails(outbox)}
    if not rest:
        return 200, "text/html; charset=utf-8", _index(outbox)
    name, _, tail = rest.partition("/")
    found = known.get(name)
    if found is None:
        return 404, "text/plain; charset=utf-8", b"No such email in the outbox."
    if not tail:
        return 200, "text/html; charset=utf-8", _message_page(found)
    if tail == "raw":
        return 200, "message/rfc822", found.read_bytes()
    if tail.startswith("attachment/") and tail.removeprefix("attachment/").isdigit():
        attachments = list(_read(found).iter_attachments())
        index = int(tail.removeprefix("attachment/"))
        if index < len(attachments):
            part = attachments[index]
            return 200, part.get_content_type(), part.get_payload(decode=True) or b""
    return 404, "text/plain; charset=utf-8", b"Not found."


def _index(outbox: Path) -> bytes:
    rows = []
    for path in _emails(outbox):
        message = _read(path)
        rows.append(
            "<tr>"
            f"<td>{html.escape(str(message['Date']))}</td>"
            f"<td dir='auto'>{html.escape(str(message['To']))}</td>"
            f"<td dir='auto'><a href='{PREFIX}/{quote(path.name)}'>"
            f"{html.escape(str(message['Subject']))}</a></td>"
            f"<td>{html.escape(str(message['Content-Language'] or ''))}</td>"
            "</tr>"
        )
    table = (
        "<table><tr><th>Date</th><th>To</th><th>Subject</th><th>Language</th></tr>"
        + "".join(rows)
        + "</table>"
        if rows
        else "<p>No email yet. Register someone and reload.</p>"
    )
    return _page("Outbox", f"<h1>Outbox ({len(rows)})</h1>{table}")


def _message_page(path: Path) -> bytes:
    message = _read(path)
    headers = "".join(
        f"<tr><th>{name}</th><td dir='auto'>{html.escape(str(message[name]))}</td></tr>"
        for name in (
            "From",
            "To",
            "Reply-To",
            "Subject",
            "Date",
            "Message-ID",
            "Content-Language",
            "Auto-Submitted",
            "List-Unsubscribe",
        )
        if message[name] is not None
    )
    html_part = message.get_body(("html",))
    text_part = message.get_body(("plain",))
    frame = (
        f"<iframe sandbox title='HTML part' srcdoc='{html.escape(html_part.get_content())}'>"
        "</iframe>"
        if html_part is not None
        else "<p>No HTML part.</p>"
    )
    text = (
        f"<pre dir='auto'>{html.escape(text_part.get_content())}</pre>"
        if text_part is not None
        else "<p>No text part.</p>"
    )
    attachments = "".join(
        f"<li><a href='{PREFIX}/{quote(path.name)}/attachment/{i}'>"
        f"{html.escape(part.get_filename() or 'attachment')}</a> "
        f"({html.escape(part.get_content_type())})</li>"
        for i, part in enumerate(message.iter_attachments())
    )
    body = (
        f"<p><a href='{PREFIX}/'>← Outbox</a> · "
        f"<a href='{PREFIX}/{quote(path.name)}/raw'>raw .eml</a></p>"
        f"<table>{headers}</table><h2>HTML</h2>{frame}<h2>Text</h2>{text}"
        f"<h2>Attachments</h2><ul>{attachments or '<li>none</li>'}</ul>"
    )
    return _page(str(message["Subject"]), body)
