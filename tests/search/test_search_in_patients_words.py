"""Search answers questions in the patient's words (issue 18), over the demo profile: meaning
as well as words, the thing asked for first, forgiving input, clinicians' words."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import RecordFilter, Session
from phr_desktop.vault.keys import KdfParams
from tests.search_questions import demo_files


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("phr_desktop.vault.vault.calibrate_kdf", KdfParams.minimum)
        profiles = Profiles(Path(tmp_path_factory.mktemp("search-demo")))
        session, _ = profiles.create("demo", "search tests passphrase")
    with session:
        session.import_paths(demo_files())
        yield session


def top(session: Session, text: str, n: int = 5) -> list[tuple[str, str]]:
    return [(s.record.kind.value, s.record.title or "") for s in session.search(text, n)]


def test_a_result_titled_with_the_test_beats_notes_that_mention_it(demo: Session) -> None:
    found = top(demo, "AAT level")
    assert [kind for kind, _ in found] == ["lab_result"] * 5
    assert all("antitrypsin" in title.lower() for _, title in found)


def test_equal_matches_come_newest_first(demo: Session) -> None:
    found = demo.search("AAT level", 8)
    dates = [s.record.effective.text for s in found if s.record.effective]
    assert dates == sorted(dates, reverse=True)
    assert dates[0].startswith("2024-06-13")  # her latest AAT level


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("vaccines", "immunization"),
        ("shots", "immunization"),
        ("allergies", "allergy"),
        ("medicines", "medication"),
        ("problems", "problem"),
        ("scans", "imaging"),
        ("visits", "encounter"),
    ],
)
def test_record_kinds_as_words_find_records_of_that_kind(
    demo: Session, question: str, kind: str
) -> None:
    of_kind = len(demo.records(RecordFilter(kinds=[kind])))
    found = top(demo, question, 10)
    # Every record of the kind first (notes mentioning the word may follow).
    assert [k for k, _ in found[: min(of_kind, 10)]] == [kind] * min(of_kind, 10)


def test_operations_are_procedures_not_lab_results_filed_under_a_procedure_category(
    demo: Session,
) -> None:
    assert {k for k, _ in top(demo, "operations")} == {"procedure"}


def test_two_words_match_across_title_and_kind(demo: Session) -> None:
    # "vaccine" is in no COVID-19 immunization's text: it matches what the record is.
    found = top(demo, "covid vaccine")
    assert found and all(k == "immunization" and "COVID-19" in t for k, t in found[:3])


@pytest.mark.parametrize(
    ("question", "title_word"),
    [
        ("breathing test", "FEV1"),
        ("LFTs", "ALT"),
        ("fibroscan", "elastography"),
        ("inhalers", "inhal"),
        ("blood thinners", None),
    ],
)
def test_lay_and_professional_names_find_the_record(
    demo: Session, question: str, title_word: str | None
) -> None:
    titles = [t for _, t in top(demo, question)]
    if title_word is None:
        assert titles == []  # she takes none: a class of medicines matches only its members
    else:
        assert any(title_word.lower() in t.lower() for t in titles), titles


def test_one_typo_in_a_long_word_is_forgiven_and_said(demo: Session) -> None:
    answer = demo.search_answer("emfysema", 5)
    assert answer.records and "emphysema" in answer.records[0].record.title.lower()
    assert answer.corrections == {"emfysema": "emphysema"}


def test_a_typo_in_a_short_word_is_not_guessed(demo: Session) -> None:
    assert demo.search("bilx", 5) == []


def test_accents_and_case_are_ignored(demo: Session) -> None:
    assert top(demo, "EMPHYSÉMA") == top(demo, "emphysema")


def test_prefixes_match_while_typing(demo: Session) -> None:
    assert any("antitrypsin" in t.lower() for _, t in top(demo, "antitryp"))


def test_did_you_mean_when_nothing_matches(demo: Session) -> None:
    answer = demo.search_answer("cholecystectommmy", 5)
    assert answer.records == []
    assert answer.suggestion == "cholecystectomy"


def test_nothing_close_gives_no_suggestion(demo: Session) -> None:
    answer = demo.search_answer("zzqxv", 5)
    assert answer.records == [] and answer.suggestion is None


@pytest.mark.parametrize("question", ["lung doctor", "pulmonologist", "chest doctor"])
def test_a_specialty_finds_its_notes_and_visits(demo: Session, question: str) -> None:
    found = top(demo, question)
    assert found and {k for k, _ in found} <= {"clinical_note", "encounter"}


def test_a_specialty_visit_is_found_through_the_facility(demo: Session) -> None:
    found = demo.search("hepatology visit", 5)
    assert found and found[0].record.kind.value == "encounter"
    assert "Hepatology" in (found[0].record.facility or "")


def test_the_timeline_filter_matches_the_same_words(demo: Session) -> None:
    listed = {s.id for s in demo.records(RecordFilter(text="vaccines"))}
    immunizations = {s.id for s in demo.records(RecordFilter(kinds=["immunization"]))}
    assert immunizations and immunizations <= listed  # and notes that mention vaccines


def test_punctuation_and_search_syntax_are_only_words(demo: Session) -> None:
    for text in ['"', "AND OR NOT", "col:umn", "(((", "*", "-", "NEAR(a b)"]:
        demo.search(text, 5)  # no FTS5 syntax error reaches the patient


def test_phr_search_says_did_you_mean_when_nothing_matches(
    demo: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    from phr_desktop.cli import record_commands

    class _Unlocked:
        def __init__(self, _args: object) -> None: ...
        def __enter__(self) -> Session:
            return demo

        def __exit__(self, *exc: object) -> None: ...

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(record_commands, "unlocked_session", _Unlocked)
        args = argparse.Namespace(query=["cholecystectommmy"], limit=None, json=True)
        assert record_commands.cmd_search(args) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "[]"
    assert "Did you mean: phr search cholecystectomy" in err


def _visit(rid: str, title: str, day: str) -> dict[str, object]:
    return {
        "resourceType": "Encounter", "id": rid, "status": "finished",
        "class": {"code": "AMB"}, "type": [{"text": title}],
        "period": {"start": f"{day}T09:00:00Z"},
    }  # fmt: skip


def _heart_rate(rid: str, visit: str, day: str) -> dict[str, object]:
    return {
        "resourceType": "Observation", "id": rid, "status": "final",
        "category": [{"coding": [{"code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4",
                             "display": "Heart rate"}]},
        "effectiveDateTime": f"{day}T09:10:00Z", "encounter": {"reference": visit},
        "valueQuantity": {"value": 80, "unit": "/min"},
    }  # fmt: skip


def test_a_word_may_match_through_the_visit_a_record_belongs_to(
    session: Session, tmp_path: Path
) -> None:
    # Only the visit says "emergency"; the newer reading is from an ordinary check-up.
    resources = [
        _visit("er-visit", "Emergency room admission", "2020-01-05"),
        _visit("office-visit", "Office visit", "2021-03-01"),
        _heart_rate("hr-er", "Encounter/er-visit", "2020-01-05"),
        _heart_rate("hr-office", "urn:uuid:office-visit", "2021-03-01"),
    ]
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": r} for r in resources]}  # fmt: skip
    path = tmp_path / "visits.json"
    path.write_text(json.dumps(bundle))
    session.import_paths([path])
    found = session.search("emergency heart rate", 5)
    assert found[0].record.resource_id == "hr-er"
    office = session.search("office heart rate", 5)
    assert office[0].record.resource_id == "hr-office"  # a bundle's urn reference too
