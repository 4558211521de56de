"""MIME assembly: ``multipart/mixed`` [``multipart/alternative`` (text, HTML), ``invite.ics``].

Headers holding non-ASCII text (subject, display names) are RFC 2047 encoded words;
bodies are UTF-8, quoted-printable for Latin scripts and base64 for the others (it is
smaller for Arabic and Urdu). Lines end in CRLF, as SES expects.

Built with the ``email`` package's classic API (``Header``, ``MIMEText``): the newer
``EmailMessage`` folder drops the space at a fold between two encoded words, which
glued words of long Urdu and French subjects together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email import charset as charsets
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, make_msgid

_BASE64_LANGUAGES = frozenset({"ar", "ur"})
_POLICY = compat32.clone(linesep="\r\n", max_line_length=78)


@dataclass(frozen=True)
class Mail:
    sender_name: str
    sender_address: str  # ASCII
    recipient_name: str
    recipient_address: str  # ASCII (punycode domain)
    subject: str
    text: str
    html: str
    language: str
    sent_at: datetime
    reply_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    calendar: bytes | None = None  # an iCalendar object, attached as invite.ics
    calendar_method: str = "REQUEST"


def _charset(language: str) -> charsets.Charset:
    chosen = charsets.Charset("utf-8")
    chosen.body_encoding = charsets.BASE64 if language in _BASE64_LANGUAGES else charsets.QP
    return chosen


def _address(name: str, address: str) -> str:
    return formataddr((name, address), charset="utf-8")


def _check_headers(mail: Mail) -> None:
    texts = [
        mail.sender_name,
        mail.sender_address,
        mail.recipient_name,
        mail.recipient_address,
        mail.subject,
        mail.reply_to or "",
        *mail.headers.values(),
    ]
    if any("\r" in text or "\n" in text for text in texts):
        raise ValueError("header text may not contain CR or LF")


def build(mail: Mail) -> bytes:
    _check_headers(mail)
    body_charset = _charset(mail.language)
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText(mail.text, "plain", body_charset))
    alternative.attach(MIMEText(mail.html, "html", body_charset))
    if mail.calendar is None:
        message = alternative
    else:
        message = MIMEMultipart("mixed")
        message.attach(alternative)
        invite = MIMEText(mail.calendar.decode("utf-8"), "calendar", body_charset)
        invite.set_param("method", mail.calendar_method)
        invite.add_header("Content-Disposition", "attachment", filename="invite.ics")
        message.attach(invite)
    message["From"] = _address(mail.sender_name, mail.sender_address)
    message["To"] = _address(mail.recipient_name, mail.recipient_address)
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    message["Subject"] = Header(mail.subject, "utf-8", header_name="Subject")
    message["Date"] = format_datetime(mail.sent_at, usegmt=True)
    message["Message-ID"] = make_msgid(domain=mail.sender_address.rpartition("@")[2])
    message["Content-Language"] = mail.language
    message["Auto-Submitted"] = "auto-generated"
    for name, value in mail.headers.items():
        message[name] = value
    return message.as_bytes(policy=_POLICY)
