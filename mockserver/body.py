"""Request bodies: strict JSON objects, schema checks naming the attribute, RFC 7386 merge patch."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from mockserver.errors import ApiError

if TYPE_CHECKING:
    import jsonschema

__all__ = ["MAX_DEPTH", "arrays_of_one", "check", "read_object", "short"]

MAX_DEPTH = 64
MAX_MESSAGE = 300


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{short(text)} is out of range")
    return value


def _refusal(value: object) -> str | None:
    """Why a parsed body cannot be stored: nested too deep, or a string that is not Unicode text."""
    stack: list[tuple[object, int, str]] = [(value, 1, "")]
    while stack:
        item, depth, path = stack.pop()
        if depth > MAX_DEPTH:
            return f"The request body nests deeper than {MAX_DEPTH} levels."
        if isinstance(item, dict):
            for key, child in item.items():
                where = f"{path}.{key}" if path else key
                if not _is_text(key):
                    return f"{_escaped(where)}: an attribute name holds a lone surrogate, which is not text."
                stack.append((child, depth + 1, where))
        elif isinstance(item, list):
            stack.extend((child, depth + 1, f"{path}[{index}]") for index, child in enumerate(item))
        elif isinstance(item, str) and not _is_text(item):
            return f"{_escaped(path) or 'The body'}: the string holds a lone surrogate, which is not text."
    return None


def _escaped(text: str) -> str:
    return text.encode("ascii", "backslashreplace").decode("ascii")


def _is_text(text: str) -> bool:
    # json.loads turns a "\\ud800" escape into a lone surrogate, which no UTF-8 response can carry
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def read_object(request: web.Request, media_types: tuple[str, ...]) -> dict[str, Any]:
    """The request body as a JSON object, or an ApiError saying exactly what is wrong with it."""
    if "Content-Type" not in request.headers:
        raise ApiError(415, f"A Content-Type header is required; send {' or '.join(media_types)}.")
    if request.content_type not in media_types:
        raise ApiError(
            415,
            f"Content-Type {request.content_type!r} is not supported here; send {' or '.join(media_types)}.",
        )
    raw = await request.read()
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant, parse_float=_finite_float)
    except UnicodeDecodeError:
        raise ApiError(400, "The request body is not valid UTF-8.") from None
    except (ValueError, RecursionError) as error:
        raise ApiError(400, f"The request body is not valid JSON ({short(str(error))}).") from None
    if not isinstance(body, dict):
        raise ApiError(400, f"The request body must be a JSON object, not {type(body).__name__}.")
    refusal = _refusal(body)
    if refusal is not None:
        raise ApiError(400, refusal)
    return body


def short(text: str) -> str:
    """The text, cut to a length fit for an error message."""
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "..."


def arrays_of_one(definitions: Mapping[str, Any], schema: Mapping[str, Any], value: Any) -> Any:
    """``value`` with each object it gives where ``schema`` wants an array of objects read as an array of that one
    object (``{"id": "1"}`` for ``[{"id": "1"}]``), at any depth; whatever else is left for validation to judge."""
    schema = _resolved(definitions, schema)
    items = schema.get("items")
    if schema.get("type") == "array" and isinstance(items, Mapping):
        if isinstance(value, dict) and _resolved(definitions, items).get("type") == "object":
            value = [value]
        return [arrays_of_one(definitions, items, item) for item in value] if isinstance(value, list) else value
    properties = schema.get("properties")
    if not isinstance(value, dict) or not properties:
        return value
    return {key: arrays_of_one(definitions, properties[key], child) if key in properties else child
            for key, child in value.items()}


def _resolved(definitions: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        schema = definitions[schema["$ref"].rpartition("/")[2]]
    return schema


def check(validator: jsonschema.protocols.Validator, instance: dict[str, Any], own: tuple[str, ...] = ()) -> None:
    """Raise a 400 naming the attribute path of the most relevant schema violation, if any; a violation in
    one of the ``own`` attributes (the server's choice, such as the id it assigned) is not the client's."""
    errors = validator.iter_errors(instance)
    from jsonschema.exceptions import best_match  # imported with the first body checked, not at start

    error = best_match(e for e in errors if not e.absolute_path or e.absolute_path[0] not in own)
    if error is not None:
        path = ".".join(str(part) for part in error.absolute_path)
        message = short(error.message)
        raise ApiError(400, f"{path}: {message}" if path else message)
