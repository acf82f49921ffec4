"""Progress lines on stderr as the bench goes, so a run that stops shows where.

Every line starts with ``... ``; the figures come at the end, on stdout. A harness that
kills a hung run prints what the run wrote so far (tests/bench/harness.py).
"""

from __future__ import annotations

import sys


def note(text: str) -> None:
    print(f"... {text}", file=sys.stderr, flush=True)
