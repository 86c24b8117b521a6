"""Planning a query in the patient's words: phrases the vocabulary knows, filler left out,
plurals and accents forgiven, and only words ever reaching FTS5's query syntax."""

from __future__ import annotations

from phr_desktop.domain.search_query import (
    Vocabulary,
    fold,
    one_edit_variants,
    plan_query,
    words_of,
)

VOCABULARY = Vocabulary.from_data(
    {
        "filler": ["my", "level", "of"],
        "concepts": [
            {"names": ["vaccine", "shot"], "kinds": ["immunization"]},
            {"names": ["sugar test", "blood sugar"], "finds": ["glucose", "a1c"],
             "kinds": ["lab_result"]},
            {"names": ["tetanus"], "finds": ["tetanus", "td"]},
        ],
    }
)  # fmt: skip


def test_the_longest_known_phrase_becomes_one_unit_and_filler_is_left_out() -> None:
    plan = plan_query("my blood sugar level", VOCABULARY)
    assert [u.typed for u in plan.units] == [("blood", "sugar")]
    assert plan.units[0].finds == ("glucose", "a1c")
    assert plan.preferred_kinds == {"lab_result"}  # a ranking hint, since words are known


def test_a_kind_only_concept_matches_the_kind_column() -> None:
    (unit,) = plan_query("vaccines", VOCABULARY).units
    assert unit.kinds_match and unit.typed == ("vaccine",)
    assert unit.fts() == '("vaccine"* OR kind : "immunization")'


def test_two_concepts_are_both_required() -> None:
    plan = plan_query("tetanus shot", VOCABULARY)
    assert plan.fts() == '("tetanus"* OR "tetanus" OR "td") AND ("shot"* OR kind : "immunization")'
    assert plan.fts(any_unit=True).count(" OR (") == 1


def test_a_plural_word_also_finds_the_singular() -> None:
    assert plan_query("migraines", VOCABULARY).units[0].typed == ("migraine",)
    assert plan_query("glass", VOCABULARY).units[0].typed == ("glass",)


def test_a_query_of_only_filler_still_searches_its_words() -> None:
    assert [u.typed for u in plan_query("level of", VOCABULARY).units] == [("level",), ("of",)]


def test_accents_case_and_possessives_are_folded() -> None:
    assert fold("EMPHYSÉMA") == "emphysema"
    assert words_of("Doctor's NOTES") == ["doctor", "notes"]


def test_search_syntax_in_a_query_stays_words() -> None:
    plan = plan_query('col:umn "x" NEAR(a b) AND -y*', VOCABULARY)
    expression = plan.fts()
    for word in ("col", "umn", "near", "and"):
        assert f'"{word}"*' in expression
    assert ":" not in expression.replace("kind :", "")


def test_one_edit_variants_include_each_kind_of_typo_and_sounds() -> None:
    variants = one_edit_variants("potasium")
    assert "potassium" in variants  # a letter missing
    assert "emphysema" in one_edit_variants("emfysema")  # f for ph
    assert "anemia" in one_edit_variants("anaemia")
    assert "pulse" in one_edit_variants("plsue") or "pulse" in one_edit_variants("pluse")
    assert "potasium" not in variants
