"""Majlis's infrastructure: the AWS resources (``resources.yaml``) and local mode."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

INFRA_DIR = Path(__file__).parent
PROJECT_DIR = INFRA_DIR.parent
RESOURCES = INFRA_DIR / "resources.yaml"


@functools.cache
def template() -> dict[str, Any]:
    """The merge template (``infra/resources.yaml``) as a dict."""
    with RESOURCES.open(encoding="utf-8") as source:
        return yaml.safe_load(source)


def resources_of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in template()["Resources"].items()
        if resource.get("Type") == kind
    }


def function_overrides(logical_id: str) -> dict[str, Any]:
    """What the template adds to one of Chalice's functions (no ``Type``: a merge)."""
    return template()["Resources"].get(logical_id, {}).get("Properties", {})


def gateway_responses() -> dict[str, dict[str, Any]]:
    return function_overrides("RestAPI")["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]


@functools.cache
def function_timeout(name: str) -> int:
    """A function's timeout in seconds, as ``.chalice/config.json`` gives it."""
    import json

    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text(encoding="utf-8"))
    own = config.get("lambda_functions", {}).get(name, {})
    return int(own.get("lambda_timeout", config.get("lambda_timeout", 60)))
