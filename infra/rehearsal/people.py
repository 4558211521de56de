"""The crowd of the dress rehearsal: who registers for the reference conference, and how.

:func:`crowd` draws, from a seed, the registration burst of the reference scenario:
``people`` distinct people who register validly (5,000 in the scenario) from 70
countries, each writing their name in their own language's script and choosing the
sessions the programme allows, and mixed in on top of them:

- duplicates (about 5%): one of them posting again, later, as a double click or after
  forgetting they did, sometimes with the address in other letter case or with a space
  pasted around it;
- bots (about 3%): the ``website`` honeypot filled, from a few addresses;
- bad input (about 4%, every kind at least once): each attempt breaks one rule of
  ``POST /events/{id}/registrations`` and names the field the 422 reports (or is a body
  that is not JSON: 400).

Each :class:`Attempt` says what to post, from which client address, and what the API
answers it with (on a normal event and on a double opt-in one), so that the rehearsal
can check every answer and the audit can expect each :class:`Person`'s emails.
Addresses are in the documentation ranges (RFC 5737, RFC 3849) and mail domains under
``example.*`` and the ``.example`` top-level domain (RFC 2606): nothing leaves the test.
"""

from __future__ import annotations

import ipaddress
import json
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

LANGUAGES = ("ar", "en", "tr", "fr", "es", "ur", "ms")

# Of every hundred people, how many register in each language: an Arabic-speaking
# audience first, with the languages the conference is interpreted into.
LANGUAGE_SHARE = {"ar": 38, "en": 16, "tr": 12, "ur": 11, "ms": 9, "fr": 8, "es": 6}

# Where the people of each language live, with how many of them (relative weights).
# A country may appear under several languages (Tunisians in Arabic and in French,
# Pakistanis in Britain in Urdu); a country's first language here is its main one.
COUNTRIES_BY_LANGUAGE: dict[str, dict[str, int]] = {
    "ar": {
        "EG": 14, "SA": 10, "JO": 9, "PS": 12, "LB": 5, "MA": 7, "DZ": 7, "TN": 4, "IQ": 6,
        "SY": 5, "AE": 4, "QA": 3, "KW": 3, "OM": 2, "BH": 1, "YE": 3, "LY": 2, "SD": 3,
        "MR": 1,
    },
    "en": {
        "GB": 10, "US": 9, "IE": 1, "AU": 3, "NZ": 1, "ZA": 4, "NG": 5, "KE": 3, "GH": 2,
        "UG": 2, "TZ": 2, "BD": 3, "LK": 1, "PH": 2, "ET": 1,
    },
    "tr": {"TR": 20, "CY": 1, "AZ": 2, "DE": 4, "NL": 2, "AT": 1, "BG": 1},
    "fr": {
        "FR": 8, "BE": 3, "CA": 2, "SN": 3, "CI": 2, "ML": 2, "TN": 2, "MA": 2, "CH": 1,
        "LU": 1, "BF": 1, "NE": 1, "GN": 1, "CM": 1,
    },
    "es": {
        "ES": 6, "MX": 5, "AR": 3, "CO": 3, "CL": 2, "PE": 2, "VE": 2, "EC": 1, "BO": 1,
        "UY": 1, "US": 1,
    },
    "ur": {"PK": 20, "IN": 6, "GB": 2, "AE": 2, "SA": 1},
    "ms": {"MY": 10, "BN": 2, "SG": 3, "ID": 6, "TH": 1},
}  # fmt: skip

# Each country's time zones (tzdata's zone.tab regions), its main zone first: three in
# four of its people are there, the rest share the others. Palestinians in Jerusalem
# keep Jerusalem's zone, which is the event's own.
ZONES: dict[str, tuple[str, ...]] = {
    "EG": ("Africa/Cairo",),
    "SA": ("Asia/Riyadh",),
    "JO": ("Asia/Amman",),
    "PS": ("Asia/Hebron", "Asia/Gaza", "Asia/Jerusalem"),
    "LB": ("Asia/Beirut",),
    "MA": ("Africa/Casablanca",),
    "DZ": ("Africa/Algiers",),
    "TN": ("Africa/Tunis",),
    "IQ": ("Asia/Baghdad",),
    "SY": ("Asia/Damascus",),
    "AE": ("Asia/Dubai",),
    "QA": ("Asia/Qatar",),
    "KW": ("Asia/Kuwait",),
    "OM": ("Asia/Muscat",),
    "BH": ("Asia/Bahrain",),
    "YE": ("Asia/Aden",),
    "LY": ("Africa/Tripoli",),
    "SD": ("Africa/Khartoum",),
    "MR": ("Africa/Nouakchott",),
    "GB": ("Europe/London",),
    "US": ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"),
    "IE": ("Europe/Dublin",),
    "AU": ("Australia/Sydney", "Australia/Melbourne", "Australia/Brisbane", "Australia/Perth"),
    "NZ": ("Pacific/Auckland",),
    "ZA": ("Africa/Johannesburg",),
    "NG": ("Africa/Lagos",),
    "KE": ("Africa/Nairobi",),
    "GH": ("Africa/Accra",),
    "UG": ("Africa/Kampala",),
    "TZ": ("Africa/Dar_es_Salaam",),
    "BD": ("Asia/Dhaka",),
    "LK": ("Asia/Colombo",),
    "PH": ("Asia/Manila",),
    "ET": ("Africa/Addis_Ababa",),
    "TR": ("Europe/Istanbul",),
    "CY": ("Asia/Nicosia", "Asia/Famagusta"),
    "AZ": ("Asia/Baku",),
    "DE": ("Europe/Berlin",),
    "NL": ("Europe/Amsterdam",),
    "AT": ("Europe/Vienna",),
    "BG": ("Europe/Sofia",),
    "FR": ("Europe/Paris",),
    "BE": ("Europe/Brussels",),
    "CA": ("America/Toronto", "America/Vancouver", "America/Edmonton", "America/Halifax"),
    "SN": ("Africa/Dakar",),
    "CI": ("Africa/Abidjan",),
    "ML": ("Africa/Bamako",),
    "CH": ("Europe/Zurich",),
    "LU": ("Europe/Luxembourg",),
    "BF": ("Africa/Ouagadougou",),
    "NE": ("Africa/Niamey",),
    "GN": ("Africa/Conakry",),
    "CM": ("Africa/Douala",),
    "ES": ("Europe/Madrid", "Atlantic/Canary"),
    "MX": ("America/Mexico_City", "America/Monterrey", "America/Tijuana"),
    "AR": ("America/Argentina/Buenos_Aires", "America/Argentina/Cordoba"),
    "CO": ("America/Bogota",),
    "CL": ("America/Santiago",),
    "PE": ("America/Lima",),
    "VE": ("America/Caracas",),
    "EC": ("America/Guayaquil",),
    "BO": ("America/La_Paz",),
    "UY": ("America/Montevideo",),
    "PK": ("Asia/Karachi",),
    "IN": ("Asia/Kolkata",),
    "MY": ("Asia/Kuala_Lumpur", "Asia/Kuching"),
    "BN": ("Asia/Brunei",),
    "SG": ("Asia/Singapore",),
    "ID": ("Asia/Jakarta", "Asia/Makassar", "Asia/Pontianak"),
    "TH": ("Asia/Bangkok",),
}

# The event's display zones: some people of the crowd are always in each.
EVENT_ZONES = ("Asia/Jerusalem", "Europe/Istanbul")

# Names as people write them, each with the Latin spelling their mail address uses.
FIRST_NAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "ar": (
        ("محمد", "mohammed"), ("أحمد", "ahmed"), ("فاطمة", "fatima"), ("عائشة", "aisha"),
        ("يوسف", "yousef"), ("مريم", "maryam"), ("عمر", "omar"), ("خديجة", "khadija"),
        ("علي", "ali"), ("زينب", "zainab"), ("حسن", "hasan"), ("ليلى", "layla"),
        ("سارة", "sara"), ("إبراهيم", "ibrahim"), ("نور", "nour"), ("خالد", "khaled"),
        ("هدى", "huda"), ("عبد الرحمن", "abdulrahman"), ("رنا", "rana"), ("سلمى", "salma"),
    ),
    "ur": (
        ("محمد", "muhammad"), ("عائشہ", "ayesha"), ("فاطمہ", "fatima"), ("علی", "ali"),
        ("حسن", "hassan"), ("زینب", "zainab"), ("عمران", "imran"), ("ثناء", "sana"),
        ("بلال", "bilal"), ("مہوش", "mahwish"), ("حمزہ", "hamza"), ("عثمان", "usman"),
        ("صائمہ", "saima"), ("نعمان", "noman"), ("رابعہ", "rabia"), ("ماہ نور", "mahnoor"),
    ),
    "tr": (
        ("Ayşe", "ayse"), ("Mehmet", "mehmet"), ("Ömer", "omer"), ("Büşra", "busra"),
        ("Şeyma", "seyma"), ("Yağmur", "yagmur"), ("Çağrı", "cagri"), ("Doğukan", "dogukan"),
        ("Irmak", "irmak"), ("Sıla", "sila"), ("Barış", "baris"), ("Gökhan", "gokhan"),
        ("Tuğba", "tugba"), ("Hatice", "hatice"), ("Zeynep", "zeynep"), ("İbrahim", "ibrahim"),
        ("Kübra", "kubra"), ("Işıl", "isil"),
    ),
    "fr": (
        ("Élodie", "elodie"), ("Hélène", "helene"), ("Chloé", "chloe"), ("Zoé", "zoe"),
        ("Loïc", "loic"), ("Anaïs", "anais"), ("Noémie", "noemie"), ("Jérôme", "jerome"),
        ("François", "francois"), ("Amélie", "amelie"), ("Théo", "theo"), ("Aïcha", "aicha"),
        ("Moussa", "moussa"), ("Fatou", "fatou"), ("Mamadou", "mamadou"), ("Inès", "ines"),
        ("Gaëlle", "gaelle"), ("Yacine", "yacine"),
    ),
    "es": (
        ("José", "jose"), ("María", "maria"), ("Lucía", "lucia"), ("Sofía", "sofia"),
        ("Martín", "martin"), ("Andrés", "andres"), ("Ramón", "ramon"), ("Inés", "ines"),
        ("Begoña", "begona"), ("Íñigo", "inigo"), ("Nuria", "nuria"), ("Tomás", "tomas"),
        ("Valentina", "valentina"), ("Camila", "camila"), ("Joaquín", "joaquin"),
        ("Sebastián", "sebastian"), ("Ximena", "ximena"),
    ),
    "ms": (
        ("Nur Aisyah", "nuraisyah"), ("Muhammad Hafiz", "hafiz"), ("Ahmad Faiz", "faiz"),
        ("Nurul Huda", "nurulhuda"), ("Aina", "aina"), ("Amirul", "amirul"),
        ("Hidayah", "hidayah"), ("Syafiq", "syafiq"), ("Farah", "farah"), ("Haziq", "haziq"),
        ("Aqilah", "aqilah"), ("Irfan", "irfan"), ("Balqis", "balqis"), ("Danish", "danish"),
        ("Siti Khadijah", "sitikhadijah"), ("Iman", "iman"),
    ),
    "en": (
        ("Oliver", "oliver"), ("Amelia", "amelia"), ("James", "james"), ("Grace", "grace"),
        ("Aisha", "aisha"), ("Yusuf", "yusuf"), ("Chloe", "chloe"), ("Liam", "liam"),
        ("Emily", "emily"), ("Kwame", "kwame"), ("Ngozi", "ngozi"), ("Chinedu", "chinedu"),
        ("Wanjiru", "wanjiru"), ("Thabo", "thabo"), ("Priya", "priya"), ("Hannah", "hannah"),
        ("Zainab", "zainab"), ("Seán", "sean"),
    ),
}  # fmt: skip

LAST_NAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "ar": (
        ("الأحمد", "alahmad"), ("العلي", "alali"), ("حداد", "haddad"), ("الخطيب", "alkhatib"),
        ("النجار", "alnajjar"), ("منصور", "mansour"), ("الحسيني", "alhusseini"),
        ("عبد الله", "abdullah"), ("الشامي", "alshami"), ("المصري", "almasri"),
        ("التميمي", "altamimi"), ("البرغوثي", "albarghouti"), ("القاسم", "alqasim"),
        ("العمري", "alomari"), ("الزهراني", "alzahrani"), ("الهاشمي", "alhashimi"),
        ("عيسى", "issa"),
    ),
    "ur": (
        ("خان", "khan"), ("قریشی", "qureshi"), ("چودھری", "chaudhry"), ("ملک", "malik"),
        ("شیخ", "sheikh"), ("بٹ", "butt"), ("صدیقی", "siddiqui"), ("رضوی", "rizvi"),
        ("ہاشمی", "hashmi"), ("مرزا", "mirza"), ("اعوان", "awan"), ("راجپوت", "rajput"),
    ),
    "tr": (
        ("Yılmaz", "yilmaz"), ("Kaya", "kaya"), ("Demir", "demir"), ("Şahin", "sahin"),
        ("Çelik", "celik"), ("Yıldız", "yildiz"), ("Öztürk", "ozturk"), ("Aydın", "aydin"),
        ("Doğan", "dogan"), ("Kılıç", "kilic"), ("Arslan", "arslan"), ("Çetin", "cetin"),
        ("Koç", "koc"), ("Özdemir", "ozdemir"), ("Güneş", "gunes"), ("Ağaoğlu", "agaoglu"),
    ),
    "fr": (
        ("Lefèvre", "lefevre"), ("Dubois", "dubois"), ("Girard", "girard"),
        ("Leclère", "leclere"), ("Gauthier", "gauthier"), ("Mercier", "mercier"),
        ("Rousseau", "rousseau"), ("Chevalier", "chevalier"), ("Diallo", "diallo"),
        ("Traoré", "traore"), ("Koné", "kone"), ("Ndiaye", "ndiaye"), ("Benali", "benali"),
        ("Bélanger", "belanger"), ("Côté", "cote"), ("Ouédraogo", "ouedraogo"),
    ),
    "es": (
        ("García", "garcia"), ("Fernández", "fernandez"), ("Rodríguez", "rodriguez"),
        ("López", "lopez"), ("Martínez", "martinez"), ("Sánchez", "sanchez"),
        ("Pérez", "perez"), ("Gómez", "gomez"), ("Díaz", "diaz"), ("Muñoz", "munoz"),
        ("Jiménez", "jimenez"), ("Álvarez", "alvarez"), ("Ibáñez", "ibanez"),
        ("Peña", "pena"), ("Castañeda", "castaneda"), ("Núñez", "nunez"),
    ),
    "ms": (
        ("Abdullah", "abdullah"), ("Ismail", "ismail"), ("Hassan", "hassan"),
        ("Rahman", "rahman"), ("Yusof", "yusof"), ("Othman", "othman"), ("Hamzah", "hamzah"),
        ("Ibrahim", "ibrahim"), ("Zainal", "zainal"), ("Salleh", "salleh"),
        ("Mohd Noor", "mohdnoor"), ("Aziz", "aziz"),
    ),
    "en": (
        ("Smith", "smith"), ("Johnson", "johnson"), ("Brown", "brown"),
        ("Williams", "williams"), ("Patel", "patel"), ("Okafor", "okafor"),
        ("Mensah", "mensah"), ("Otieno", "otieno"), ("Khumalo", "khumalo"),
        ("O'Brien", "obrien"), ("Murphy", "murphy"), ("Taylor", "taylor"),
        ("Ahmed", "ahmed"), ("Hussain", "hussain"), ("Osei", "osei"),
        ("Smith-Jones", "smithjones"),
    ),
}  # fmt: skip

MAIL_DOMAINS = ("example.org", "example.com", "example.net")
# International domains that some people of a language have their mail at (stored as
# given, sent as punycode); the part before the @ stays ASCII, as SES needs.
NATIONAL_DOMAINS = {
    "ar": "مثال.example",
    "ur": "مثال.example",
    "tr": "örnek.example",
    "fr": "société.example",
    "es": "españa.example",
}
NATIONAL_SHARE = 0.12
LAST_NAME_SHARE = 0.93  # the others leave the optional last name out
UPDATES_SHARE = 0.85  # who keep the announcements box ticked

DUPLICATE_SHARE = 0.05
BOT_SHARE = 0.03
BAD_SHARE = 0.04

# People's client addresses: the IPv4 documentation ranges (but the bots' corner of the
# last) and the IPv6 one; two people may share an address, as behind one campus network.
PEOPLE_NETWORKS = (
    ipaddress.ip_network("192.0.2.0/24"),
    ipaddress.ip_network("198.51.100.0/24"),
    ipaddress.ip_network("203.0.113.0/25"),
    ipaddress.ip_network("2001:db8::/32"),
)
IPV6_SHARE = 0.35
BOT_ADDRESSES = ("203.0.113.201", "203.0.113.202", "203.0.113.203", "2001:db8:b07::1")
BOT_WORDS = ("seo", "promo", "deals", "crypto", "casino", "followers")

# What bad input breaks (see _broken): every kind is in every crowd.
BAD_KINDS = (
    "email",
    "non_ascii_local_part",
    "consent",
    "country",
    "language",
    "unknown_session",
    "duplicate_sessions",
    "control_character",
    "bidi_override",
    "long_name",
    "unknown_field",
    "not_json",
)
# Only a programme with sessions at the same time can be chosen from wrongly so.
PARALLEL_BAD_KINDS = ("overlapping_sessions", "sessions_not_chosen")

JSON_TYPES = ("application/json", "application/json; charset=utf-8")

# The answers of POST /events/{id}/registrations (API.md), on a normal event and on a
# double opt-in one, where every address is answered alike.
NEW = 201
EXISTING = 200
PENDING = 202
INVALID = 422
UNREADABLE = 400


@dataclass(frozen=True)
class Person:
    """Someone who registers, as the audit expects to find them and mail them."""

    email: str  # unique, in lower case (a duplicate may spell it otherwise)
    first_name: str
    last_name: str | None
    country: str
    language: str
    timezone: str
    sessions: tuple[str, ...]  # as stored: in the event's order
    updates: bool


@dataclass(frozen=True)
class Attempt:
    """One ``POST /events/{id}/registrations`` of the burst and the answer it must get."""

    kind: str  # "person", "duplicate", "bot" or "bad:<what>"
    body: dict[str, Any] | None  # posted as JSON, unless ``raw`` is given
    raw: bytes | None
    content_type: str
    status: int  # the answer on a normal event
    opt_in_status: int  # the answer on a double opt-in event
    expected_field: str | None  # the field of the 422's ``errors``
    person: Person | None  # for a person and a duplicate: whose registration it is
    source_ip: str

    @property
    def data(self) -> bytes:
        """The request body's bytes."""
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body, ensure_ascii=False).encode()

    def expected_status(self, double_opt_in: bool) -> int:
        return self.opt_in_status if double_opt_in else self.status


# -- the programme ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Session:
    id: str
    starts_at: datetime
    ends_at: datetime

    def overlaps(self, other: _Session) -> bool:
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at


def _programme(sessions: Sequence[Mapping[str, Any]]) -> list[_Session]:
    """The sessions one may choose (not the cancelled ones), in the event's order."""
    return [
        _Session(s["id"], _moment(s["starts_at"]), _moment(s["ends_at"]))
        for s in sessions
        if s.get("status", "scheduled") != "cancelled"
    ]


def _moment(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _clash(programme: list[_Session]) -> tuple[str, str] | None:
    """Two sessions at the same time, if the programme has any."""
    for index, first in enumerate(programme):
        for second in programme[index + 1 :]:
            if first.overlaps(second):
                return first.id, second.id
    return None


def _choose_sessions(rng: random.Random, programme: list[_Session]) -> list[str] | None:
    """A person's choice as their form sends it; None: left out (every session).

    Overlapping sessions are alternatives: a choice holds at most one of each time slot,
    and a programme with any must be chosen from.
    """
    parallel = _clash(programme) is not None
    roll = rng.random()
    if not parallel and roll < 0.3:
        return None
    if not parallel and roll < 0.5:
        return [s.id for s in programme]
    candidates = list(programme)
    if roll < 0.75:  # one day's sessions (the day of the session they came for)
        day = rng.choice(programme).starts_at.date()
        candidates = [s for s in programme if s.starts_at.date() == day]
    wanted = rng.randint(1, len(candidates))
    chosen: list[_Session] = []
    for session in rng.sample(candidates, len(candidates)):
        if len(chosen) < wanted and not any(session.overlaps(c) for c in chosen):
            chosen.append(session)
    return [s.id for s in chosen]  # in the order they were ticked


# -- people ------------------------------------------------------------------------------


def _main_language(country: str) -> str:
    return next(lang for lang, where in COUNTRIES_BY_LANGUAGE.items() if country in where)


def _anchors() -> list[tuple[str, str, str]]:
    """(language, country, zone) for one person of every country, in one of the event's
    zones where the country has it: so that every crowd of 70 people or more already
    comes from every country."""
    countries = dict.fromkeys(c for where in COUNTRIES_BY_LANGUAGE.values() for c in where)
    anchors = []
    for country in countries:
        zones = ZONES[country]
        zone = next((z for z in zones if z in EVENT_ZONES), zones[0])
        anchors.append((_main_language(country), country, zone))
    return anchors


def _zone(rng: random.Random, country: str) -> str:
    main, *others = ZONES[country]
    return main if not others or rng.random() < 0.75 else rng.choice(others)


def _place(rng: random.Random) -> tuple[str, str, str]:
    language = rng.choices(list(LANGUAGE_SHARE), weights=list(LANGUAGE_SHARE.values()))[0]
    where = COUNTRIES_BY_LANGUAGE[language]
    country = rng.choices(list(where), weights=list(where.values()))[0]
    return language, country, _zone(rng, country)


def _person(
    rng: random.Random,
    serial: int,
    place: tuple[str, str, str],
    programme: list[_Session],
) -> tuple[Person, list[str] | None]:
    """A person numbered ``serial`` (which keeps their address unique), and their choice
    of sessions as the form sends it."""
    language, country, zone = place
    first, first_latin = rng.choice(FIRST_NAMES[language])
    last, last_latin = rng.choice(LAST_NAMES[language])
    if rng.random() >= LAST_NAME_SHARE:
        last, last_latin = None, ""
    domain = rng.choice(MAIL_DOMAINS)
    if language in NATIONAL_DOMAINS and rng.random() < NATIONAL_SHARE:
        domain = NATIONAL_DOMAINS[language]
    separator = rng.choice((".", "_", "-", ""))
    local = separator.join(part for part in (first_latin, last_latin) if part)
    choice = _choose_sessions(rng, programme)
    held = [s.id for s in programme if choice is None or s.id in choice]
    person = Person(
        email=f"{local}{serial}@{domain}",
        first_name=first,
        last_name=last,
        country=country,
        language=language,
        timezone=zone,
        sessions=tuple(held),
        updates=rng.random() < UPDATES_SHARE,
    )
    return person, choice


def _body(rng: random.Random, person: Person, choice: list[str] | None) -> dict[str, Any]:
    """What a person's form posts: optional fields left out or spelled as people do."""
    body: dict[str, Any] = {"email": person.email, "first_name": person.first_name}
    if person.last_name is not None:
        body["last_name"] = person.last_name
    # Any case in, upper case stored.
    body["country"] = person.country.lower() if rng.random() < 0.1 else person.country
    body["language"] = person.language
    body["timezone"] = person.timezone
    if choice is not None:
        body["sessions"] = choice
    body["consent"] = True
    if not person.updates or rng.random() < 0.5:
        body["updates"] = person.updates
    if rng.random() < 0.5:
        body["website"] = ""  # the honeypot, left empty as the form sends it
    return body


def _address(rng: random.Random) -> str:
    ipv6 = rng.random() < IPV6_SHARE
    network = PEOPLE_NETWORKS[-1] if ipv6 else rng.choice(PEOPLE_NETWORKS[:-1])
    host = rng.randrange(1, network.num_addresses - 1)
    return str(network.network_address + host)


def _respelled(rng: random.Random, email: str) -> str:
    """The same address as someone types it again: other letter case, or a space around."""
    local, _, domain = email.partition("@")
    how = rng.randrange(4)
    if how == 0:
        return email  # a double click
    if how == 1:
        return f" {email} "
    if how == 2:
        return f"{local.upper()}@{domain}"
    labels = [label.capitalize() if label.isascii() else label for label in domain.split(".")]
    return f"{local.capitalize()}@{'.'.join(labels)}"


def _attempt(
    kind: str, body: dict[str, Any], rng: random.Random, status: int, person: Person, ip: str
) -> Attempt:
    """A person's post: answered ``status`` on a normal event, "pending" on a double
    opt-in one, whether the address is new or known."""
    return Attempt(
        kind=kind,
        body=body,
        raw=None,
        content_type=rng.choice(JSON_TYPES),
        status=status,
        opt_in_status=PENDING,
        expected_field=None,
        person=person,
        source_ip=ip,
    )


# -- bots and bad input --------------------------------------------------------------------


def _bot(rng: random.Random, serial: int) -> Attempt:
    word = rng.choice(BOT_WORDS)
    body: dict[str, Any] = {
        "email": f"{word}{serial}@example.com",
        "first_name": f"Best {word.upper()} offers",
        "country": rng.choice(("US", "GB", "RU", "CN")),
        "consent": True,
        "website": f"https://{word}-{serial}.example.com/",
    }
    if rng.random() < 0.3:
        body["message"] = "Cheap followers, visit our site"  # unknown: the honeypot wins
    return Attempt(
        kind="bot",
        body=body,
        raw=None,
        content_type=JSON_TYPES[0],
        status=NEW,
        opt_in_status=PENDING,
        expected_field=None,
        person=None,
        source_ip=rng.choice(BOT_ADDRESSES),
    )


def _broken(
    what: str, rng: random.Random, body: dict[str, Any], programme: list[_Session]
) -> tuple[str | None, dict[str, Any] | bytes]:
    """``body`` with one rule broken: the field the 422 names (None: a 400) and the body."""
    local = body["email"].partition("@")[0]
    first = body["first_name"]
    some = programme[0].id
    match what:
        case "email":
            wrong = rng.choice(
                (body["email"].replace("@", "."), f"{local}@", f"{local}@@example.org")
            )
            return "email", body | {"email": wrong}
        case "non_ascii_local_part":
            wrong = rng.choice(("أمينة@example.org", "çağrı@örnek.example", "josé@example.org"))
            return "email", body | {"email": wrong}
        case "consent":
            if rng.random() < 0.5:
                return "consent", body | {"consent": False}
            return "consent", {k: v for k, v in body.items() if k != "consent"}
        case "country":
            return "country", body | {"country": rng.choice(("UK", "XX", "Palestine"))}
        case "language":
            return "language", body | {"language": rng.choice(("de", "fa", "arabic"))}
        case "unknown_session":
            return "sessions", body | {"sessions": [some, "keynote"]}
        case "duplicate_sessions":
            return "sessions", body | {"sessions": [some, some]}
        case "control_character":
            return "first_name", body | {"first_name": f"{first}\r\nBcc: x@example.org"}
        case "bidi_override":
            return "first_name", body | {"first_name": f"{first[:1]}\u202e{first[1:]}"}
        case "long_name":
            long = " ".join([first] * (101 // len(first) + 1))
            return "first_name", body | {"first_name": long}
        case "unknown_field":
            field = rng.choice(("lang", "phone", "organisation"))
            return field, body | {field: "ar" if field == "lang" else "x"}
        case "not_json":
            text = json.dumps(body, ensure_ascii=False)
            unreadable = (text[: len(text) // 2], f"email={local}", f"[{text}]", "")
            return None, rng.choice(unreadable).encode()
        case "overlapping_sessions":
            return "sessions", body | {"sessions": list(_clash(programme) or ())}
        case "sessions_not_chosen":
            return "sessions", {k: v for k, v in body.items() if k != "sessions"}
    raise ValueError(what)


def _bad(rng: random.Random, what: str, serial: int, programme: list[_Session]) -> Attempt:
    person, choice = _person(rng, serial, _place(rng), programme)
    field, broken = _broken(what, rng, _body(rng, person, choice), programme)
    status = INVALID if field else UNREADABLE
    return Attempt(
        kind=f"bad:{what}",
        body=broken if isinstance(broken, dict) else None,
        raw=broken if isinstance(broken, bytes) else None,
        content_type=rng.choice(JSON_TYPES),
        status=status,
        opt_in_status=status,
        expected_field=field,
        person=None,
        source_ip=_address(rng),
    )


# -- the crowd -----------------------------------------------------------------------------


def crowd(people: int, sessions: Sequence[Mapping[str, Any]], seed: int = 0) -> list[Attempt]:
    """The burst, in the order it is posted: ``people`` valid registrations of distinct
    people with the duplicates, bots and bad input mixed in (a duplicate always after
    the registration it repeats). ``sessions`` are the event's (``id``, ``starts_at``,
    ``ends_at``, optionally ``status``); the same seed draws the same crowd."""
    rng = random.Random(seed)
    programme = _programme(sessions)
    if not programme:
        raise ValueError("The event has no session one may choose.")
    anchors = _anchors()
    places = [_place(rng) for _ in range(people)]
    spots = rng.sample(range(people), min(people, len(anchors)))
    for index, anchor in zip(spots, rng.sample(anchors, len(spots)), strict=True):
        places[index] = anchor
    # (position in the burst, order made, attempt): people at 0, 1, 2 …, the rest between.
    burst: list[tuple[float, int, Attempt]] = []

    def add(position: float, attempt: Attempt) -> None:
        burst.append((position, len(burst), attempt))

    originals = []
    for serial, place in enumerate(places):
        person, choice = _person(rng, serial, place, programme)
        body = _body(rng, person, choice)
        ip = _address(rng)
        originals.append((person, body, ip))
        add(serial, _attempt("person", body, rng, NEW, person, ip))
    for _ in range(round(people * DUPLICATE_SHARE)):
        index = rng.randrange(people)
        person, body, ip = originals[index]
        again = body | {"email": _respelled(rng, person.email)}
        add(rng.uniform(index, people), _attempt("duplicate", again, rng, EXISTING, person, ip))
    serial = people
    for _ in range(round(people * BOT_SHARE)):
        add(rng.uniform(0, people), _bot(rng, serial))
        serial += 1
    kinds = BAD_KINDS + (PARALLEL_BAD_KINDS if _clash(programme) else ())
    for number in range(max(len(kinds), round(people * BAD_SHARE))):
        what = kinds[number] if number < len(kinds) else rng.choice(kinds)
        add(rng.uniform(0, people), _bad(rng, what, serial, programme))
        serial += 1
    return [attempt for _, _, attempt in sorted(burst, key=lambda item: item[:2])]


def registrants(attempts: Iterable[Attempt]) -> list[Person]:
    """The people who register, once each, in the order they do."""
    return [a.person for a in attempts if a.kind == "person" and a.person is not None]


def languages(people: Iterable[Person]) -> Counter[str]:
    return Counter(p.language for p in people)


def countries(people: Iterable[Person]) -> Counter[str]:
    return Counter(p.country for p in people)


def holders(people: Iterable[Person]) -> Counter[str]:
    """How many people hold each session."""
    return Counter(s for p in people for s in p.sessions)
