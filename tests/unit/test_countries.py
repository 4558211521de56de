"""The country list is ISO 3166-1 alpha-2 as CLDR knows it, plus Kosovo (XK)."""

from __future__ import annotations

import babel

from chalicelib.domain.countries import COUNTRY_CODES

# CLDR territories with two-letter codes that are not ISO 3166-1 countries: Ascension,
# Clipperton, Sark, Diego Garcia, Ceuta & Melilla, the EU, the Eurozone, the Canaries,
# Outlying Oceania, Tristan da Cunha, the UN, pseudo-locales and "unknown".
NOT_ISO = frozenset(
    {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ"}
)


def cldr_countries() -> set[str]:
    territories = babel.Locale("en").territories
    return {code for code in territories if len(code) == 2 and code.isalpha()} - NOT_ISO


def test_the_country_codes_are_cldrs_minus_the_non_iso_codes() -> None:
    assert cldr_countries() == set(COUNTRY_CODES)


def test_there_are_250_codes_including_kosovo() -> None:
    assert len(COUNTRY_CODES) == 250
    assert "XK" in COUNTRY_CODES
    assert NOT_ISO.isdisjoint(COUNTRY_CODES)


def test_codes_are_two_upper_case_ascii_letters() -> None:
    for code in COUNTRY_CODES:
        assert len(code) == 2
        assert code.isascii()
        assert code.isalpha()
        assert code.isupper()
