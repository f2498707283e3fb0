"""A short critique in plain words, built only from figures: two works against each other and
against a reference set (the bundled paintings and photos, a user's gallery, a corpus of tunes).

Every sentence names the figure it rests on and the numbers, and follows a fixed rule:

1. **Differences.** The features on which the two works differ most, measured in units of the
   reference's spread (its interquartile range, so one extreme reference work does not set the
   scale), largest first; only differences of at least half that spread are told.
2. **What stands out.** A work's figure outside the middle 90% of the reference (below its 5th or
   above its 95th percentile) is told with its percentile.
3. When neither rule finds anything, that is said, rather than inventing a remark.

>>> reference = [{"brightness": b / 10} for b in range(11)]
>>> for line in critique({"brightness": 0.9}, {"brightness": 0.2}, reference, names=("A", "B")):
...     print(line)
A is brighter than B: brightness 0.9 against 0.2 (the middle half of the reference lies between 0.25 and 0.75).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from atelier.errors import AtelierError

# How a feature reads in words: (what it is, "A is … than B" when higher, when lower).
WORDS: dict[str, tuple[str, str, str]] = {
    # pictures (atelier.analysis.images)
    "brightness": ("brightness", "brighter", "darker"),
    "contrast": ("contrast", "higher in contrast", "flatter in contrast"),
    "colourfulness": ("colourfulness", "more colourful", "less colourful"),
    "saturation": ("saturation", "more saturated", "less saturated"),
    "edge_density": ("edge density", "busier with edges", "smoother"),
    "entropy": ("tonal entropy", "more varied in tone", "more uniform in tone"),
    "symmetry": ("left-right symmetry", "more symmetric", "less symmetric"),
    "balance": ("balance of the salient parts", "better balanced", "less balanced"),
    "thirds": ("rule-of-thirds score", "closer to the rule of thirds", "further from the rule of thirds"),
    "fractal_dimension": ("fractal dimension of the edges", "more intricate", "simpler in its lines"),
    # melodies (atelier.analysis.melodies)
    "note_density": ("notes per bar", "denser", "sparser"),
    "pitch_range": ("range in semitones", "wider in range", "narrower in range"),
    "mean_interval": ("mean interval in semitones", "leapier", "smoother in its steps"),
    "leap_share": ("share of leaps", "leapier", "more stepwise"),
    "step_share": ("share of steps", "more stepwise", "less stepwise"),
    "repeat_share": ("share of repeated notes", "more given to repeated notes", "less given to repeated notes"),
    "largest_interval": ("largest interval in semitones", "bolder in its largest leap", "tamer in its largest leap"),
    "syncopation": ("syncopation", "more syncopated", "less syncopated"),
    "repeated_bar_share": ("share of bars that repeat an earlier one", "more repetitive", "less repetitive"),
    "mean_bar_similarity": ("mean bar-to-bar similarity", "more self-similar", "less self-similar"),
    "distinct_phrases": ("number of distinct phrases", "more varied in its phrases", "less varied in its phrases"),
    "key_scale_consistency": ("share of note time in the key's scale", "more firmly in key", "more chromatic"),
    "scale_consistency": ("best fit to any one scale", "more diatonic", "less diatonic"),
    "pitch_class_entropy": ("pitch-class entropy", "more varied in pitch classes", "plainer in pitch classes"),
    "key_confidence": ("key confidence", "clearer in key", "more ambiguous in key"),
    "key_correlation": ("correlation with its key's profile", "closer to its key's profile",
                        "further from its key's profile"),
    "window_key_changes": ("key changes over 4-bar windows", "more modulating", "more settled in key"),
    "empty_beat_rate": ("share of silent beats", "more given to rests", "less given to rests"),
    "groove_consistency": ("groove consistency", "steadier in rhythm", "less steady in rhythm"),
    "highest_pitch": ("highest note (MIDI pitch)", "climbs higher", "stays lower"),
    "lowest_pitch": ("lowest note (MIDI pitch)", "stays higher at the bottom", "dips lower"),
}


# Figures that describe a work's size or a yes/no, not a quality to compare by degree.
NOT_CRITIQUED = frozenset({"num_bars", "num_notes", "minor_mode", "width", "height"})


@dataclass(frozen=True)
class Standing:
    """Where one figure of a work lies in the reference."""

    name: str
    value: float
    percentile: float  # share of reference works with a lower figure (ties count half), 0..100
    q1: float
    median: float
    q3: float


def words(name: str) -> tuple[str, str, str]:
    label = name.replace("_", " ")
    return WORDS.get(name, (label, f"higher in {label}", f"lower in {label}"))


def _fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def standings(numbers: Mapping[str, float], reference: Sequence[Mapping[str, float]]) -> dict[str, Standing]:
    """Each figure of ``numbers`` that the reference has too, placed in the reference."""
    out = {}
    for name, value in numbers.items():
        if name in NOT_CRITIQUED:
            continue
        ref = np.array([r[name] for r in reference if name in r and np.isfinite(r[name])], dtype=np.float64)
        if len(ref) < 3 or not np.isfinite(value):
            continue
        below, equal = float((ref < value).sum()), float((ref == value).sum())
        q1, median, q3 = np.percentile(ref, [25, 50, 75])
        out[name] = Standing(name, float(value), 100.0 * (below + equal / 2) / len(ref), float(q1), float(median),
                             float(q3))
    return out


def _spread(reference: Sequence[Mapping[str, float]], name: str) -> float:
    ref = np.array([r[name] for r in reference if name in r and np.isfinite(r[name])], dtype=np.float64)
    q1, q3 = np.percentile(ref, [25, 75])
    spread = q3 - q1
    return float(spread if spread > 0 else ref.std())


def _share(percentile: float, above: bool, reference_name: str) -> str:
    share = percentile if above else 100 - percentile
    # floored, so "99%" is never shown as "100%" when one reference work lies beyond
    return f"every one of {reference_name}" if share >= 100 else f"{math.floor(share)}% of {reference_name}"


def critique(a: Mapping[str, float], b: Mapping[str, float] | None, reference: Sequence[Mapping[str, float]], *,
             names: tuple[str, str] = ("A", "B"), limit: int = 3, reference_name: str = "the reference") -> list[str]:
    """Sentences comparing work ``a`` with work ``b`` (or describing ``a`` alone when ``b`` is None)
    against ``reference``: figures by name, as :meth:`numbers` of the analyses give them. At most
    ``limit`` differences, and at most two outstanding figures per work (not those already told)."""
    if len(reference) < 3:
        raise AtelierError(f"{reference_name}: {len(reference)} works; a critique needs at least 3 to compare with")
    sentences: list[str] = []
    told: set[str] = set()
    # 1. differences between the two, in units of the reference's spread
    if b is not None:
        gaps = []
        for name in a:
            if name in NOT_CRITIQUED or name not in b or not (np.isfinite(a[name]) and np.isfinite(b[name])):
                continue
            if sum(1 for r in reference if name in r) < 3:
                continue
            spread = _spread(reference, name)
            if spread > 0 and abs(a[name] - b[name]) >= 0.5 * spread:
                gaps.append((abs(a[name] - b[name]) / spread, name))
        for _, name in sorted(gaps, reverse=True)[:limit]:
            label, higher, lower = words(name)
            ref = standings({name: a[name]}, reference)[name]
            told.add(name)
            sentences.append(f"{names[0]} is {higher if a[name] > b[name] else lower} than {names[1]}: {label} "
                             f"{_fmt(a[name])} against {_fmt(b[name])} (the middle half of {reference_name} lies "
                             f"between {_fmt(ref.q1)} and {_fmt(ref.q3)}).")
    # 2. what stands out from the reference
    for who, numbers in ((names[0], a), (names[1], b)):
        if numbers is None:
            continue
        outliers = [s for s in standings(numbers, reference).values()
                    if s.name not in told and (s.percentile < 5 or s.percentile > 95)]
        for s in sorted(outliers, key=lambda s: -abs(s.percentile - 50))[:2]:
            label, higher, lower = words(s.name)
            above = s.percentile > 95
            sentences.append(f"{who} stands out as {higher if above else lower}: {label} {_fmt(s.value)}, "
                             f"{'above' if above else 'below'} {_share(s.percentile, above, reference_name)} "
                             f"(median {_fmt(s.median)}).")
    # 3. nothing to say is said plainly
    if not sentences:
        if b is not None:
            sentences.append(f"{names[0]} and {names[1]} differ by less than half the spread of {reference_name} on "
                             "every figure, and no figure of either lies outside its middle 90%.")
        else:
            sentences.append(f"{names[0]} lies inside the middle 90% of {reference_name} on every figure.")
    return sentences
