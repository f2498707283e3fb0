"""Keys and scales: the music theory the corpora, the models and the metrics share.

* :func:`estimate_key` — the Krumhansl-Schmuckler key of a melody;
* :func:`key_shift` and :func:`normalize_key` — the smallest move to C major / A minor, which the
  melody models train in (Magenta's ``transpose_to_key=0``);
* :data:`SCALES` — which pitch classes each of the 24 major and harmonic-minor scales holds.

>>> from atelier.music.events import Melody, Note
>>> d_major = Melody(tuple(Note(p, 4 * i, 4 * i + 4) for i, p in enumerate([62, 66, 69, 74])), num_steps=16)
>>> estimate_key(d_major), key_shift(d_major)
((2, 'major'), -2)
"""

from __future__ import annotations

import numpy as np

from atelier.errors import AtelierError
from atelier.music.events import Melody

MAJOR_SCALE = np.array([0, 2, 4, 5, 7, 9, 11])  # semitones above the tonic
HARMONIC_MINOR_SCALE = np.array([0, 2, 3, 5, 7, 8, 11])
# (24, 12): pitch class j is in scale i; rows 0..11 are the major scales on C..B, 12..23 harmonic minor
SCALES = np.array(
    [np.isin(np.arange(12), (steps + tonic) % 12) for steps in (MAJOR_SCALE, HARMONIC_MINOR_SCALE) for tonic in range(12)]
)

# Krumhansl & Kessler (1982) key profiles, as used by the Krumhansl-Schmuckler key-finding algorithm.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def estimate_key(melody: Melody) -> tuple[int, str]:
    """The key as ``(tonic pitch class, "major" | "minor")`` by the Krumhansl-Schmuckler algorithm:
    correlate the duration-weighted pitch-class histogram with the 24 rotated Krumhansl-Kessler
    profiles (Krumhansl 1990, *Cognitive Foundations of Musical Pitch*, ch. 4).

    >>> from atelier.music.events import Note
    >>> m = Melody(tuple(Note(p, 4 * i, 4 * i + 4) for i, p in enumerate([67, 69, 71, 72, 74, 71, 67])), num_steps=28)
    >>> estimate_key(m)
    (7, 'major')
    """
    histogram = np.zeros(12)
    for note in melody.notes:
        histogram[note.pitch % 12] += note.duration
    if not histogram.any():
        return 0, "major"
    best = (-2.0, 0, "major")
    for mode, profile in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
        for tonic in range(12):
            r = np.corrcoef(histogram, np.roll(profile, tonic))[0, 1]
            if np.isfinite(r) and r > best[0]:
                best = (float(r), tonic, mode)
    return best[1], best[2]


def key_shift(melody: Melody) -> int:
    """Semitones (-6..+5) that move ``melody`` to C major or A minor by the smallest step.

    >>> from atelier.music.events import Note
    >>> key_shift(Melody((Note(64, 0, 4), Note(67, 4, 8), Note(71, 8, 16)), num_steps=16))  # E minor → A minor
    5
    """
    tonic, mode = estimate_key(melody)
    target = 0 if mode == "major" else 9  # C major, A minor
    return (target - tonic + 6) % 12 - 6


def normalize_key(melody: Melody) -> Melody:
    """Transpose to C major or A minor by the smallest move (-6..+5 semitones), or by that move an
    octave the other way where the smallest would leave MIDI's pitches 0..127.

    >>> from atelier.music.events import Note
    >>> m = Melody((Note(62, 0, 4), Note(66, 4, 8), Note(69, 8, 16), Note(67, 16, 20)), num_steps=20)
    >>> normalize_key(m).pitches
    [60, 64, 67, 65]
    >>> e_major_low = Melody(tuple(Note(p, 4 * i, 4 * i + 4) for i, p in enumerate([3, 4, 8, 11, 4])), num_steps=20)
    >>> normalize_key(e_major_low).pitches  # 4 semitones down would pass below 0: 8 up instead
    [11, 12, 16, 19, 12]
    """
    shift = key_shift(melody)
    if not melody.notes or shift == 0:
        return melody
    low, high = min(melody.pitches), max(melody.pitches)
    for move in (shift, shift - 12 if shift > 0 else shift + 12):
        if low + move >= 0 and high + move <= 127:
            return melody.transpose(move)
    raise AtelierError(f"melody spans pitches {low}..{high}: no move to C major or A minor keeps it within "
                       "MIDI's 0..127")
