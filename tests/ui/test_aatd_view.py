"""The AATD overview on the demo patient: genotype, AAT against the protective line, FEV1
decline, the infusion log and the milestones."""

from __future__ import annotations

from phr_desktop.services.demo import open_demo
from phr_desktop.services.profiles import Profiles
from phr_desktop.ui.aatd_view import AatdView, genotype_text


def test_the_overview_shows_the_demo_patients_aatd_story(
    qtbot, profiles: Profiles, fast_kdf: None
) -> None:  # type: ignore[no-untyped-def]
    session, _created = open_demo(profiles)
    with session:
        view = AatdView(session)
        qtbot.addWidget(view)
        assert view.genotype_card.value.text() == "Pi*ZZ — severe deficiency"
        assert view.genotype_card.caption.text() == "Recorded 2014-01-30"
        assert view.aat_chart.point_count() == 8
        assert view.fev1_chart.point_count() == 18
        assert view.fev1_percent_chart.point_count() == 18
        assert view.decline_card.value.text() == "65 mL/yr"
        # the AAT card tells the record detail's story: protective level and lab range together
        assert view.aat_card.caption.text().startswith(
            "2024-06-13: above the protective level of 57 mg/dL (11 µM)"
        )
        assert "the lab's usual range" in view.aat_card.caption.text()
        assert view.infusions.rowCount() == 125
        assert [view.infusions.item(0, c).text() for c in range(3)] == [
            "2025-10-02", "Zemaira (alpha1-proteinase inhibitor, human)", "60 mg/kg",
        ]  # fmt: skip
        milestones = [view.milestones.item(i).text() for i in range(view.milestones.count())]
        assert milestones[0].startswith("2013-03-14   COPD / emphysema diagnosed")
        assert any("Augmentation therapy started (Prolastin-C)" in m for m in milestones)

        view.clear()
        assert view.infusions.rowCount() == 0 and view.aat_chart.point_count() == 0


def test_an_empty_profile_shows_empty_cards_not_errors(qtbot, session) -> None:  # type: ignore[no-untyped-def]
    view = AatdView(session)
    qtbot.addWidget(view)
    assert view.genotype_card.value.text() == "Not recorded"
    assert view.aat_chart.point_count() == 0
    assert view.infusion_card.value.text() == "None logged"
    assert genotype_text("Pi*MZ") == "Pi*MZ — intermediate deficiency"
