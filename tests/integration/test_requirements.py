"""Every dependency is pinned: the requirements files name every installed package."""

from __future__ import annotations

import importlib.metadata
import re

from infra import PROJECT_DIR


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (PROJECT_DIR / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line or line.startswith("-r"):
            continue
        package, _, version = line.partition("==")
        assert version, f"{name}: {line} is not pinned"
        pins[re.sub(r"\[.*\]", "", package).lower().replace("_", "-")] = version
    return pins


def test_runtime_requirements_are_pinned_and_installed_as_pinned():
    runtime = _pins("requirements.txt")
    for package, version in runtime.items():
        assert importlib.metadata.version(package) == version, package


def test_everything_the_runtime_pulls_in_is_pinned_too():
    pinned = set(_pins("requirements.txt")) | set(_pins("requirements-dev.txt"))
    for package in _pins("requirements.txt"):
        requires = importlib.metadata.requires(package) or []
        for requirement in requires:
            if "extra ==" in requirement:
                continue
            name = re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")
            assert name in pinned, f"{package} needs {name}, which is not pinned"


def test_the_dev_environment_holds_nothing_unpinned():
    pinned = set(_pins("requirements.txt")) | set(_pins("requirements-dev.txt"))
    ignored = {"pip", "setuptools"}
    installed = {
        (d.metadata["Name"] or "").lower().replace("_", "-")
        for d in importlib.metadata.distributions()
    }
    assert installed - pinned - ignored == set()
