"""An imaging study as the patient reads it: what kind of scan, of what, when, how big, and
which report reads it. Only the study's description is kept: never pixel data (DICOM images
stay with the source; `ImagingStudy.endpoint` is not followed)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from phr_desktop.domain.codes import DICOM as DICOM_SYSTEM  # noqa: F401  (re-exported)
from phr_desktop.domain.codes import display_of

# The DICOM modality codes patients meet most, in their words (the source's display wins).
MODALITY_NAMES: dict[str, str] = {
    "CT": "CT scan",
    "MR": "MRI",
    "US": "Ultrasound",
    "CR": "X-ray",
    "DX": "X-ray",
    "XA": "X-ray angiography",
    "RF": "Fluoroscopy",
    "MG": "Mammography",
    "NM": "Nuclear medicine",
    "PT": "PET scan",
    "OT": "Other imaging",
    "ECG": "ECG",
    "IVUS": "Intravascular ultrasound",
    "OCT": "Optical coherence tomography",
    "BMD": "Bone density scan",
}


@dataclass(frozen=True)
class ImagingSummary:
    """What an ImagingStudy says about itself (counts are None when the source gives none)."""

    modalities: tuple[str, ...]  # patient words, each once ("CT scan", "MRI")
    modality_codes: tuple[str, ...]  # DICOM codes as sent ("CT")
    body_sites: tuple[str, ...]
    series: int | None
    images: int | None
    description: str | None

    @property
    def size_text(self) -> str:
        """ "2 series, 310 images"; "" when the source counts neither."""
        parts = []
        if self.series is not None:
            parts.append(f"{self.series} series")
        if self.images is not None:
            parts.append(f"{self.images} image" + ("" if self.images == 1 else "s"))
        return ", ".join(parts)


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _modality_name(coding: Mapping[str, Any]) -> str | None:
    code = _text(coding.get("code"))
    return _text(coding.get("display")) or MODALITY_NAMES.get(code or "", code)


def imaging_summary(study: Mapping[str, Any]) -> ImagingSummary:
    """Read modality, body site and size from a study and its series; lenient on odd shapes."""
    series = _dicts(study.get("series"))
    modality_codings = [*_dicts(study.get("modality")), *(
        s["modality"] for s in series if isinstance(s.get("modality"), dict)
    )]  # fmt: skip
    names = [n for n in (_modality_name(c) for c in modality_codings) if n]
    codes = [c for c in (_text(c.get("code")) for c in modality_codings) if c]
    sites: list[str] = []
    for s in series:
        site = display_of(s.get("bodySite")) or None
        side = display_of(s.get("laterality")) or None
        if site:
            sites.append(f"{site} ({side.lower()})" if side else site)
    series_count = _count(study.get("numberOfSeries"))
    if series_count is None and series:
        series_count = len(series)
    images = _count(study.get("numberOfInstances"))
    if images is None and series:
        per_series = [
            _count(s.get("numberOfInstances")) or len(_dicts(s.get("instance"))) for s in series
        ]
        images = sum(per_series) if any(per_series) else None
    return ImagingSummary(
        modalities=tuple(dict.fromkeys(names)),
        modality_codes=tuple(dict.fromkeys(codes)),
        body_sites=tuple(dict.fromkeys(sites)),
        series=series_count,
        images=images,
        description=_text(study.get("description")),
    )


def imaging_title(study: Mapping[str, Any], summary: ImagingSummary) -> str:
    """The study's own description, else its procedure, else "CT scan of the chest"."""
    procedure = next((display_of(c) for c in _dicts(study.get("procedureCode"))), "")
    if summary.description or procedure:
        return summary.description or procedure
    what = " and ".join(summary.modalities) or "Imaging study"
    return f"{what} of the {summary.body_sites[0].lower()}" if summary.body_sites else what


def _references(references: Iterable[Any]) -> set[str]:
    """Literal references as "Type/id" (a full URL's last two segments)."""
    out = set()
    for ref in references:
        text = _text(ref.get("reference")) if isinstance(ref, dict) else None
        if text and "/" in text:
            parts = text.split("/_history", 1)[0].rstrip("/").split("/")
            out.add("/".join(parts[-2:]))
    return out


def report_reads_study(report: Mapping[str, Any], study: Mapping[str, Any]) -> bool:
    """A DiagnosticReport that reads this study: it names the study (`imagingStudy`), or both
    fulfil the same order (`basedOn` a shared ServiceRequest)."""
    study_id = _text(study.get("id"))
    if study_id and f"ImagingStudy/{study_id}" in _references(_dicts(report.get("imagingStudy"))):
        return True
    orders = _references(_dicts(study.get("basedOn")))
    return bool(orders & _references(_dicts(report.get("basedOn"))))
