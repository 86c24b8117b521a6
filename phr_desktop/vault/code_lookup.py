"""Find records by code without reading every record: through the full-text index.

The index's `codes` column holds every record's bare codes (`codes_text`), so FTS5 is an
inverted index of codes that costs nothing more to keep. A lookup takes its candidates there
(a few index pages, where an `instr` over the codes JSON read every lab result: 0.03 s at 100k
records, and once per screen section) and the caller's exact `instr` test keeps only records
that really carry the code: the index may offer a record whose display text holds the same
words, never miss one that carries the code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Words the index's tokenizer (unicode61) keeps: letters and digits. A code without any
# ("_", "--") would be an empty phrase that matches nothing.
_INDEXED_WORD = re.compile(r"[^\W_]")

# Joins the candidates to `records r`. A caller that also tests `r.kind` writes `+r.kind`:
# else SQLite scans the kind index instead (it cannot tell that the index answer is small).
CANDIDATES_SQL = "r.id IN (SELECT rowid FROM search_index WHERE search_index MATCH ?)"


def codes_match_expression(codes: Sequence[str]) -> str | None:
    """`codes : ("1825-9" OR "20150-9")`: records whose codes hold any of these codes as a
    phrase (the tokenizer splits "1825-9" as it split the record's). None when a code has
    no word the index holds: the caller reads without the index then."""
    if not codes or not all(_INDEXED_WORD.search(code) for code in codes):
        return None
    phrases = " OR ".join('"' + code.replace('"', '""') + '"' for code in codes)
    return f"codes : ({phrases})"
