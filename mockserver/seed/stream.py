"""The streaming reader of JSON seeds: ``{"api": {"resource": [...]}}`` decoded one instance at a time, so a
large seed never exists as one parsed document. Anything else is ``NotPlain``, left to the whole-file reader
(which words the errors). A ``Split`` lets it stop at, or resume from, a place inside one list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mockserver.seed.items import Item, known_api, known_resource

__all__ = ["NotPlain", "Split", "streamed"]

WHITESPACE = re.compile(r"[ \t\n\r]*")
WHITESPACE_CHARS = frozenset(" \t\n\r")


class NotPlain(Exception):
    """A JSON seed the streaming reader leaves to the whole-file reader, which words its errors."""


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


def streamed(path: Path, text: str, stop: Split | None = None, resume: Split | None = None) -> Iterator[Item]:
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
        api = known_api(path, api_id)
        for name in members(resumed):
            known_resource(path, api, name)
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

