"""The front-end libraries the pages serve from /assets: copies of the npm packages the
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


def _copies() -> list[tuple[str, str, str]]:
    """(npm package, file in the package, file served): the recipe of `make assets`,
    whose variables (``VENDOR := infra/assets/node_modules/altcha``) name the packages."""
    recipe = (ROOT / "Makefile").read_text(encoding="utf-8")
    packages = dict(
        re.findall(r"^(\w+) := infra/assets/node_modules/(\S+)$", recipe, flags=re.MULTILINE)
    )
    copies = re.findall(r"cp \$\((\w+)\)/(\S+) \$\(STATIC\)/(\S+)", recipe)
    assert copies, "make assets copies nothing"
    unknown = {variable for variable, _, _ in copies} - packages.keys()
    assert not unknown, f"make assets copies from {unknown}, which name no npm package"
    return [(packages[variable], source, served) for variable, source, served in copies]


def _installed() -> Path:
    modules = ASSETS / "node_modules"
    if not modules.is_dir():
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail("infra/assets/node_modules is missing: `make test` installs it")
        pytest.skip("no infra/assets/node_modules (npm ci --prefix infra/assets)")
    return modules


def test_make_assets_copies_every_library_the_pages_serve():
    names = {name for name, _, _ in _copies()}
    assert {"altcha", "chart.js"} <= names
    served = {served for _, _, served in _copies()}
    assert {"altcha.js", "altcha.css", "altcha-pbkdf2.js", "chart.js"} <= served


@pytest.mark.parametrize("name", ["altcha", "chart.js"])
def test_the_served_copies_are_the_locked_package_s_files(name: str):
    package = _installed() / name
    assert package.is_dir(), f"{name} is not installed: npm ci --prefix infra/assets"
    lock = json.loads((ASSETS / "package-lock.json").read_text(encoding="utf-8"))
    installed = json.loads((package / "package.json").read_text(encoding="utf-8"))
    assert installed["version"] == lock["packages"][f"node_modules/{name}"]["version"]
    copies = [(source, served) for of, source, served in _copies() if of == name]
    assert copies, f"make assets copies nothing of {name}"
    for source, served in copies:
        assert (package / source).read_bytes() == (STATIC / served).read_bytes(), (
            f"{served} is not {source} of {name} {installed['version']}: run make assets"
        )


def test_the_package_is_pinned_exactly():
    manifest = json.loads((ASSETS / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((ASSETS / "package-lock.json").read_text(encoding="utf-8"))
    for name, version in manifest["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} {version} is not pinned"
        assert lock["packages"][""]["dependencies"][name] == version, f"{name}: lock is stale"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, name


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


def test_chart_js_is_served_as_the_umd_build(api):
    """The console's charts: Chart.js's UMD build, a classic script defining
    ``window.Chart`` (the pages' CSP allows no inline code to import a module)."""
    response = api.http.get("/assets/chart.js")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.body == (STATIC / "chart.js").read_bytes()
    script = (STATIC / "chart.js").read_text(encoding="utf-8")
    assert script.startswith("/*!\n * Chart.js v4.")
    assert 'createElement("style")' not in script
