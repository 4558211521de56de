"""Fixtures the bad-input and the dependency-failure tests share: a registrant's genuine
links, and what the organizer routes find in the table."""

from __future__ import annotations

import pytest

from chalicelib.ports import Services
from chalicelib.usecases import exports
from chalicelib.usecases.campaigns import create as create_campaign
from tests.integration.test_bad_input_everywhere import Genuine, Known, campaign_body
from tests.integration.test_selfservice_routes import sign_up


@pytest.fixture
def genuine(aws: Services) -> Genuine:
    stored = sign_up(aws, 1, language="ur", sessions=["education", "youth"]).stored()
    return Genuine(aws.keys.keys(), stored.registration_id, stored.link_version)


@pytest.fixture
def known(aws: Services) -> Known:
    registration = sign_up(aws, 2, sessions=["family"]).stored()
    _, campaign = create_campaign(aws, "conf", campaign_body())
    export = exports.start(aws, "conf", {"status": "registered"})
    return Known(registration.registration_id, campaign["campaign_id"], export["export_id"])
