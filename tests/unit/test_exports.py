"""Exports on fakes: the CSV's shape, Excel's needs, filters, and a flat memory."""

from __future__ import annotations

import csv
import io

from chalicelib.ports import Services
from chalicelib.usecases import exports
from chalicelib.usecases.registrations import register
from tests.builders import person
from tests.unit.support import EVENT_ID, field_codes, problem_of


def _export(majlis: Services, **params: str) -> tuple[dict, list[list[str]], bytes]:
    started = exports.start(majlis, EVENT_ID, params)
    assert exports.progress(majlis, EVENT_ID, started["export_id"])["status"] == "running"
    (job,) = [e for e in majlis.exports.exports.values() if e.export_id == started["export_id"]]
    assert exports.write(majlis, job.export_id) == "done"
    answer = exports.progress(majlis, EVENT_ID, started["export_id"])
    data = majlis.export_files.files[f"{EVENT_ID}/{job.export_id}.csv"]
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    return answer, rows, data


def test_the_file_opens_in_excel_with_arabic_intact(majlis: Services):
    register(majlis, EVENT_ID, person(1, first_name="هدى", last_name="الحسن"), form=False)
    register(majlis, EVENT_ID, person(2, first_name="Ayesha", language="ur"), form=False)
    answer, rows, data = _export(majlis)
    assert data.startswith("\ufeff".encode())  # the BOM: Excel reads it as UTF-8
    assert b"\r\n" in data
    assert rows[0] == list(exports.COLUMNS)
    assert {row[2] for row in rows[1:]} == {"هدى", "Ayesha"}
    assert answer["status"] == "done" and answer["rows"] == 2
    assert answer["url"].startswith("https://") and "expires=3600" in answer["url"]


def test_what_a_spreadsheet_would_run_is_kept_as_text(majlis: Services):
    register(
        majlis,
        EVENT_ID,
        person(1, first_name='=HYPERLINK("http://evil")', last_name="+1-202"),
        form=False,
    )
    _, rows, _ = _export(majlis)
    assert rows[1][2] == '\'=HYPERLINK("http://evil")'
    assert rows[1][3] == "'+1-202"


def test_the_list_filters_choose_the_rows(majlis: Services):
    for n, language in enumerate(["ur", "ur", "ar", "en"]):
        register(majlis, EVENT_ID, person(n, language=language), form=False)
    answer, rows, _ = _export(majlis, language="ur")
    assert answer["rows"] == 2 and {row[6] for row in rows[1:]} == {"ur"}


def test_pages_stream_through_without_the_whole_file_in_memory(majlis: Services, monkeypatch):
    monkeypatch.setattr(exports, "PAGE", 50)
    for n in range(420):
        register(majlis, EVENT_ID, person(n), form=False)
    answer, rows, data = _export(majlis)
    assert answer["rows"] == 420 and len(rows) == 421
    # Handed over a page at a time: no chunk holds more than one page of rows.
    assert majlis.export_files.largest_chunk < len(data) / 5


def test_bad_filters_and_unknown_exports_are_refused(majlis: Services):
    problem = problem_of(lambda: exports.start(majlis, EVENT_ID, {"language": "xx"}))
    assert problem.status == 422 and ("language", "invalid_choice") in field_codes(problem)
    problem = problem_of(lambda: exports.start(majlis, EVENT_ID, {"colour": "red"}))
    assert ("colour", "unknown_field") in field_codes(problem)
    assert problem_of(lambda: exports.progress(majlis, EVENT_ID, "0" * 26)).status == 404
    assert majlis.exports.exports == {}
