"""Command line: ``python -m mockserver`` / ``tmf-mock`` serves the five APIs until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from mockserver.config import MIB, ServerConfig
from mockserver.seed import SeedError

__all__ = ["main", "parse_args"]

PROG = "tmf-mock"


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


def build_parser() -> ArgumentParser:
    """The command-line options."""
    parser = ArgumentParser(prog=PROG, description="Reference server of five TMF Open APIs v4.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=_bounded(int, 0, 65535), default=8080, help="port (0: a free one)")
    parser.add_argument("--public-url", type=_url, help="base URL hrefs start with (default: from requests)")
    parser.add_argument("--db", type=Path, help="SQLite file that keeps every write across restarts")
    parser.add_argument("--seed", type=Path, help="JSON or YAML file of instances to load at start")
    parser.add_argument(
        "--latency", type=_bounded(int, 0), default=0, metavar="MS", help="delay added to every response"
    )
    parser.add_argument(
        "--fail-rate",
        type=_bounded(float, 0, 1),
        default=0.0,
        metavar="P",
        help="share of requests answered 503",
    )
    parser.add_argument("--api-key", help="require X-API-Key: KEY or Authorization: Bearer KEY")
    parser.add_argument(
        "--max-body",
        type=_bounded(int, 1),
        default=MIB,
        metavar="BYTES",
        help="largest request body accepted (default 1 MiB)",
    )
    parser.add_argument("--no-access-log", action="store_true", help="do not log each request")
    return parser


def parse_args(argv: list[str] | None = None) -> ServerConfig:
    """The server configuration the command line asks for."""
    args = build_parser().parse_args(argv)
    return ServerConfig(
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        db_path=args.db,
        seed_path=args.seed,
        latency_ms=args.latency,
        fail_rate=args.fail_rate,
        api_key=args.api_key,
        max_body_bytes=args.max_body,
        access_log=not args.no_access_log,
    )


def fail(message: str) -> NoReturn:
    """Print one line on stderr and exit with status 2."""
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def main(argv: list[str] | None = None) -> None:
    """Run the server until SIGINT or SIGTERM."""
    from mockserver.serve import serve_forever  # imported late so --help stays fast

    config = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        asyncio.run(serve_forever(config))
    except SeedError as error:
        fail(str(error))
    except OSError as error:
        fail(f"cannot listen on {config.host}:{config.port}: {error.strerror or error}")
    except sqlite3.Error as error:
        fail(f"cannot use the database {config.db_path}: {error}")


if __name__ == "__main__":
    main()
