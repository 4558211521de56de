"""The operators' command line mints tokens that the API accepts."""

from __future__ import annotations

import pytest

from chalicelib import auth, cli


def test_mint_token_prints_a_token_the_api_accepts(api, aws, capsys):
    assert cli.main(["mint-token", "--event", "conf", "--role", "read", "--label", "team"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("mjt_")
    response = api.http.get(
        "/events/conf/registrations", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    # read only: configuring the event is forbidden
    response = api.http.put(
        "/events/conf",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        body="{}",
    )
    assert response.status_code == 403
    stored = aws.tokens.get(auth.token_hash(token))
    assert (stored["events"], stored["roles"], stored["label"]) == (["conf"], ["read"], "team")
    assert token not in str(stored)


def test_mint_token_refuses_bad_event_ids(aws):
    with pytest.raises(SystemExit):
        cli.main(["mint-token", "--event", "Not An Id", "--role", "read", "--label", "x"])
