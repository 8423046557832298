"""``python -m harness.reports DIR``: rebuild ``DIR/report.html`` from ``DIR/summary.json``."""

import sys

from harness.reports.html import main

sys.exit(main())
