"""``analyze`` and ``compare``: figures about pictures and melodies, and a critique built from them.

A work is a file (a picture: png, jpg, webp, bmp, gif, tiff; a melody: MIDI, MusicXML, ABC,
Humdrum), or already in memory (a PIL picture, a tensor, a :class:`~atelier.music.events.Melody`).
A reference set says what is usual: for pictures, by default the bundled paintings and photos (or
the user's own gallery, a folder); for melodies, by default 200 Essen folk tunes (or a corpus name,
or a folder of MIDI files).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atelier.analysis import critique as critic
from atelier.errors import AtelierError
from atelier.imageio import READ_EXTENSIONS as IMAGE_SUFFIXES
from atelier.music.events import Melody
from atelier.music.midi import MIDI_EXTENSIONS as MIDI_SUFFIXES
from atelier.music.midi import SCORE_EXTENSIONS as SCORE_SUFFIXES

DEFAULT_MELODY_REFERENCE = "essen"
MELODY_REFERENCE_SIZE = 200  # tunes of a corpus a melody is compared with

Work = Any  # a path, a PIL picture, a tensor (C, H, W) in [0, 1], or a Melody
Analysis = Any  # an ImageAnalysis or a MelodyAnalysis


def kind_of(work: Work) -> str:
    """``"image"`` or ``"melody"``, from the object or the file's extension."""
    if isinstance(work, Melody):
        return "melody"
    if isinstance(work, (str, os.PathLike)):
        path = Path(work)
        suffix = path.suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            return "image"
        if suffix in MIDI_SUFFIXES + SCORE_SUFFIXES:
            return "melody"
        if not path.exists():
            raise AtelierError(f"{path}: no such file")
        raise AtelierError(f"{path}: cannot tell what this is from {suffix or 'no extension'!r}; give a picture "
                           f"({', '.join(IMAGE_SUFFIXES)}) or a melody ({', '.join(MIDI_SUFFIXES + SCORE_SUFFIXES)})")
    return "image"  # a PIL picture or a tensor; analyze_image checks it


def read_melody(path: str | os.PathLike) -> Melody:
    """The melody of a MIDI file or a score (its first part, first tune)."""
    from atelier.music.midi import read_midi, read_score

    path = Path(path)
    if not path.is_file():
        raise AtelierError(f"{path}: no such file")
    if path.suffix.lower() in MIDI_SUFFIXES:
        return read_midi(path)
    return read_score(path)[0]


def analyze(work: Work, *, name: str | None = None) -> Analysis:
    """The figures of one work: an :class:`~atelier.analysis.images.ImageAnalysis` for a picture, a
    :class:`~atelier.analysis.melodies.MelodyAnalysis` for a melody.

    >>> from atelier.music.events import Note
    >>> scale = Melody(tuple(Note(60 + p, 4 * i, 4 * i + 4) for i, p in enumerate([0, 2, 4, 5, 7, 9, 11, 12])),
    ...                num_steps=32)
    >>> analyze(scale, name="scale").key.name
    'C major'
    """
    # The analysers pull in scikit-image and the feature network: imported on use, so `import atelier` stays quick.
    from atelier.analysis.images import analyze_image
    from atelier.analysis.melodies import analyze_melody

    if kind_of(work) == "melody":
        melody = read_melody(work) if isinstance(work, (str, os.PathLike)) else work
        return analyze_melody(melody, name=name or (Path(work).name if isinstance(work, (str, os.PathLike)) else None))
    return analyze_image(work, name=name)


@dataclass(frozen=True)
class Reference:
    """What is usual: a name to cite, and the figures of each of its works."""

    name: str
    numbers: tuple[dict[str, float], ...]


def image_reference(gallery: str | os.PathLike | Sequence[str | os.PathLike] | None = None) -> Reference:
    """The figures of the bundled paintings and photos, or of the pictures in ``gallery`` (a folder
    or a list of files)."""
    from atelier.analysis.images import analyze_image
    from atelier.data.photos import PAINTINGS, PHOTOS, builtin_image

    if gallery is None:
        works = {name: builtin_image(name) for name in PAINTINGS + PHOTOS}
        label = f"the {len(works)} bundled paintings and photos"
    else:
        works = {str(p): p for p in _pictures(gallery)}
        label = f"your {len(works)} pictures"
    # palette_size=0: the reference's figures never read the palette, the slowest part of an analysis
    return Reference(label, tuple(analyze_image(w, name=n, palette_size=0).numbers() for n, w in works.items()))


def melody_reference(reference: str | os.PathLike | None = None) -> Reference:
    """The figures of ``MELODY_REFERENCE_SIZE`` tunes of a corpus (default Essen) or of a folder's MIDI files."""
    from atelier.analysis.melodies import analyze_melody
    from atelier.data.music import available_corpora, load_melodies

    source = DEFAULT_MELODY_REFERENCE if reference is None else reference
    corpus = load_melodies(source, limit=MELODY_REFERENCE_SIZE if str(source) in available_corpora() else None,
                           time_signatures=None)
    numbers = [analyze_melody(melody).numbers() for melody in list(corpus)[:MELODY_REFERENCE_SIZE]]
    label = f"{len(numbers)} {source} tunes" if str(source) in available_corpora() else f"your {len(numbers)} tunes"
    return Reference(label, tuple(numbers))


def _pictures(gallery: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    if isinstance(gallery, (str, os.PathLike)):
        folder = Path(gallery)
        if not folder.is_dir():
            raise AtelierError(f"gallery {folder}: not a folder of pictures")
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    else:
        files = [Path(p) for p in gallery]
    if len(files) < 3:
        raise AtelierError(f"gallery {gallery}: {len(files)} pictures; a reference needs at least 3")
    return files


@dataclass(frozen=True)
class Comparison:
    """Two works side by side: their figures, the reference, and the critique built from them."""

    names: tuple[str, str]
    a: Analysis
    b: Analysis
    reference: str
    critique: tuple[str, ...]
    percentiles: tuple[dict[str, float], dict[str, float]]  # each figure's place in the reference, 0..100

    def to_json(self) -> dict[str, Any]:
        return {"names": list(self.names), "a": self.a.to_json(), "b": self.b.to_json(), "reference": self.reference,
                "critique": list(self.critique), "percentiles": {n: p for n, p in zip(self.names, self.percentiles)}}


def compare(a: Work, b: Work, *, reference: Any = None, names: tuple[str, str] | None = None) -> Comparison:
    """Two works of one kind side by side, and a short critique against ``reference`` (see the module).

    >>> from atelier.music.events import Note
    >>> calm = Melody(tuple(Note(60 + p, 8 * i, 8 * i + 8) for i, p in enumerate([0, 2, 4, 2, 0, 2, 4, 0])),
    ...               num_steps=64)
    >>> busy = Melody(tuple(Note(60 + p, 2 * i, 2 * i + 2) for i, p in enumerate([0, 7, 4, 12, 2, 9, 5, 11] * 4)),
    ...               num_steps=64)
    >>> result = compare(calm, busy, reference=[analyze(calm).numbers(), analyze(busy).numbers()] * 2,
    ...                  names=("calm", "busy"))
    >>> print(result.critique[0])
    calm is more stepwise than busy: share of steps 0.857 against 0 (the middle half of the reference lies between 0 and 0.857).
    """
    kinds = (kind_of(a), kind_of(b))
    if kinds[0] != kinds[1]:
        raise AtelierError(f"compare takes two pictures or two melodies, not a {kinds[0]} and a {kinds[1]}")
    names = names or tuple(_name(w, default) for w, default in ((a, "A"), (b, "B")))  # type: ignore[assignment]
    first, second = analyze(a, name=names[0]), analyze(b, name=names[1])
    if isinstance(reference, Reference):
        ref = reference
    elif isinstance(reference, (list, tuple)) and reference and isinstance(reference[0], dict):
        ref = Reference("the reference", tuple(reference))
    elif kinds[0] == "image":
        ref = image_reference(reference)
    else:
        ref = melody_reference(reference)
    sentences = critic.critique(first.numbers(), second.numbers(), ref.numbers, names=names, reference_name=ref.name)
    percentiles = tuple({name: s.percentile for name, s in critic.standings(w.numbers(), ref.numbers).items()}
                        for w in (first, second))
    return Comparison(names, first, second, ref.name, tuple(sentences), percentiles)  # type: ignore[arg-type]


def _name(work: Work, default: str) -> str:
    if isinstance(work, (str, os.PathLike)):
        return Path(work).name
    if isinstance(work, Melody) and work.name:
        return work.name
    return default


def similar_works(picture: Work, *, gallery: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
                  k: int = 3) -> list[tuple[str, float]]:
    """The ``k`` works most like ``picture`` in the pretrained feature space: among the bundled
    paintings, and the pictures of ``gallery`` when given."""
    from atelier.analysis.similarity import nearest_works
    from atelier.data.photos import PAINTINGS, painting_path

    works: dict[str, Any] = {name: painting_path(name) for name in PAINTINGS}
    if gallery is not None:
        works.update({str(p): p for p in _pictures(gallery)})
    return nearest_works(picture, works, k=k)


def which_style(picture: Work, styles: Sequence[str | os.PathLike] | None = None) -> list[tuple[str, float]]:
    """Which of ``styles`` (default: the bundled paintings) a stylised picture was most likely made
    with, best first, with a score."""
    from atelier.analysis.similarity import identify_style
    from atelier.data.photos import PAINTINGS, painting_path

    styles = list(PAINTINGS) if styles is None else list(styles)
    return identify_style(picture, {str(s): painting_path(s) if s in PAINTINGS else s for s in styles})
