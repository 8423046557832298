"""Seed files: JSON or YAML ``{<api id>: {<resource>: [instances...]}}``, validated like creates.

A seed instance may carry its own ``id`` (kept) but never an ``href`` (the server sets it). Seeds
fill only collections that are empty when the server starts, so a journal is never duplicated.
Seeding a ``cancelProductOrder`` records it without cancelling any order.
"""

from __future__ import annotations

import importlib
import json
import pickle
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

import tmfapis
from mockserver.resources import completed, rules_for

__all__ = ["Render", "SeedError", "SeedRows", "load_seed", "quick_check"]

# (API id, resource, validated body) -> (id, the instance as stored)
Render = Callable[[str, str, dict[str, Any]], tuple[str, bytes]]
SeedRows = dict[tuple[str, str], tuple[list[str], list[bytes]]]  # ids and stored bodies per collection
Item = tuple[str, str, int, Any]  # API id, resource, position in its list, instance
WHITESPACE = re.compile(r"[ \t\n\r]*")
WHITESPACE_CHARS = frozenset(" \t\n\r")
SERVER_SET = frozenset({"id", "href"})
PARALLEL_BYTES = 32 * 2**20  # a JSON seed this large (some 100,000 instances) is rendered by two processes
BETWEEN_OBJECTS = re.compile(r"\}[ \t\n\r]*,(?=[ \t\n\r]*\{)")
LIST_OPENS = re.compile(r"[ \t\n\r]*:[ \t\n\r]*\[")
CHILD = "import sys; from mockserver.seed import render_rest; render_rest(*sys.argv[1:])"


class SeedError(ValueError):
    """The seed file cannot be used; the message says which file and what to fix."""


class NotPlain(Exception):
    """A JSON seed the streaming reader leaves to the whole-file reader, which words its errors."""


def load_seed(path: Path, render: Render) -> SeedRows:
    """The instances of a seed file, validated and rendered, per (API id, resource).

    A JSON file of the usual shape is read one instance at a time, so a large seed never exists as
    one big parsed document (and from ``PARALLEL_BYTES`` on, a second process reads and renders its
    second half meanwhile); any other file (or a broken one) is read whole.
    """
    child = _start_child(path, render) if str(path).endswith(".json") and _size(path) >= PARALLEL_BYTES else None
    try:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise SeedError(f"seed file {path} cannot be read: {error}") from None
        if str(path).endswith(".json"):
            try:
                if child is not None:
                    return _rendered_in_two(path, text, render, child)
                return _rendered(path, _streamed(path, text), render)
            except NotPlain:
                pass
        return _rendered(path, _whole(path, text), render)
    finally:
        if child is not None:
            child.kill()
            child.wait()
            child.stdout.close()  # type: ignore[union-attr]


def _size(path: Path) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0  # read_text words the error


def _start_child(path: Path, render: Render) -> subprocess.Popen[bytes] | None:
    """The process rendering the second half, started before the file is read here; None if it cannot start."""
    command = [sys.executable, "-c", CHILD, str(path), f"{render.__module__}:{render.__qualname__}"]
    try:
        return subprocess.Popen(command, stdout=subprocess.PIPE)
    except OSError:
        return None


@dataclass(slots=True)
class Split:
    """Where the second process starts: after the comma at ``offset``, inside the list of (``api_id``,
    ``name``). It is found by a guess that both processes make alike; it holds when the first process,
    reading from the start, arrives there between two instances of that list (``reached``), the
    ``number``-th one next."""

    offset: int
    api_id: str
    name: str
    number: int = 0
    reached: bool = False


def _split(text: str) -> Split | None:
    """The guess: the first gap between two objects after the middle, in the list whose name comes last
    before it; None when the text shows neither."""
    gap = BETWEEN_OBJECTS.search(text, len(text) // 2)
    if gap is None:
        return None
    opened = [(text.rfind(f'"{name}"', 0, gap.start()), name) for name in _collections()]
    for at, name in sorted(opened, reverse=True):
        if at >= 0 and LIST_OPENS.match(text, at + len(name) + 2):
            return Split(gap.end(), _collections()[name], name)
    return None


@cache
def _collections() -> dict[str, str]:
    """API id by resource name, for the names only one API serves."""
    serving: dict[str, list[str]] = {}
    for api in tmfapis.apis():
        for name in api.resources:
            serving.setdefault(name, []).append(api.id)
    return {name: ids[0] for name, ids in serving.items() if len(ids) == 1}


def _rendered_in_two(path: Path, text: str, render: Render, child: subprocess.Popen[bytes]) -> SeedRows:
    """The instances before the split rendered here, those after it meanwhile by ``child``.

    The child is a fresh interpreter (so nothing of the caller's program runs again in it). Where the
    guess does not hold, this process reads on alone; where the child fails or refuses (a fault it
    cannot number), the rest is rendered here, so that any error is worded as one process words it.
    """
    split = _split(text)
    if split is None:
        return _rendered(path, _streamed(path, text), render)
    rows = _rendered(path, _streamed(path, text, stop=split), render)
    if not split.reached:
        return rows
    try:
        kind, offset, rest = pickle.load(child.stdout)  # type: ignore[arg-type]
    except (EOFError, pickle.UnpicklingError, ValueError):
        kind, offset, rest = "failed", None, None
    if kind != "rows" or offset != split.offset:
        rest = _rendered(path, _streamed(path, text, resume=split), render)
    for key, (ids, bodies) in rest.items():
        held_ids, held_bodies = rows.setdefault(key, ([], []))
        held_ids += ids
        held_bodies += bodies
    return rows


def render_rest(path: str, render_name: str) -> None:
    """The child of ``_rendered_in_two``: writes its outcome for the second half, pickled, to stdout."""
    module, _, name = render_name.partition(":")
    render = getattr(importlib.import_module(module), name)
    outcome: tuple[str, int | None, Any] = ("refused", None, None)
    seed = Path(path)
    try:
        text = seed.read_text(encoding="utf-8")
        split = _split(text)
        if split is not None:
            outcome = ("rows", split.offset, _rendered(seed, _streamed(seed, text, resume=split), render))
    except (OSError, ValueError, NotPlain):  # SeedError is a ValueError: this process cannot number the fault
        pass
    pickle.dump(outcome, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)


def _api(path: Path, api_id: str) -> tmfapis.Api:
    if api_id not in tmfapis.API_IDS:
        raise SeedError(f"seed file {path}: unknown API id {api_id!r}; use one of {', '.join(tmfapis.API_IDS)}.")
    return tmfapis.api(api_id)


def _resource(path: Path, api: tmfapis.Api, name: str) -> str:
    if name not in api.resources:
        raise SeedError(
            f"seed file {path}: {api.id} has no resource {name!r}; use one of {', '.join(api.resources)}."
        )
    return name


def _whole(path: Path, text: str) -> Iterator[Item]:
    try:
        data = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        problem = str(error).splitlines()[0]
        raise SeedError(f"seed file {path} is not valid JSON or YAML: {problem}") from None
    if not isinstance(data, dict):
        raise SeedError(f"seed file {path} must map API ids ({', '.join(tmfapis.API_IDS)}) to resources.")
    for api_id, resources in data.items():
        api = _api(path, api_id)
        if not isinstance(resources, dict):
            raise SeedError(f"seed file {path}: {api_id} must map resource names to lists of instances.")
        for name, instances in resources.items():
            _resource(path, api, name)
            if not isinstance(instances, list):
                raise SeedError(f"seed file {path}: {api_id}.{name} must be a list of instances.")
            for number, instance in enumerate(instances):
                yield api_id, name, number, instance


def _streamed(path: Path, text: str, stop: Split | None = None, resume: Split | None = None) -> Iterator[Item]:
    """The instances of ``{"api": {"resource": [...]}}`` JSON, decoded one at a time; NotPlain otherwise.

    With ``stop``, it ends where the split is reached (and says so in it); with ``resume``, it starts
    there, reading the rest of the document as though it had come to that place.
    """
    decode = json.JSONDecoder().raw_decode
    at = 0

    def take(char: str) -> bool:
        nonlocal at
        if text.startswith(char, at):  # no whitespace before it: the usual case of a generated file
            at += 1
            return True
        at = WHITESPACE.match(text, at).end()  # type: ignore[union-attr]
        if text.startswith(char, at):
            at += 1
            return True
        return False

    def value() -> Any:
        nonlocal at
        if text[at : at + 1] in WHITESPACE_CHARS:
            at = WHITESPACE.match(text, at).end()  # type: ignore[union-attr]
        try:
            found, at = decode(text, at)
        except ValueError:
            raise NotPlain from None
        return found

    def members(resumed: bool = False) -> Iterator[str]:
        """The keys of the object opening here (or, ``resumed``, whose member value was just read);
        after each, the caller reads its value."""
        if not resumed:
            if not take("{"):
                raise NotPlain
            if take("}"):
                return
        while True:
            if resumed:
                if take("}"):
                    return
                if not take(","):
                    raise NotPlain
            resumed = True
            key = value()
            if not isinstance(key, str) or not take(":"):
                raise NotPlain
            yield key

    def instances(api_id: str, name: str, number: int) -> Iterator[Item]:
        """The instances of a list whose opening bracket, or a separating comma, was just read."""
        nonlocal at
        limit = stop.offset if stop is not None else len(text) + 1
        while True:
            if at >= limit:
                assert stop is not None
                if at == limit and (api_id, name) == (stop.api_id, stop.name):
                    stop.number, stop.reached = number, True
                    return
                limit = len(text) + 1  # the guess did not hold: read on
            yield api_id, name, number, value()
            number += 1
            if text.startswith(",", at):  # the usual case, before any other look
                at += 1
            elif take("]"):
                return
            elif not take(","):
                raise NotPlain

    def collections(api_id: str, resumed: bool = False) -> Iterator[Item]:
        api = _api(path, api_id)
        for name in members(resumed):
            _resource(path, api, name)
            if not take("["):
                raise NotPlain
            if not take("]"):
                yield from instances(api_id, name, 0)
                if stop is not None and stop.reached:
                    return

    if resume is not None:
        at = resume.offset
        yield from instances(resume.api_id, resume.name, resume.number)
        yield from collections(resume.api_id, resumed=True)
        apis = members(resumed=True)
    else:
        apis = members()
    for api_id in apis:
        yield from collections(api_id)
        if stop is not None and stop.reached:
            return
    if WHITESPACE.match(text, at).end() != len(text):  # type: ignore[union-attr]
        raise NotPlain


def _rendered(path: Path, items: Iterator[Item], render: Render) -> SeedRows:
    """Every instance validated and rendered."""
    rows: SeedRows = {}
    last: tuple[str, str] | None = None
    for api_id, name, number, instance in items:
        if (api_id, name) != last:  # instances come a collection at a time
            last = (api_id, name)
            collection = rows.setdefault(last, ([], []))
            definition = tmfapis.api(api_id).resources[name].create_schema
            rules = rules_for(api_id, name)
            valid = _ignoring_id(api_id, definition)
        body = completed(rules, instance) if isinstance(instance, dict) else instance
        if not (isinstance(body, dict) and _plain_id(body) and valid(body)):
            _word_fault(path, (api_id, name, number), definition, api_id, body)
        instance_id, stored = render(api_id, name, body)
        collection[0].append(instance_id)
        collection[1].append(stored)
    return rows


def _without_id(instance: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in instance.items() if key not in SERVER_SET}


def _ignoring_id(api_id: str, definition: str) -> Check:
    """The quick check of a definition, blind to a seed's ``id`` and ``href`` (the server sets them)."""
    check = quick_check(api_id, definition)
    schema = tmfapis.api(api_id).definitions[definition]
    looked_at = {*schema.get("properties", {}), *schema.get("required", ())}
    if "$ref" not in schema and SERVER_SET.isdisjoint(looked_at) or _requires_id(api_id, definition):
        return check  # the schema does not look at them, or requires them: nothing to take out
    return lambda instance: check(_without_id(instance))


def _requires_id(api_id: str, definition: str) -> bool:
    """A resource the spec gives no create (only a seed fills it): its instances are checked with their id."""
    return "id" in tmfapis.api(api_id).definitions[definition].get("required", ())


def _plain_id(instance: dict[str, Any]) -> bool:
    """No ``id``, or a non-empty string one."""
    given = instance.get("id")
    return given is None and "id" not in instance or (isinstance(given, str) and given != "")


def _word_fault(path: Path, place: tuple[str, str, int], definition: str, api_id: str, instance: Any) -> None:
    """Raise the SeedError naming what is wrong with an instance the quick test refused (jsonschema words a
    schema fault; should it find none, the instance is taken)."""
    where = "{}.{}[{}]".format(*place)
    if not isinstance(instance, dict):
        raise SeedError(f"seed file {path}: {where} must be an object.")
    if not _plain_id(instance):
        raise SeedError(f"seed file {path}: {where}.id must be a non-empty string.")
    validator = tmfapis.schema_validator(api_id, definition)
    checked = instance if _requires_id(api_id, definition) else _without_id(instance)
    error = jsonschema.exceptions.best_match(validator.iter_errors(checked))
    if error is not None:
        at = ".".join(str(part) for part in error.absolute_path)
        raise SeedError(f"seed file {path}: {where}{'.' + at if at else ''}: {error.message}")


# ---- a quick validity check for large seeds -----------------------------------------------------------
# jsonschema takes about 90 microseconds an instance; this check of the keywords the compact schemas
# use takes a few, and jsonschema still words every error. A schema using another keyword is checked by
# jsonschema alone.

Check = Callable[[Any], bool]
KEYWORDS = frozenset({"$ref", "type", "format", "enum", "properties", "required", "items", "minItems"})
TYPES: dict[str, Check] = {
    "string": lambda value: isinstance(value, str),
    "number": lambda value: isinstance(value, int | float) and not isinstance(value, bool),
    "integer": lambda value: (isinstance(value, int) and not isinstance(value, bool))
    or (isinstance(value, float) and value.is_integer()),
    "boolean": lambda value: isinstance(value, bool),
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "null": lambda value: value is None,
}


class UnknownKeyword(Exception):
    """The schema uses a keyword the quick check does not know."""


@cache
def quick_check(api_id: str, definition: str) -> Check:
    """True when an instance is valid against one definition of an API (as jsonschema would say)."""
    compiled: dict[str, Check] = {}
    compiling: set[str] = set()
    definitions = tmfapis.api(api_id).definitions

    def named(name: str) -> Check:
        if name in compiling:  # a cycle: look the check up when it runs
            return lambda value: compiled[name](value)
        if name not in compiled:
            compiling.add(name)
            compiled[name] = of(definitions[name])
            compiling.discard(name)
        return compiled[name]

    def of(schema: dict[str, Any]) -> Check:
        if set(schema) - KEYWORDS:
            raise UnknownKeyword(", ".join(sorted(set(schema) - KEYWORDS)))
        checks: list[Check] = []
        if "$ref" in schema:
            checks.append(named(schema["$ref"].removeprefix("#/definitions/")))
        kinds = [schema["type"]] if isinstance(schema.get("type"), str) else schema.get("type")
        form = schema.get("format")
        if form not in tmfapis.FORMAT_CHECKER.checkers:  # formats without a checker always conform
            form = None
        if kinds == ["object"] and ("required" in schema or "properties" in schema):
            checks.append(members_check(tuple(schema.get("required", ())), schema.get("properties", {}), True))
        elif kinds == ["string"] and form is not None:
            conforms = tmfapis.FORMAT_CHECKER.conforms
            checks.append(lambda value: isinstance(value, str) and conforms(value, form))
        else:
            if kinds is not None:
                tests = [TYPES[kind] for kind in kinds]
                checks.append(tests[0] if len(tests) == 1 else lambda value: any(test(value) for test in tests))
            if form is not None:
                checks.append(lambda value: tmfapis.FORMAT_CHECKER.conforms(value, form))
            if "required" in schema or "properties" in schema:
                checks.append(members_check(tuple(schema.get("required", ())), schema.get("properties", {}), False))
        if "enum" in schema:
            allowed = [json.dumps(option, sort_keys=True) for option in schema["enum"]]
            checks.append(lambda value: json.dumps(value, sort_keys=True) in allowed)
        if "items" in schema:
            item_check = of(schema["items"])
            checks.append(lambda value: not isinstance(value, list) or all(map(item_check, value)))
        if "minItems" in schema:
            least = schema["minItems"]
            checks.append(lambda value: not isinstance(value, list) or len(value) >= least)
        if len(checks) == 1:
            return checks[0]

        def every(value: Any) -> bool:
            for check in checks:
                if not check(value):
                    return False
            return True

        return every

    def members_check(required: tuple[str, ...], properties: dict[str, Any], only_objects: bool) -> Check:
        texts = frozenset(key for key, sub in properties.items() if plain_text(sub))
        members = {key: of(sub) for key, sub in properties.items() if key not in texts}

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return not only_objects
            for key in required:
                if key not in value:
                    return False
            for key, item in value.items():
                if key in texts:
                    if not isinstance(item, str):
                        return False
                    continue
                member = members.get(key)
                if member is not None and not member(item):
                    return False
            return True

        return check

    def plain_text(schema: dict[str, Any]) -> bool:
        """A string schema with nothing else to check."""
        rest = set(schema) - {"type", "format"}
        return schema.get("type") == "string" and not rest and schema.get("format") not in checked_formats

    checked_formats = set(tmfapis.FORMAT_CHECKER.checkers)
    try:
        return named(definition)
    except UnknownKeyword:
        validator = tmfapis.schema_validator(api_id, definition)
        return lambda value: bool(validator.is_valid(value))
