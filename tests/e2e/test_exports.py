"""An export over real HTTP against local mode: the link downloads a CSV Excel reads."""

from __future__ import annotations

import csv
import io
import time

import requests

from tests.builders import event_body, person, zoom_base_for


def test_an_export_downloads_as_csv_with_arabic_intact(local):
    headers = {"Authorization": f"Bearer {local.organizer_token}"}
    event_id = "exports-e2e"
    body = event_body(zoom_base_for(event_id), registration={"opens_at": "2020-01-01T00:00:00Z"})
    assert requests.put(
        f"{local.url}/events/{event_id}", json=body, headers=headers, timeout=30
    ).status_code in (200, 201)
    for n, (name, language) in enumerate([("هدى", "ar"), ("عائشہ", "ur"), ("Elif", "tr")]):
        response = requests.post(
            f"{local.url}/events/{event_id}/registrations",
            json=person(n, first_name=name, language=language),
            timeout=30,
        )
        assert response.status_code == 201, response.text
    started = requests.post(
        f"{local.url}/events/{event_id}/exports?language=ar,ur", headers=headers, timeout=30
    )
    assert started.status_code == 202, started.text
    path = f"{local.url}/events/{event_id}/exports/{started.json()['export_id']}"
    deadline = time.monotonic() + 30
    while True:
        answer = requests.get(path, headers=headers, timeout=30).json()
        if answer["status"] == "done" or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert answer["status"] == "done", (answer, local.errors)
    assert answer["rows"] == 2
    download = requests.get(answer["url"], timeout=30)
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert {row[2] for row in rows[1:]} == {"هدى", "عائشہ"}
