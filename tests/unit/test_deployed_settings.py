"""A function of a deployed stage refuses to start with an address people cannot reach:
every link it mailed would lead nowhere, and the pages' same-site check would fail."""

from __future__ import annotations

import pytest

from chalicelib.config import Settings

GOOD = {
    "MAJLIS_DEPLOYED": "true",
    "MAJLIS_PUBLIC_BASE_URL": "https://majlis.example.org",
}


def test_a_deployed_stage_starts_with_https_addresses_people_reach():
    settings = Settings.from_environment(GOOD)
    assert settings.deployed and settings.public_base_url == "https://majlis.example.org"


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("MAJLIS_PUBLIC_BASE_URL", "", "is not set"),
        ("MAJLIS_PUBLIC_BASE_URL", "http://127.0.0.1:8000", "must be https"),
        ("MAJLIS_PUBLIC_BASE_URL", "https://127.0.0.1:8000", "cannot reach"),
        ("MAJLIS_PUBLIC_BASE_URL", "https://10.1.2.3", "cannot reach"),
        ("MAJLIS_PUBLIC_BASE_URL", "https://169.254.169.254", "cannot reach"),
        ("MAJLIS_PUBLIC_BASE_URL", "https://majlis.localhost", "this machine"),
        ("MAJLIS_ZOOM_JOIN_URLS", "https://zoom.us,http://127.0.0.1:4100", "must be https"),
        ("MAJLIS_ZOOM_API_URL", "http://127.0.0.1:4100/v2", "must be https"),
        ("MAJLIS_ZOOM_OAUTH_URL", "https://[::1]/oauth/token", "cannot reach"),
    ],
)
def test_a_deployed_stage_refuses_to_start_with_an_address_people_cannot_reach(
    variable, value, says
):
    with pytest.raises(ValueError, match=f"{variable} .*{says}.*refusing to start"):
        Settings.from_environment({**GOOD, variable: value})


def test_local_mode_and_the_tests_are_not_a_deployed_stage():
    settings = Settings.from_environment({"MAJLIS_PUBLIC_BASE_URL": "http://127.0.0.1:8000"})
    assert not settings.deployed and settings.public_base_url == "http://127.0.0.1:8000"
