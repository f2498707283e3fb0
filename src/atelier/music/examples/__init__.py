"""Two real folk tunes as small MIDI files, shipped for the gallery's interpolation and for trying
``atelier interpolate`` without a corpus.

Both are held-out pieces of the Essen corpus (the split every shipped model uses, seed 0), so no
shipped model has seen them. ``python -m atelier.music.examples`` makes them again from the corpus.

>>> from atelier.music.midi import read_midi
>>> [read_midi(example_path(name)).num_steps >= 32 for name in EXAMPLES]
[True, True]
"""

from __future__ import annotations

from pathlib import Path

from atelier.errors import choose_one

HERE = Path(__file__).resolve().parent
EXAMPLES = ("tune_a", "tune_b")
SOURCE = "essen"
BARS = 8  # each example keeps its first 8 bars


def example_path(name: str) -> Path:
    """The MIDI file of example ``name`` (``tune_a`` or ``tune_b``)."""
    if name not in EXAMPLES:
        raise choose_one("example", name, EXAMPLES)
    return HERE / f"{name}.mid"


def main() -> int:
    """Pick two contrasting held-out 4/4 tunes of at least 8 bars, without a pickup, and write their first 8 bars."""
    from dataclasses import replace

    from atelier.data.melodies import crop
    from atelier.data.music import load_melodies
    from atelier.metrics.music import melody_features
    from atelier.music.midi import write_midi

    corpus = load_melodies(SOURCE, time_signatures=((4, 4),))
    _, held_out = corpus.split(val_fraction=0.1, seed=0)
    candidates = [m for m in held_out  # no pickup: the first bar starts with a note
                  if m.num_steps >= BARS * 16 and len(m.notes) >= 3 * BARS and m.notes[0].start_step == 0]
    candidates.sort(key=lambda m: melody_features(crop(m, BARS * 16)).note_density)
    chosen = (candidates[len(candidates) // 4], candidates[3 * len(candidates) // 4])  # calmer, busier
    for name, melody in zip(EXAMPLES, chosen, strict=True):
        short = replace(crop(melody, BARS * 16), qpm=120.0, program=0)
        write_midi(short, example_path(name))
        print(f"{name}: {melody.name}, {len(short.notes)} notes")
    return 0

