"""The second process of a large seed: ``python -m mockserver.seed PATH MODULE:RENDER`` (see ``halves``)."""

import sys

from mockserver.seed.halves import render_rest

render_rest(*sys.argv[1:])
