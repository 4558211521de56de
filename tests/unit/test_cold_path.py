"""What a new container pays for before its first registration is answered (``make bench``
measures it as ``cold_start``): ``import app`` leaves out what only other routes and
functions use. What a cold start imported is a fresh interpreter's ``sys.modules``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_by(program: str) -> set[str]:
    """The modules a fresh interpreter has imported once ``program`` has run."""
    listing = "import json, sys\nprint(json.dumps(list(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", f"{program}\n{listing}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def packages(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_importing_the_app_leaves_out_what_a_registration_does_not_need() -> None:
    # Given a new container
    # When it imports the app
    imported = imported_by("import app")
    # Then the libraries of the other routes, and the SDK, are not imported yet
    assert packages(imported).isdisjoint({"babel", "jinja2", "email_validator", "boto3"})
    # nor the organizers' modules, nor any adapter
    assert not {"chalicelib.auth", "chalicelib.usecases.stats"} & imported
    assert not {name for name in imported if name.startswith("chalicelib.adapters")}
