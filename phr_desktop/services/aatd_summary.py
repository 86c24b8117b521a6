"""What the AATD summaries are made of, read narrowly: the records milestones can come from,
the augmentation infusions, the newest genotype result.

The AATD pack decides as it always did, but once per distinct kind, title and codes rather
than once per record (at 500k Synthea records, thousands of prescriptions name a few hundred
medicines), on narrow rows (vault/summary_reads.py); only the records it keeps are built in
full. Results and their order are those of reading every candidate record in full.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson

from phr_desktop.domain.aatd import AatdPack
from phr_desktop.domain.records import Code, RecordKind
from phr_desktop.services.terminology import aatd_pack
from phr_desktop.vault.queries import RecordQueries
from phr_desktop.vault.stored_record import StoredRecord
from phr_desktop.vault.summary_reads import CodedRow, SummaryReads

_LAB = RecordKind.LAB_RESULT.value


def _memoised(decide: Callable[[str, tuple[Code, ...], str], bool]) -> Callable[[CodedRow], bool]:
    """`decide(kind, codes, title)` once per distinct (kind, title, codes JSON)."""
    decided: dict[tuple[str, str, str], bool] = {}

    def check(row: CodedRow) -> bool:
        key = (row.kind, row.title, row.codes_json)
        found = decided.get(key)
        if found is None:
            codes = tuple(Code(*c) for c in orjson.loads(row.codes_json))
            found = decided[key] = decide(row.kind, codes, row.title)
        return found

    return check


def _may_be_milestone(pack: AatdPack) -> Callable[[CodedRow], bool]:
    """The diagnoses and drugs `find_milestones` looks at (domain/milestones.py)."""

    def decide(kind: str, codes: tuple[Code, ...], title: str) -> bool:
        if kind == RecordKind.PROBLEM.value:
            return pack.is_aatd_diagnosis(codes, title) or pack.is_copd(codes, title)
        return kind == RecordKind.MEDICATION.value and pack.is_augmentation(codes, title)

    return _memoised(decide)


def milestone_sources(queries: RecordQueries) -> list[StoredRecord]:
    """Every record a milestone can come from, in the order milestones break ties by:
    diagnoses and drugs newest first, then admissions, surgery, FEV1 results."""
    pack = aatd_pack()
    reads = SummaryReads(queries)
    may_be = _may_be_milestone(pack)
    ids = [
        row.id
        for row in reads.coded_rows((RecordKind.PROBLEM.value, RecordKind.MEDICATION.value))
        if may_be(row)
    ]
    ids += reads.ids_of_class(
        RecordKind.ENCOUNTER.value, sorted(pack.inpatient_classes | pack.emergency_classes)
    )
    ids += reads.ids_of_class(RecordKind.PROCEDURE.value, sorted(pack.surgery_categories))
    return [*queries.records_by_ids(ids), *fev1_results(queries)]


def fev1_results(queries: RecordQueries) -> list[StoredRecord]:
    """Lab results carrying an FEV1 code, newest first (through the code index)."""
    return queries.of_kind_with_codes(_LAB, aatd_pack().codes_of_set("fev1"))


def augmentation_infusions(queries: RecordQueries) -> list[StoredRecord]:
    """Augmentation administrations, newest first."""
    pack = aatd_pack()
    is_augmentation = _memoised(lambda _kind, codes, title: pack.is_augmentation(codes, title))
    rows = SummaryReads(queries).coded_rows(
        (RecordKind.MEDICATION.value,), category="administration"
    )
    return queries.records_by_ids([row.id for row in rows if is_augmentation(row)])


def newest_genotype(queries: RecordQueries) -> tuple[str, StoredRecord] | None:
    """The newest lab result whose text is an AAT genotype or phenotype, and that genotype.
    Each distinct text is parsed once; the newest record holding one that parses is read."""
    pack = aatd_pack()
    reads = SummaryReads(queries)
    texts = [t for t in reads.distinct_text_values(_LAB) if pack.genotype_of(t)]
    record_id = reads.newest_with_text_value(_LAB, texts)
    stored = queries.record(record_id) if record_id is not None else None
    if stored is None or stored.record.value is None:
        return None
    genotype = pack.genotype_of(stored.record.value.text)
    return (genotype, stored) if genotype else None
