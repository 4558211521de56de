"""The front-end libraries the pages serve from /assets: copies of the npm package the
lock file pins (``make assets``), served with headers that let an organiser's page load
them across origins."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "infra" / "assets"
STATIC = ROOT / "chalicelib" / "pages" / "static"


def _copies() -> list[tuple[str, str]]:
    """(file in the npm package, file served): the recipe of `make assets`."""
    recipe = (ROOT / "Makefile").read_text(encoding="utf-8")
    copies = re.findall(r"cp \$\(VENDOR\)/(\S+) \$\(STATIC\)/(\S+)", recipe)
    assert copies, "make assets copies nothing"
    return copies


def test_the_served_copies_are_the_locked_package_s_files():
    package = ASSETS / "node_modules" / "altcha"
    if not package.is_dir():
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail("infra/assets/node_modules is missing: `make test` installs it")
        pytest.skip("no infra/assets/node_modules (npm ci --prefix infra/assets)")
    lock = json.loads((ASSETS / "package-lock.json").read_text(encoding="utf-8"))
    installed = json.loads((package / "package.json").read_text(encoding="utf-8"))
    assert installed["version"] == lock["packages"]["node_modules/altcha"]["version"]
    for source, served in _copies():
        assert (package / source).read_bytes() == (STATIC / served).read_bytes(), (
            f"{served} is not {source} of altcha {installed['version']}: run make assets"
        )


def test_the_package_is_pinned_exactly():
    manifest = json.loads((ASSETS / "package.json").read_text(encoding="utf-8"))
    for name, version in manifest["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} {version} is not pinned"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("altcha.js", "text/javascript"),
        ("altcha.css", "text/css"),
        ("altcha-pbkdf2.js", "text/javascript"),
    ],
)
def test_the_widget_is_served_to_any_origin(api, name: str, kind: str):
    response = api.http.get(f"/assets/{name}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == f"{kind}; charset=utf-8"
    # An organiser's page loads the module and fetches the worker's code: CORS
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.body == (STATIC / name).read_bytes()


def test_the_widget_s_module_injects_no_inline_style():
    """The pages' CSP refuses inline styles: the module is altcha's external build,
    whose styles are the served altcha.css."""
    module = (STATIC / "altcha.js").read_text(encoding="utf-8")
    assert 'createElement("style")' not in module
    assert "altcha-widget" in module
