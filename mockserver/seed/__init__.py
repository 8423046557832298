"""Seed files: JSON or YAML ``{<api id>: {<resource>: [instances...]}}``, validated like creates.

A seed instance may carry its own ``id`` (kept) but never an ``href`` (the server sets it). Seeds
fill only collections that are empty when the server starts, so a journal is never duplicated.
Seeding a ``cancelProductOrder`` records it without cancelling any order.

This module chooses the reader; the others each do one job: ``stream`` reads a JSON seed an instance
at a time, ``halves`` has a second process render the second half of a large one, ``items`` checks and
renders the instances whichever reader found them, ``quick`` compiles the schemas into a fast check.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import yaml

import tmfapis
from mockserver.seed.halves import rendered_in_two, start_child
from mockserver.seed.items import Item, Render, SeedError, SeedRows, known_api, known_resource, rendered
from mockserver.seed.quick import quick_check
from mockserver.seed.stream import NotPlain, streamed

__all__ = ["Render", "SeedError", "SeedRows", "load_seed", "quick_check"]


def load_seed(path: Path, render: Render) -> SeedRows:
    """The instances of a seed file, validated and rendered, per (API id, resource).

    A JSON file of the usual shape is read one instance at a time, so a large seed never exists as
    one big parsed document (and from ``PARALLEL_BYTES`` on, a second process reads and renders its
    second half meanwhile); any other file (or a broken one) is read whole.
    """
    child = start_child(path, render) if str(path).endswith(".json") else None
    try:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise SeedError(f"seed file {path} cannot be read: {error}") from None
        if str(path).endswith(".json"):
            try:
                if child is not None:
                    return rendered_in_two(path, text, render, child)
                return rendered(path, streamed(path, text), render)
            except NotPlain:
                pass
        return rendered(path, whole(path, text), render)
    finally:
        if child is not None:
            child.kill()
            child.wait()
            child.stdout.close()  # type: ignore[union-attr]


def whole(path: Path, text: str) -> Iterator[Item]:
    """The instances of a JSON or YAML seed parsed whole: the reader of any file the streaming one leaves."""
    try:
        data = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        problem = str(error).splitlines()[0]
        raise SeedError(f"seed file {path} is not valid JSON or YAML: {problem}") from None
    if not isinstance(data, dict):
        raise SeedError(f"seed file {path} must map API ids ({', '.join(tmfapis.API_IDS)}) to resources.")
    for api_id, resources in data.items():
        api = known_api(path, api_id)
        if not isinstance(resources, dict):
            raise SeedError(f"seed file {path}: {api_id} must map resource names to lists of instances.")
        for name, instances in resources.items():
            known_resource(path, api, name)
            if not isinstance(instances, list):
                raise SeedError(f"seed file {path}: {api_id}.{name} must be a list of instances.")
            for number, instance in enumerate(instances):
                yield api_id, name, number, instance

