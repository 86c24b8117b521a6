"""How strong a new passphrase is: zxcvbn's estimate, or a character-count one without it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# zxcvbn (optional: a far better estimate than counting characters) is loaded on the first
# passphrase typed, not at start: importing it compiles ~0.1 s of dictionaries and patterns
# that opening an existing profile never needs.
_NOT_LOADED = object()
_zxcvbn: Any = _NOT_LOADED


def _strength_estimator() -> Any:
    """zxcvbn's estimator, imported on first use; None when the package is absent."""
    global _zxcvbn
    if _zxcvbn is _NOT_LOADED:
        try:
            from zxcvbn import zxcvbn as estimator
        except ImportError:  # pragma: no cover - exercised when the package is absent
            estimator = None
        _zxcvbn = estimator
    return _zxcvbn


MIN_SCORE = 3  # zxcvbn's "safely unguessable"; with Argon2id at ~0.5 s a guess costs dearly
_SCORE_LABELS = ("Very weak", "Weak", "Fair", "Strong", "Very strong")


@dataclass(frozen=True)
class Strength:
    score: int  # 0..4
    feedback: str

    @property
    def label(self) -> str:
        return _SCORE_LABELS[self.score]

    @property
    def acceptable(self) -> bool:
        return self.score >= MIN_SCORE


def passphrase_strength(passphrase: str, user_inputs: tuple[str, ...] = ()) -> Strength:
    if not passphrase:
        return Strength(0, "Choose a passphrase: four or more unrelated words work well.")
    estimator = _strength_estimator()
    if estimator is not None:
        result = estimator(passphrase[:100], user_inputs=list(user_inputs))
        feedback = result["feedback"]
        parts = [feedback.get("warning") or "", *feedback.get("suggestions", [])]
        text = " ".join(p for p in parts if p)
        if not text and result["score"] >= MIN_SCORE:
            slow = result["crack_times_display"]["offline_slow_hashing_1e4_per_second"]
            text = f"Would take {slow} to guess offline."
        return Strength(int(result["score"]), text)
    return _entropy_strength(passphrase)


def _entropy_strength(passphrase: str) -> Strength:
    """A rough estimate when zxcvbn is missing: character-set entropy, repeats discounted."""
    pools = [
        (any(c.islower() for c in passphrase), 26),
        (any(c.isupper() for c in passphrase), 26),
        (any(c.isdigit() for c in passphrase), 10),
        (any(not c.isalnum() for c in passphrase), 33),
    ]
    pool = sum(size for present, size in pools if present) or 1
    distinct = len(set(passphrase))
    bits = min(len(passphrase), distinct * 2) * math.log2(pool)
    score = 0 if bits < 28 else 1 if bits < 36 else 2 if bits < 50 else 3 if bits < 70 else 4
    hint = "" if score >= MIN_SCORE else "Make it longer: four or more unrelated words work well."
    return Strength(score, hint)
