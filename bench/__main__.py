"""`make bench`: Majlis's figures, each beside a floor measured in the same run.

This machine is shared and noisy, so every figure is a median with its min–max over
repeated runs, and is read as a ratio to its floor rather than in absolute time.
Results go to the terminal, to bench/results.json and to bench/report.html (a page to
open in a browser, see bench/html_report.py). ``python -m bench NAME …`` runs the
sections named (see ``SECTIONS`` in bench/sections.py) and keeps the others' last
results.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime

from bench.common import QUIET, REPORT, RESULTS, ROOT
from bench.html_report import write
from bench.sections import SECTIONS


def main(names: list[str]) -> int:
    """Run the sections named (all of them when none is), show them, keep them."""
    unknown = [name for name in names if name not in SECTIONS]
    if unknown:
        print(f"unknown section {', '.join(unknown)}; sections: {', '.join(SECTIONS)}")
        return 2
    sys.path.insert(0, str(ROOT))
    os.environ.update(QUIET)
    chosen = [name for name in SECTIONS if name in names] if names else list(SECTIONS)
    # Sections run alone keep the others' last results.
    results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    results.pop("import", None)  # replaced by cold_start
    measured_at = results.setdefault("measured_at", {})
    for name in chosen:
        results[name] = SECTIONS[name][0]()
        measured_at[name] = datetime.now(UTC).isoformat(timespec="seconds")
        # Kept as each ends: a section that fails leaves those before it measured
        RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print("\nMajlis benchmarks (median [min–max]; ratio = figure / floor, same run)\n")
    print(f"{'figure':<44}{'median':>10}{'range':>22}{'floor':>10}{'ratio':>8}")
    for name in chosen:
        SECTIONS[name][1](results[name])
    write(results, REPORT)  # every section kept, not only those run
    print(f"\nwritten to {RESULTS.relative_to(ROOT)} and {REPORT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
