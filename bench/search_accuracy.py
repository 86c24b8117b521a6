"""Search accuracy: the share of everyday questions whose answer is in the top 5 results.

    python bench/search_accuracy.py          # the rate and every question missed
    python bench/search_accuracy.py --json

The questions are tests/data/search/questions.json (demo profile and one Synthea patient); the
judging is tests/search_questions.py, the same the accuracy test uses. Watch the rate as the
search vocabulary grows. Always exits 0 unless the script itself fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.search_questions import (  # noqa: E402 - after sys.path
    SYNTHEA_PATIENT_INDEX,
    ask,
    load_questions,
    question_profiles,
    report,
)
from tests.synthea_fixtures import generate_patients  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    questions = load_questions()
    with tempfile.TemporaryDirectory() as folder:
        synthea_file = generate_patients(Path(folder))[SYNTHEA_PATIENT_INDEX]
        with question_profiles(synthea_file) as search:
            outcomes = ask(questions, search)
    hits = sum(o.hit for o in outcomes)
    if args.json:
        misses = [
            {"profile": o.question.profile, "q": o.question.text, "top": [t for _, t in o.top]}
            for o in outcomes
            if not o.hit
        ]
        print(json.dumps({"answered": hits, "asked": len(outcomes), "missed": misses}, indent=1))
    else:
        print(report(outcomes))
        print(f"accuracy: {hits / len(outcomes):.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
