"""``tmf-ctk-report DIR`` (or ``python -m harness.reports DIR``): rebuild the HTML report and the
certification pack in ``DIR`` from ``DIR/summary.json`` without a new run."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from harness.errors import ReportError
from harness.record import RunJson
from harness.reports.certification import write_pack
from harness.reports.html import SUMMARY_FILE, load_summary, write_report

__all__ = ["main", "write_reports"]

USAGE = "usage: python -m harness.reports DIR  (or tmf-ctk-report DIR; DIR holds summary.json, e.g. reports/latest)"


def write_reports(summary: RunJson, report_dir: Path) -> list[Path]:
    """Write ``report.html`` and ``certification/<api id>.html`` into ``report_dir``; return their paths."""
    return [write_report(summary, report_dir), *write_pack(summary, report_dir)]


def main(argv: Sequence[str] | None = None) -> int:
    """Rebuild the reports from the ``summary.json`` in the directory given on the command line."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0] in {"-h", "--help"}:
        print(USAGE, file=sys.stderr)
        return 0 if args[:1] in (["-h"], ["--help"]) else 2
    report_dir = Path(args[0])
    try:
        if not report_dir.is_dir():
            raise ReportError(f"{report_dir} is not a directory; name the directory that holds {SUMMARY_FILE}")
        paths = write_reports(load_summary(report_dir), report_dir)
    except ReportError as exc:
        print(f"tmf-ctk-report: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"tmf-ctk-report: cannot write the reports: {exc.strerror or exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
