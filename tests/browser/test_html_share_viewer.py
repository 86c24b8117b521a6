"""The browser form of a share, in a real Chromium: it opens with the key, shows what the
app's share window shows, refuses what the app refuses with the same words, and sends,
stores and loads nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from phr_desktop.services.share_viewer import open_share_session
from phr_desktop.services.sharing import CreatedShare
from phr_desktop.sharing.bundle import b64url
from phr_desktop.sharing.errors import ShareError
from phr_desktop.sharing.html_share import html_share_bytes
from phr_desktop.sharing.keys import fingerprint
from phr_desktop.sharing.open import open_share_bytes
from phr_desktop.sharing.share_key import ShareKey, new_share_key, parse_share_key
from tests.browser.chromium import Page
from tests.browser.shares import (
    claims_for,
    make_html_share,
    new_signer,
    observation_bundle,
)
from tests.share_fixtures import NOTE, SCAN, SCAN_NAME, make_share, shared_profile

STATUS = "document.getElementById('status')"
DRAWN = "document.body.dataset.timelineDrawn"
SETTLED = f"{STATUS}.className && {STATUS}.className !== 'busy' && {STATUS}.textContent"


@dataclass(frozen=True)
class AppShare:
    created: CreatedShare
    noted_title: str


@pytest.fixture(scope="module")
def app_share(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppShare]:
    folder = tmp_path_factory.mktemp("html-share")
    with shared_profile(folder) as profile:
        created = make_share(profile, folder / "for-dr-lung.phrshare", html=True)
        yield AppShare(created, profile.noted_title)


def open_with_key(page: Page, html: Path, key: str) -> str:
    page.open(html)
    page.type_text("#key", key)
    page.press("Enter", 13)
    status = str(page.wait_until(SETTLED))
    if status.startswith("Opened"):
        page.wait_until(DRAWN)
    return status


def text_of(page: Page, selector: str) -> str:
    return str(page.evaluate(f"document.querySelector({json.dumps(selector)}).textContent"))


# --- opening and showing ----------------------------------------------------------------------


def test_the_key_opens_the_page_and_the_banner_names_patient_recipient_and_signer(
    page: Page, app_share: AppShare
) -> None:
    created = app_share.created
    assert created.html is not None
    status = open_with_key(page, created.html, created.key)
    assert status == f"Opened: signature checked, {created.record_count} records."
    assert text_of(page, "#banner-patient") == created.patient_name
    assert text_of(page, "#banner-recipient") == "Dr Lung, pulmonology"
    assert text_of(page, "#banner-fingerprint") == created.fingerprint_display
    assert "The key names this signer" in text_of(page, "#banner-signer")
    assert text_of(page, "#banner-expires") == f"{created.expires_at:%Y-%m-%d %H:%M} UTC"
    assert text_of(page, "#banner-counts") == f"{created.record_count} records, 1 attached files"
    # The key is not left in the form, and the focus moves to what was opened.
    assert page.evaluate("document.getElementById('key').value") == ""
    assert page.evaluate("document.activeElement.id") == "banner-patient"


def test_the_timeline_lists_every_shared_record_by_year_and_month(
    page: Page, app_share: AppShare
) -> None:
    created = app_share.created
    open_with_key(page, created.html or Path(), created.key)
    with open_share_session(created.file, created.key) as session:
        shown_ids = set(session.record_ids())
        app_titles = sorted(s.record.title for s in session.records() if s.id in shown_ids)
        years = sorted({t[0][:4] for t in session.timeline() if t[0][:4].isdigit()}, reverse=True)
    titles = page.evaluate(
        "[...document.querySelectorAll('details.record .title')].map(e => e.textContent)"
    )
    assert len(titles) == created.record_count == len(app_titles)
    assert sorted(t.split(" — ")[0] for t in titles) == app_titles
    assert text_of(page, "#timeline-count") == f"{created.record_count} records"
    shown_years = page.evaluate(
        "[...document.querySelectorAll('section.year > h3')].map(e => e.textContent)"
    )
    assert shown_years == years  # newest year first, as the app's timeline
    first_month = page.evaluate("document.querySelector('li.month > h4').textContent")
    assert first_month.endswith(years[0])
    # A filter narrows the list and says so.
    page.evaluate(
        "const s = document.getElementById('filter-kind'); s.value = 'medication';"
        "s.dispatchEvent(new Event('change'))"
    )
    page.wait_until(DRAWN)
    kinds = page.evaluate(
        "[...document.querySelectorAll('details.record')].map(e => e.dataset.kind)"
    )
    assert kinds and set(kinds) == {"medication"}
    assert text_of(page, "#timeline-count") == f"{len(kinds)} of {created.record_count} records"


def test_a_record_opens_to_its_detail_with_the_patients_note_and_its_source(
    page: Page, app_share: AppShare
) -> None:
    created = app_share.created
    open_with_key(page, created.html or Path(), created.key)
    detail = page.evaluate(
        f"""(() => {{
          const title = {json.dumps(app_share.noted_title)};
          const item = [...document.querySelectorAll('details.record')]
            .find(d => d.querySelector('.title').textContent.startsWith(title));
          item.open = true;
          return new Promise(r => setTimeout(() => r(item.textContent), 50));
        }})()"""
    )
    assert f"Patient's note: {NOTE}" in detail
    assert "Source record (FHIR Observation, as received)" in detail
    assert '"resourceType": "Observation"' in detail


def test_attached_files_can_be_saved(page: Page, app_share: AppShare) -> None:
    created = app_share.created
    open_with_key(page, created.html or Path(), created.key)
    buttons = page.evaluate(
        "[...document.querySelectorAll('#files-body button')].map(b => b.textContent)"
    )
    assert buttons == [f"Save {SCAN_NAME}"]


def test_the_aatd_overview_shows_the_apps_numbers(page: Page, app_share: AppShare) -> None:
    created = app_share.created
    open_with_key(page, created.html or Path(), created.key)
    with open_share_session(created.file, created.key) as session:
        overview = session.views.aatd_overview()
    assert overview.aat is not None and overview.genotype is not None
    latest = overview.aat.trend.points[-1].value
    threshold = overview.aat.trend.threshold
    assert threshold is not None
    assert text_of(page, "#aat-latest").startswith(f"{latest:g} mg/dL")
    where = "Below" if latest < threshold else "At or above"
    assert text_of(page, "#aat-protective").startswith(f"{where} the protective level (57 mg/dL")
    assert page.evaluate("document.querySelectorAll('#aat-chart-t').length") == 1
    assert page.evaluate("document.querySelectorAll('#aat svg .point').length") == len(
        overview.aat.trend.points
    )
    assert page.evaluate("document.querySelectorAll('#aat svg line.threshold').length") == 1
    assert text_of(page, "#genotype-value") == overview.genotype
    slope = overview.fev1_slope_ml_per_year
    assert slope is not None
    assert text_of(page, "#fev1-slope") == f"{abs(slope):.0f} mL/yr"
    assert page.evaluate("document.querySelectorAll('#fev1 svg .point').length") >= 2
    assert text_of(page, "#infusion-count") == f"{len(overview.infusions)} infusions"
    # The overview comes first, before the timeline.
    order = page.evaluate("[...document.querySelectorAll('#content h2')].map(h => h.id)")
    assert order == ["overview-title", "timeline-title", "files-title"]


# --- what the page may not do -----------------------------------------------------------------


def test_the_page_requests_nothing_and_its_csp_forbids_it(page: Page, app_share: AppShare) -> None:
    created = app_share.created
    assert created.html is not None
    open_with_key(page, created.html, created.key)
    page.evaluate("document.querySelectorAll('details.record').forEach(d => d.open = true)")
    assert page.requested_urls() == [created.html.resolve().as_uri()]
    csp = page.evaluate(
        "document.querySelector('meta[http-equiv=\"Content-Security-Policy\"]').content"
    )
    assert csp.startswith("default-src 'none'; script-src 'sha256-")
    # Even script that did get in could not reach the network: the CSP refuses it.
    refused = page.evaluate(
        """new Promise(resolve => {
             document.addEventListener('securitypolicyviolation',
               e => resolve(e.effectiveDirective), {once: true});
             fetch('http://127.0.0.1:9/leak').catch(() => {});
           })"""
    )
    assert refused == "connect-src"
    assert not [u for u in page.requested_urls() if u.startswith(("http:", "https:", "ws"))]
    assert page.console_errors() == [] or all(
        "Content Security Policy" in e for e in page.console_errors()
    )


def test_nothing_is_kept_in_the_browser(page: Page, app_share: AppShare) -> None:
    created = app_share.created
    open_with_key(page, created.html or Path(), created.key)
    kept = page.evaluate(
        """(async () => ({
             local: localStorage.length, session: sessionStorage.length,
             cookie: document.cookie, idb: (await indexedDB.databases()).length,
             caches: (await caches.keys()).length }))()"""
    )
    assert kept == {"local": 0, "session": 0, "cookie": "", "idb": 0, "caches": 0}


# --- refusals, in the app's words ----------------------------------------------------------


def app_refusal(sealed: bytes, key_text: str, now: int) -> str:
    with pytest.raises(ShareError) as refused:
        open_share_bytes(sealed, parse_share_key(key_text), now=now)
    return str(refused.value)


def test_a_wrong_key_is_refused_as_the_app_refuses_it(page: Page, app_share: AppShare) -> None:
    created = app_share.created
    other = new_share_key(created.fingerprint).text()
    status = open_with_key(page, created.html or Path(), other)
    assert status == app_refusal(created.file.read_bytes(), other, int(time.time()))
    assert page.evaluate("document.body.dataset.refusal") == "wrong-key"
    assert page.evaluate("document.getElementById('content').hidden") is True


def test_a_typo_names_its_group(page: Page, app_share: AppShare) -> None:
    created = app_share.created
    groups = created.key.split("-")
    groups[2] = groups[2][:1] + ("X" if groups[2][1] != "X" else "Y") + groups[2][2:]
    typo = "-".join(groups)
    status = open_with_key(page, created.html or Path(), typo.lower())
    assert status == "Group 3 of the key has a typo. Check it against the patient's hand-out."
    with pytest.raises(ShareError, match="Group 3 of the key has a typo"):
        parse_share_key(typo)


def test_a_changed_byte_is_refused(page: Page, app_share: AppShare, tmp_path: Path) -> None:
    created = app_share.created
    sealed = created.file.read_bytes()
    at = sealed.rindex(b".") - 40  # inside the ciphertext
    changed = sealed[:at] + (b"A" if sealed[at : at + 1] != b"A" else b"B") + sealed[at + 1 :]
    html = tmp_path / "changed.html"
    html.write_bytes(html_share_bytes(changed))
    status = open_with_key(page, html, created.key)
    assert status == app_refusal(changed, created.key, int(time.time()))
    assert "changed after it was made" in status


@pytest.mark.parametrize(
    ("window", "words"),
    [
        ({"nbf": -7200, "exp": -3600}, "This share has expired"),
        ({"nbf": 3600, "exp": 7200}, "This share is not valid yet"),
    ],
)
def test_outside_its_validity_window_it_is_refused(
    page: Page, tmp_path: Path, window: dict[str, int], words: str
) -> None:
    now = int(time.time())
    claims = claims_for(now, 3, **{k: now + v for k, v in window.items()})
    made = make_html_share(tmp_path, "dated", claims, observation_bundle(3))
    status = open_with_key(page, made.html, made.key_text)
    assert status == app_refusal(made.sealed, made.key_text, now)
    assert status.startswith(words)
    assert page.evaluate("document.body.dataset.refusal") == "expired"


def test_a_share_re_signed_by_someone_else_is_refused(page: Page, tmp_path: Path) -> None:
    patient = new_signer()
    key = new_share_key(fingerprint(patient))
    now = int(time.time())
    # Whoever has the key can decrypt and re-seal with a key of their own; the key still
    # names the patient's signer, so the page refuses it.
    made = make_html_share(
        tmp_path,
        "resigned",
        claims_for(now, 3),
        observation_bundle(3),
        signer=new_signer(),
        key=key,
    )
    status = open_with_key(page, made.html, made.key_text)
    assert status == app_refusal(made.sealed, made.key_text, now)
    assert "re-signed" in status
    assert page.evaluate("document.body.dataset.refusal") == "signer"


def test_a_key_of_the_old_kind_opens_but_says_it_names_no_signer(
    page: Page, tmp_path: Path
) -> None:
    key = ShareKey(b"\x07" * 32, None)
    made = make_html_share(
        tmp_path, "legacy", claims_for(int(time.time()), 3), observation_bundle(3), key=key
    )
    assert made.key_text == b64url(key.secret)
    status = open_with_key(page, made.html, made.key_text)
    assert status == "Opened: signature checked, 3 records."
    assert "does not name the signer" in text_of(page, "#banner-signer")


def test_a_passcode_share_asks_for_it_and_refuses_without_it_as_the_app_does(
    page: Page, tmp_path: Path
) -> None:
    now = int(time.time())
    made = make_html_share(
        tmp_path, "passcode", claims_for(now, 3), observation_bundle(3), passcode="tulip 42"
    )
    key = parse_share_key(made.key_text)
    for passcode, outcome in ((None, "passcode"), ("tulip 43", "wrong-key")):
        page.open(made.html)
        assert page.evaluate("document.getElementById('passcode-row').hidden") is False
        page.type_text("#key", made.key_text)
        if passcode:
            page.type_text("#passcode", passcode)
        page.press("Enter", 13)
        with pytest.raises(ShareError) as refused:
            open_share_bytes(made.sealed, key, now=now, passcode=passcode)
        assert page.wait_until(SETTLED) == str(refused.value)
        assert page.evaluate("document.body.dataset.refusal") == outcome
    page.open(made.html)
    page.type_text("#key", made.key_text)
    page.type_text("#passcode", "  tulip 42 ")  # spaces around it do not matter, as in the app
    page.press("Enter", 13)
    assert page.wait_until(SETTLED) == "Opened: signature checked, 3 records."
    assert page.evaluate("document.getElementById('passcode').value") == ""
    assert open_share_bytes(made.sealed, key, now=now, passcode="tulip 42").claims


def test_an_argon2id_passcode_share_says_it_needs_the_app(page: Page, tmp_path: Path) -> None:
    made = make_html_share(
        tmp_path, "argon", claims_for(int(time.time()), 3), observation_bundle(3),
        passcode="tulip-42", browser=False,
    )  # fmt: skip
    page.open(made.html)
    assert page.evaluate("document.body.dataset.refusal") == "passcode"
    assert "can only be checked by the phr-desktop app" in text_of(page, "#status")
    assert page.evaluate("document.getElementById('passcode-row').hidden") is True
    page.type_text("#key", made.key_text)
    page.press("Enter", 13)
    assert "Argon2id" in page.wait_until(SETTLED)


# --- use -----------------------------------------------------------------------------------------


def test_keyboard_alone_reaches_the_key_and_opens(page: Page, tmp_path: Path) -> None:
    made = make_html_share(tmp_path, "keys", claims_for(int(time.time()), 3), observation_bundle(3))
    page.open(made.html)
    page.press("Tab", 9)  # the skip link
    page.press("Tab", 9)
    assert page.evaluate("document.activeElement.id") == "key"
    page.send("Input.insertText", {"text": made.key_text.replace("-", " ")})
    page.press("Enter", 13)
    assert page.wait_until(SETTLED) == "Opened: signature checked, 3 records."
    labelled = page.evaluate(
        "[...document.querySelectorAll('input, select')].every(i => i.labels && i.labels.length)"
    )
    assert labelled
    assert page.evaluate("document.getElementById('status').getAttribute('role')") == "status"


def test_printing_leaves_out_the_form_and_buttons(page: Page, tmp_path: Path) -> None:
    made = make_html_share(
        tmp_path, "print", claims_for(int(time.time()), 3), observation_bundle(3)
    )
    open_with_key(page, made.html, made.key_text)
    page.send("Emulation.setEmulatedMedia", {"media": "print"})
    shown = page.evaluate(
        "['unlock', 'print-button', 'timeline-body', 'overview'].map("
        "id => getComputedStyle(document.getElementById(id)).display)"
    )
    assert shown[0] == shown[1] == "none"
    assert shown[2] != "none" and shown[3] != "none"


def test_five_thousand_records_open_and_paint_within_two_seconds(
    page: Page, tmp_path: Path
) -> None:
    made = make_html_share(
        tmp_path, "big", claims_for(int(time.time()), 5000), observation_bundle(5000)
    )
    page.open(made.html)
    page.type_text("#key", made.key_text)
    page.press("Enter", 13)
    elapsed = int(page.wait_until("document.body.dataset.openedMs"))
    assert text_of(page, "#status") == "Opened: signature checked, 5000 records."
    assert elapsed < 2000, f"{elapsed} ms from the key to the first paint"
    assert text_of(page, "#timeline-count") == "5000 records"
    page.wait_until(DRAWN)
    assert page.evaluate("document.querySelectorAll('details.record').length") == 5000


def test_the_key_is_checked_group_by_group_while_it_is_typed(page: Page, tmp_path: Path) -> None:
    made = make_html_share(
        tmp_path, "typing", claims_for(int(time.time()), 3), observation_bundle(3)
    )
    page.open(made.html)
    groups = made.key_text.split("-")
    page.type_text("#key", f"{groups[0]} {groups[1].lower()}-")
    assert text_of(page, "#key-check") == "2 of 10 groups typed, no typo so far."
    wrong = groups[2][:4] + ("0" if groups[2][4] != "0" else "1")
    page.send("Input.insertText", {"text": wrong})
    assert text_of(page, "#key-check") == (
        "Group 3 of the key has a typo. Check it against the patient's hand-out."
    )


def test_a_share_that_expires_while_open_stays_with_a_warning(page: Page, tmp_path: Path) -> None:
    now = int(time.time())
    made = make_html_share(
        tmp_path, "expiring", claims_for(now, 3, exp=now + 3), observation_bundle(3)
    )
    assert open_with_key(page, made.html, made.key_text).startswith("Opened")
    assert page.evaluate("document.getElementById('banner-expired').hidden") is True
    warning = page.wait_until(
        "!document.getElementById('banner-expired').hidden &&"
        " document.getElementById('banner-expired').textContent",
        timeout=15,
    )
    assert warning.startswith("This share expired on ")
    assert "opening the file again will be refused" in warning
    assert page.evaluate("document.querySelectorAll('details.record').length") == 3


def test_saving_an_attached_file_writes_its_bytes_and_requests_nothing(
    page: Page, app_share: AppShare, tmp_path: Path
) -> None:
    created = app_share.created
    assert created.html is not None
    open_with_key(page, created.html, created.key)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    page.browser.send(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    page.evaluate("document.querySelector('#files-body button').click()")
    deadline = time.monotonic() + 20
    saved = downloads / SCAN_NAME
    while not (saved.is_file() and saved.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert saved.read_bytes() == SCAN
    remote = [u for u in page.requested_urls() if not u.startswith(("file:", "blob:"))]
    assert remote == []


def test_oddly_shaped_records_still_show_and_the_rest_with_them(page: Page, tmp_path: Path) -> None:
    bundle = observation_bundle(2)
    odd: list[object] = [
        None,
        "not an entry",
        {"resource": None},
        {"fullUrl": "__proto__", "resource": {"resourceType": "Condition", "category": {"x": 1},
         "code": "asthma", "onsetDateTime": 2020, "performer": "nobody", "meta": "x"}},
        {"resource": {"resourceType": "Observation", "code": {"coding": "none"},
         "valueQuantity": {"value": "7", "unit": 5}, "effectivePeriod": {"start": "soon"}}},
        {"resource": {"resourceType": "MedicationAdministration", "dosage": {"dose": "lots"},
         "medicationReference": "x", "effectiveDateTime": "2021-01-02"}},
        {"resource": {"resourceType": "DocumentReference",
         "type": {"coding": [{"code": "51855-5"}]},
         "context": {"related": "urn:uuid:o1"}, "content": [None]}},
        {"resource": {"resourceType": "Binary", "securityContext": {"reference": "__proto__"},
         "extension": "x", "data": "AAAA"}},
        {"resource": {"resourceType": "Patient", "name": ["Jo"]}},
    ]  # fmt: skip
    bundle["entry"] = [*bundle["entry"], *odd]
    made = make_html_share(tmp_path, "odd", claims_for(int(time.time()), 5), bundle)
    assert open_with_key(page, made.html, made.key_text) == "Opened: signature checked, 5 records."
    titles = page.evaluate(
        "[...document.querySelectorAll('details.record .title')].map(e => e.textContent)"
    )
    assert len(titles) == 5 and "Condition" in titles and "MedicationAdministration" in titles
    assert page.evaluate("({}).resourceType === undefined")
    assert page.evaluate("document.querySelectorAll('#files-body button').length") == 1


def axe_violations(page: Page, axe_source: str) -> list[str]:
    # DevTools evaluation is not subject to the page's CSP; the page itself could not load it.
    page.evaluate(axe_source)
    found = page.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map("
        "v => v.impact + ' ' + v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', ')))"
    )
    return list(found)


def test_axe_finds_no_accessibility_violations_before_or_after_the_key(
    page: Page, app_share: AppShare, axe_source: str
) -> None:
    created = app_share.created
    assert created.html is not None
    page.open(created.html)
    assert axe_violations(page, axe_source) == []
    open_with_key(page, created.html, created.key)
    page.evaluate("document.querySelector('details.record').open = true")
    assert axe_violations(page, axe_source) == []


def test_a_view_only_share_lists_its_files_without_saving_and_says_why(
    page: Page, tmp_path: Path
) -> None:
    with shared_profile(tmp_path) as profile:
        created = make_share(profile, tmp_path / "view-only.phrshare", html=True, allow_save=False)
    open_with_key(page, created.html or Path(), created.key)
    assert page.evaluate("document.querySelectorAll('#files-body button').length") == 0
    assert text_of(page, "#files-body .file-name") == SCAN_NAME
    assert "determined recipient can still copy" in text_of(page, "#files-view-only")
