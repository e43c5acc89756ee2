"""The long fuzzing soak of issue 14: the CI fuzzing suite (tests/fuzz, tests/test_media_hostile.py,
tests/service/test_hostile_*.py) run with many more generated cases, round after round, each
round with a new random seed.

    python bench/soak.py [--minutes 30] [--examples 500] [--json soak.json]

Everything talks to 127.0.0.1 only (the fuzz server refuses every other address and resolves
no names; the hostile origin is local). Reported per round and in total: cases run, server
errors, hangs (requests over the suite's bound), accepted forbidden requests, leftover scratch
files, the API's peak RSS growth, failing tests. Exit status 1 if any round found anything.
CI runs the same suite with TALKIES_FUZZ_EXAMPLES=40 (a few minutes); this is the long run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SUITE = [
    "tests/fuzz",
    "tests/test_media_hostile.py",
    "tests/service/test_hostile_fetch.py",
    "tests/service/test_hostile_api.py",
]
COUNTED = ("server_errors", "hangs", "forbidden_accepted", "leftover_temp_files")


def run_round(examples: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "figures.json"
        env = {**os.environ, "TALKIES_FUZZ_EXAMPLES": str(examples), "TALKIES_FUZZ_REPORT": str(report)}
        started = time.monotonic()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--hypothesis-seed={seed}",
                *SUITE,
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
        )
        figures = json.loads(report.read_text()) if report.exists() else {}
    tail = done.stdout.strip().splitlines()[-1:] or [""]
    return {
        "seed": seed,
        "seconds": round(time.monotonic() - started, 1),
        "pytest_exit": done.returncode,
        "pytest_summary": tail[0],
        "cases": figures.get("cases", 0),
        **{name: len(figures.get(name, [])) for name in COUNTED},
        "api_peak_rss_growth_mb": figures.get("api_peak_rss_growth_mb"),
        "slowest_s": figures.get("slowest_s"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument(
        "--examples", type=int, default=500, help="schemathesis examples per operation and mode"
    )
    parser.add_argument("--json", type=Path, help="write every round's figures here")
    args = parser.parse_args()
    rounds, end = [], time.monotonic() + args.minutes * 60
    while time.monotonic() < end or not rounds:
        figures = run_round(args.examples, random.randrange(2**31))
        rounds.append(figures)
        print(json.dumps(figures), flush=True)
    total = {
        "rounds": len(rounds),
        "cases": sum(r["cases"] for r in rounds),
        **{name: sum(r[name] for r in rounds) for name in COUNTED},
        "failing_rounds": sum(r["pytest_exit"] != 0 for r in rounds),
        "api_peak_rss_growth_mb": max((r["api_peak_rss_growth_mb"] or 0) for r in rounds),
    }
    print("total", json.dumps(total))
    if args.json:
        args.json.write_text(json.dumps({"rounds": rounds, "total": total}, indent=2))
    found = total["failing_rounds"] or any(total[name] for name in COUNTED)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
