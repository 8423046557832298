"""``tmf-ctk run [pytest options]``: pytest on the packaged suites (``pytest --pyargs harness.suites ...``)."""

from __future__ import annotations

import sys

import pytest

__all__ = ["main"]

SUITES_PACKAGE = "harness.suites"
USAGE = f"""usage: tmf-ctk run [--base-url URL] [--api API,API] [pytest options]

Run the TMF conformance suites shipped in this package ({SUITES_PACKAGE}), from any folder:
the same as `pytest --pyargs {SUITES_PACKAGE} [pytest options]`. Without --base-url (or base_url in
--ctk-config) the embedded reference server is the target. The APIs the system offers are certified;
one whose root answers 404 is listed as not offered, unless it is selected by name (--api, -m, --api-url),
in which case it fails.

  tmf-ctk run --base-url https://vendor.example --ctk-report out/ --api tmf629,tmf681
  tmf-ctk run --help        every option of pytest and of the suites (--ctk-config, --api-url, ...)
"""


def main(argv: list[str] | None = None) -> int:
    """Dispatch ``run``; anything else prints the usage (exit 0 when asked for, 2 otherwise)."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["run"]:
        return int(pytest.main(["--pyargs", SUITES_PACKAGE, *args[1:]]))
    asked = args[:1] in (["-h"], ["--help"])
    if not asked:
        problem = f"unknown command {args[0]!r}" if args else "a command is needed"
        print(f"tmf-ctk: {problem}", file=sys.stderr)
    print(USAGE, end="", file=sys.stdout if asked else sys.stderr)
    return 0 if asked else 2


if __name__ == "__main__":
    sys.exit(main())
