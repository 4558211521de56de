"""Every page and email in the 7 languages: each message of the catalog template is
translated in the 6 catalogs, with the placeholders its English has (a plural's forms
may leave the number out, as Arabic's "no one" does)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

LOCALES = Path(__file__).resolve().parents[2] / "chalicelib" / "locales"
LANGUAGES = ("ar", "tr", "fr", "es", "ur", "ms")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _template() -> list[object]:
    with (LOCALES / "messages.pot").open("rb") as source:
        return [m for m in read_po(source) if m.id]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_with_its_placeholders(language):
    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale=language)
    missing, wrong = [], []
    for message in _template():
        found = catalog.get(message.id)
        forms = (
            []
            if found is None
            else (list(found.string) if isinstance(found.string, tuple) else [found.string])
        )
        if not forms or not all(forms) or found.fuzzy:
            missing.append(message.id)
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = set().union(*(PLACEHOLDER.findall(text) for text in ids))
        for form in forms:
            used = set(PLACEHOLDER.findall(form))
            plural_number = {"num", "count"} if len(ids) > 1 else set()
            if not used <= wanted or not (wanted - plural_number) <= used:
                wrong.append((message.id, form))
    assert missing == [], f"{len(missing)} untranslated in {language}: {missing[:5]}"
    assert wrong == [], f"placeholders differ in {language}: {wrong[:3]}"
