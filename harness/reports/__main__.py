"""``python -m harness.reports DIR``: rebuild ``DIR/report.html`` and ``DIR/certification/`` from ``DIR/summary.json``."""

import sys

from harness.reports.rebuild import main

sys.exit(main())
