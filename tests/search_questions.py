"""The search question set (tests/data/search/questions.json) and how an answer is judged.

Shared by the accuracy test and `bench/search_accuracy.py`, so the rate the bench prints is
the rate the test asserts. A question is answered when one of the top 5 records returned by
`Session.search` (what `phr search` and the app's quick search show) fits one of its
`expect` entries: the record's kind, and a case-insensitive regular expression on its title.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

QUESTIONS_FILE = Path(__file__).resolve().parent / "data" / "search" / "questions.json"
REPO = Path(__file__).resolve().parent.parent
TOP = 5
# The Synthea profile of the question set: the third patient of seed 7 in name order (an adult
# with labs, vaccines, medicines and procedures of many kinds).
SYNTHEA_PATIENT_INDEX = 2


@dataclass(frozen=True)
class Question:
    profile: str  # "demo" or "synthea"
    who: str  # patient, caregiver or clinician
    text: str
    expect: tuple[dict[str, str], ...]

    def answered_by(self, kind: str, title: str) -> bool:
        return any(
            (e.get("kind") in (None, kind))
            and (not e.get("title") or re.search(e["title"], title, re.IGNORECASE) is not None)
            for e in self.expect
        )


@dataclass(frozen=True)
class Outcome:
    question: Question
    top: tuple[tuple[str, str], ...]  # (kind, title) of the top results

    @property
    def hit(self) -> bool:
        return any(self.question.answered_by(kind, title) for kind, title in self.top)


def load_questions() -> list[Question]:
    data = json.loads(QUESTIONS_FILE.read_text(encoding="utf-8"))
    return [Question(q["profile"], q["who"], q["q"], tuple(q["expect"])) for q in data["questions"]]


SearchFunction = Callable[[str, int], list[Any]]


def ask(questions: list[Question], search: dict[str, SearchFunction]) -> list[Outcome]:
    """Each question put to its profile's search; the top 5 kept as (kind, title)."""
    outcomes = []
    for q in questions:
        found = search[q.profile](q.text, TOP)[:TOP]
        top = tuple((s.record.kind.value, s.record.title or "") for s in found)
        outcomes.append(Outcome(q, top))
    return outcomes


def demo_files() -> list[Path]:
    return sorted((REPO / "resources" / "demo").glob("*.json"))


@contextmanager
def question_profiles(synthea_file: Path) -> Iterator[dict[str, SearchFunction]]:
    """The two profiles of the question set, built in a temporary folder."""
    from phr_desktop.services.profiles import Profiles
    from phr_desktop.vault import vault as vault_module
    from phr_desktop.vault.keys import KdfParams

    calibrate = vault_module.calibrate_kdf
    vault_module.calibrate_kdf = KdfParams.minimum  # type: ignore[assignment]
    try:
        with tempfile.TemporaryDirectory() as folder:
            profiles = Profiles(Path(folder))
            demo, _ = profiles.create("demo", "question set passphrase")
            synthea, _ = profiles.create("synthea", "question set passphrase")
            with demo, synthea:
                demo.import_paths(demo_files())
                synthea.import_paths([synthea_file])
                yield {"demo": demo.search, "synthea": synthea.search}
    finally:
        vault_module.calibrate_kdf = calibrate


def report(outcomes: list[Outcome]) -> str:
    hits = sum(o.hit for o in outcomes)
    lines = [f"{hits}/{len(outcomes)} questions answered in the top {TOP}"]
    lines += [
        f"  MISS [{o.question.profile}] {o.question.text!r}: {[t for _, t in o.top]}"
        for o in outcomes
        if not o.hit
    ]
    return "\n".join(lines)
