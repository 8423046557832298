"""Command line: ``python -m mockserver`` / ``tmf-mock`` serves the TMF Open APIs until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import logging
import math
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from mockserver.addresses import parse_allow_entry
from mockserver.config import MIB, ServerConfig
from mockserver.seed import SeedError

__all__ = ["main", "parse_args"]

PROG = "tmf-mock"
API_KEY_ENV = "TMF_MOCK_API_KEY"


class ArgumentParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {message} (see {PROG} --help)\n")


def _bounded(
    convert: Callable[[str], float], low: float, high: float | None = None
) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = convert(text)
        except ValueError:
            kind = "an integer" if convert is int else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind}") from None
        if math.isnan(value) or value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{text} is out of range; use a value {bounds}")
        return value

    return parse


def _url(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"{text!r} is not an http or https URL")
    return text


def _allow_entry(text: str) -> str:
    try:
        parse_allow_entry(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def build_parser() -> ArgumentParser:
    """The command-line options."""
    parser = ArgumentParser(prog=PROG, description="Reference server of the TMF Open APIs v4.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument(
        "--port", type=_bounded(int, 0, 65535), default=8080, help="port, 0 for a free one (default: %(default)s)"
    )
    parser.add_argument("--public-url", type=_url, help="base URL hrefs start with (default: from requests)")
    parser.add_argument("--db", type=Path, help="SQLite file that keeps every write across restarts")
    parser.add_argument("--seed", type=Path, help="JSON or YAML file of instances to load at start")
    parser.add_argument(
        "--latency",
        type=_bounded(int, 0),
        default=0,
        metavar="MS",
        help="delay added to every response (default: %(default)s)",
    )
    parser.add_argument(
        "--fail-rate",
        type=_bounded(float, 0, 1),
        default=0.0,
        metavar="P",
        help="share of requests answered 503 (default: %(default)s)",
    )
    parser.add_argument(
        "--api-key",
        help=f"require X-API-Key: KEY or Authorization: Bearer KEY (default: ${API_KEY_ENV}, else none)",
    )
    parser.add_argument(
        "--max-body",
        type=_bounded(int, 1),
        default=MIB,
        metavar="BYTES",
        help="largest request body accepted (default: %(default)s, 1 MiB)",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests whose Host is NAME; '*' for any (repeatable; default: its own names)",
    )
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="also accept requests from this Origin, e.g. https://app.example; '*' for any (repeatable)",
    )
    parser.add_argument(
        "--callback-allow",
        action="append",
        default=[],
        type=_allow_entry,
        metavar="CIDR_OR_HOST",
        help="hub callbacks may reach only these networks or host names (repeatable; default: anywhere"
        " but this server and link-local or metadata addresses)",
    )
    parser.add_argument(
        "--event-rate",
        type=_bounded(float, 0.001),
        default=ServerConfig().event_rate,
        metavar="PER_S",
        help="events a second each listener gets after a burst of 100; the excess is dropped"
        " (default: %(default)s)",
    )
    parser.add_argument("--no-access-log", action="store_true", help="do not log each request")
    return parser


def parse_args(argv: list[str] | None = None) -> ServerConfig:
    """The server configuration the command line asks for."""
    parser = build_parser()
    args = parser.parse_args(argv)
    api_key = args.api_key if args.api_key is not None else os.environ.get(API_KEY_ENV)
    if api_key is not None and not api_key.strip():
        source = "--api-key" if args.api_key is not None else API_KEY_ENV
        parser.error(f"{source} is empty, which would turn authentication off; give a key or leave it out")
    return ServerConfig(
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        db_path=args.db,
        seed_path=args.seed,
        latency_ms=args.latency,
        fail_rate=args.fail_rate,
        api_key=api_key,
        max_body_bytes=args.max_body,
        access_log=not args.no_access_log,
        event_rate=args.event_rate,
        allowed_hosts=tuple(args.allow_host),
        allowed_origins=tuple(args.allow_origin),
        callback_allow=tuple(args.callback_allow),
    )


def fail(message: str) -> NoReturn:
    """Print one line on stderr and exit with status 2."""
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def main(argv: list[str] | None = None) -> None:
    """Run the server until SIGINT or SIGTERM."""
    from mockserver.serve import run, serve_forever  # imported late so --help stays fast

    config = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        run(serve_forever(config))
    except SeedError as error:
        fail(str(error))
    except OSError as error:
        fail(f"cannot listen on {config.host}:{config.port}: {error.strerror or error}")
    except sqlite3.Error as error:
        fail(f"cannot use the database {config.db_path}: {error}")


if __name__ == "__main__":
    main()
