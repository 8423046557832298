"""Seed files: JSON or YAML ``{<api id>: {<resource>: [instances...]}}``, validated like creates.

A seed instance may carry its own ``id`` (kept) but never an ``href`` (the server sets it). Seeds
fill only collections that are empty when the server starts, so a journal is never duplicated.
Seeding a ``cancelProductOrder`` records it without cancelling any order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

import tmfapis
from mockserver.resources import completed, rules_for

__all__ = ["SeedError", "SeedInstances", "load_seed"]

SeedInstances = dict[tuple[str, str], list[dict[str, Any]]]


class SeedError(ValueError):
    """The seed file cannot be used; the message says which file and what to fix."""


def load_seed(path: Path) -> SeedInstances:
    """The instances of a seed file, per (API id, resource), after validating every one."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SeedError(f"seed file {path} cannot be read: {error}") from None
    try:
        data = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        problem = str(error).splitlines()[0]
        raise SeedError(f"seed file {path} is not valid JSON or YAML: {problem}") from None
    if not isinstance(data, dict):
        raise SeedError(f"seed file {path} must map API ids ({', '.join(tmfapis.API_IDS)}) to resources.")
    seed: SeedInstances = {}
    for api_id, resources in data.items():
        if api_id not in tmfapis.API_IDS:
            raise SeedError(
                f"seed file {path}: unknown API id {api_id!r}; use one of {', '.join(tmfapis.API_IDS)}."
            )
        api = tmfapis.api(api_id)
        if not isinstance(resources, dict):
            raise SeedError(f"seed file {path}: {api_id} must map resource names to lists of instances.")
        for name, instances in resources.items():
            if name not in api.resources:
                raise SeedError(
                    f"seed file {path}: {api_id} has no resource {name!r}; "
                    f"use one of {', '.join(api.resources)}."
                )
            if not isinstance(instances, list):
                raise SeedError(f"seed file {path}: {api_id}.{name} must be a list of instances.")
            validator = tmfapis.schema_validator(api_id, api.resources[name].create_schema)
            rules = rules_for(api_id, name)
            instances = [completed(rules, item) if isinstance(item, dict) else item for item in instances]
            for number, instance in enumerate(instances):
                _check(path, f"{api_id}.{name}[{number}]", validator, instance)
            seed[(api_id, name)] = instances
    return seed


def _check(path: Path, where: str, validator: jsonschema.protocols.Validator, instance: Any) -> None:
    if not isinstance(instance, dict):
        raise SeedError(f"seed file {path}: {where} must be an object.")
    if "id" in instance and not (isinstance(instance["id"], str) and instance["id"]):
        raise SeedError(f"seed file {path}: {where}.id must be a non-empty string.")
    body = {key: value for key, value in instance.items() if key not in ("id", "href")}
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if error is not None:
        at = ".".join(str(part) for part in error.absolute_path)
        raise SeedError(f"seed file {path}: {where}{'.' + at if at else ''}: {error.message}")
