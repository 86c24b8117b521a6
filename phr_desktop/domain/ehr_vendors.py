"""The EHR vendors behind the provider directory, and where an app registers with each.

A SMART client id is issued per vendor (per app registration), not per hospital: one id
entered for "Epic" serves every Epic organisation. The URLs are the vendors' public developer
portals; the README's "Registering phr-desktop with a vendor" section explains the steps.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EhrVendor:
    code: str  # the directory's ehr-vendor code
    name: str  # as a patient knows it
    registration_url: str
    how_to_register: str  # one plain sentence


VENDORS: dict[str, EhrVendor] = {
    v.code: v
    for v in (
        EhrVendor(
            "epic", "Epic", "https://fhir.epic.com/Developer/Apps",
            "Sign up at Epic on FHIR, create a patient-facing app for FHIR R4 with this "
            "computer's loopback redirect (http://127.0.0.1), and copy its production client "
            "id; Epic then distributes it to the organisations.",
        ),
        EhrVendor(
            "oracle", "Oracle Health (Cerner)", "https://code-console.cerner.com",
            "Create a patient app (public, SMART R4, offline access) in Oracle Health's Code "
            "Console and copy its client id.",
        ),
        EhrVendor(
            "ecw", "eClinicalWorks (healow)", "https://connect4.healow.com",
            "Create a developer account at healow connect, register a patient app with the FHIR "
            "scopes it needs, and copy its client id.",
        ),
        EhrVendor(
            "athena", "athenahealth", "https://developer.api.athena.io",
            "Register a patient-access (SMART) app in athenahealth's developer portal and "
            "copy its client id.",
        ),
        EhrVendor(
            "va", "VA (Veterans Affairs)", "https://developer.va.gov",
            "Apply for the Patient Health API at VA Lighthouse; production access needs VA's "
            "approval.",
        ),
        EhrVendor(
            "meditech", "MEDITECH", "https://fhir.meditech.com",
            "Register the app through MEDITECH's Greenfield / FHIR developer programme and copy "
            "its client id.",
        ),
        EhrVendor(
            "greenway", "Greenway Health", "https://developers.greenwayhealth.com",
            "Register a patient-access app at Greenway's developer portal and copy its client id.",
        ),
        EhrVendor(
            "nextgen", "NextGen Healthcare", "https://www.nextgen.com/api",
            "Register a patient-access app in NextGen's API programme and copy its client id.",
        ),
        EhrVendor(
            "altera", "Altera (Sunrise, Paragon, TouchWorks)", "https://www.alterahealth.com",
            "Ask Altera's developer programme for a patient-access app registration.",
        ),
        EhrVendor(
            "practicefusion", "Practice Fusion", "https://www.practicefusion.com/fhir/",
            "Register a patient app with Practice Fusion's FHIR programme and copy its client "
            "id.",
        ),
        EhrVendor(
            "modmed", "Modernizing Medicine", "https://www.modmed.com",
            "Ask ModMed's API programme for a patient-access app registration.",
        ),
        EhrVendor(
            "officepracticum", "Office Practicum", "https://www.officepracticum.com",
            "Ask Office Practicum for a patient-access app registration.",
        ),
        EhrVendor(
            "azalea", "Azalea Health", "https://www.azaleahealth.com",
            "Ask Azalea Health for a patient-access app registration.",
        ),
        EhrVendor(
            "firstinsight", "First Insight (MaximEyes)", "https://www.first-insight.com",
            "Ask First Insight for a patient-access app registration.",
        ),
        EhrVendor(
            "ihs", "Indian Health Service", "https://www.ihs.gov",
            "Ask the Indian Health Service for a patient-access app registration.",
        ),
        EhrVendor(
            "smarthealthit", "SMART Health IT (test)", "https://launch.smarthealthit.org",
            "The public SMART test launcher accepts any client id (e.g. phr-desktop).",
        ),
    )
}  # fmt: skip

UNKNOWN_VENDOR = EhrVendor(
    "", "Other", "", "Ask the provider's IT or patient-portal team for a registered app id."
)


def vendor(code: str) -> EhrVendor:
    """The vendor for a directory code; an unknown code is named as it is."""
    known = VENDORS.get(code)
    if known is not None:
        return known
    return UNKNOWN_VENDOR if not code else EhrVendor(code, code, "", UNKNOWN_VENDOR.how_to_register)


def vendor_codes_matching(text: str) -> set[str]:
    """Codes whose code or name starts with `text` (any word, any case): "oracle", "cerner",
    "healow" and "ecw" all find their vendor."""
    wanted = text.strip().casefold()
    if not wanted:
        return set(VENDORS)
    found = set()
    for v in VENDORS.values():
        words = [v.code, *v.name.casefold().replace("(", " ").replace(")", " ").split()]
        if any(w.startswith(wanted) for w in words) or v.name.casefold().startswith(wanted):
            found.add(v.code)
    return found
