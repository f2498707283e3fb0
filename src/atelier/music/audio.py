"""Hear and see melodies: WAV rendered through a General MIDI soundfont, and piano-roll PNGs.

The soundfont is ``TimGM6mb.sf2`` (6 MB, General MIDI), which ships inside pretty_midi; symusic's
synthesizer renders it offline. Should that fail (symusic missing or broken, the file removed), the
``"auto"`` renderer falls back to a small additive synthesiser (four harmonics under a short
attack / decay envelope) and warns. Audio is mono float32 in [-1, 1]; WAV files are 16-bit PCM,
written atomically.

    audio = render_audio(melody)          # Audio(samples (S,), sample_rate, renderer)
    write_wav(audio, "melody.wav")
    plot_piano_roll([melody, other], "roll.png", titles=["data", "sample"])
"""

from __future__ import annotations

import io
import json
import os
import warnings
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from atelier.errors import AtelierError, choose_one
from atelier.io import atomic_write
from atelier.music.events import Melody
from atelier.provenance import add_wav_info, wav_recipe_fields

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from PIL import Image

DEFAULT_SAMPLE_RATE = 22050
RENDERERS = ("auto", "soundfont", "sine")


@dataclass(frozen=True)
class Audio:
    """Mono audio: ``samples`` float32 ``(S,)`` in [-1, 1] at ``sample_rate``; ``renderer`` says which
    synthesiser made it ("soundfont" or "sine")."""

    samples: np.ndarray
    sample_rate: int
    renderer: str

    @property
    def duration_seconds(self) -> float:
        return len(self.samples) / self.sample_rate


def default_soundfont() -> Path:
    """The General MIDI soundfont bundled with pretty_midi.

    >>> default_soundfont().name
    'TimGM6mb.sf2'
    """
    import pretty_midi

    return Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"


def _render_soundfont(melody: Melody, program: int, qpm: float, sample_rate: int, soundfont: Path) -> np.ndarray:
    import symusic

    from atelier.music.midi import melody_to_pretty_midi

    buffer = io.BytesIO()
    melody_to_pretty_midi(melody, program=program, qpm=qpm).write(buffer)
    score = symusic.Score.from_midi(buffer.getvalue())  # our own bytes: safe for symusic's parser
    synth = symusic.Synthesizer(str(soundfont), sample_rate, 0)
    return np.asarray(synth.render(score, stereo=False), dtype=np.float32)[0]  # (1, S) → (S,)


def _render_sine(melody: Melody, qpm: float, sample_rate: int, num_samples: int) -> np.ndarray:
    """Additive synthesis: harmonics 1..4 at amplitudes 1, 1/2, 1/4, 1/8; 10 ms attack, exponential
    decay, 30 ms linear release at the note's end (no clicks)."""
    out = np.zeros(num_samples, dtype=np.float64)
    seconds_per_step = 60.0 / (qpm * melody.steps_per_quarter)
    attack, release = int(0.01 * sample_rate), int(0.03 * sample_rate)
    for note in melody.notes:
        start = int(round(note.start_step * seconds_per_step * sample_rate))
        stop = min(int(round(note.end_step * seconds_per_step * sample_rate)) + release, num_samples)
        if stop <= start:
            continue
        t = np.arange(stop - start) / sample_rate
        frequency = 440.0 * 2.0 ** ((note.pitch - 69) / 12)
        tone = sum(0.5**k * np.sin(2 * np.pi * (k + 1) * frequency * t) for k in range(4) if (k + 1) * frequency < sample_rate / 2)
        envelope = np.minimum(1.0, np.arange(stop - start) / max(attack, 1)) * np.exp(-1.5 * t)
        held = stop - start - release
        if held > 0:
            envelope[held:] *= np.linspace(1.0, 0.0, stop - start - held)
        out[start:stop] += 0.25 * (note.velocity / 127) * envelope * tone
    return out.astype(np.float32)


def render_audio(
    melody: Melody,
    *,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    program: int | None = None,
    qpm: float | None = None,
    soundfont: str | os.PathLike | None = None,
    renderer: str = "auto",
    tail_seconds: float = 0.5,
) -> Audio:
    """Render ``melody`` to mono audio of exactly ``duration + tail_seconds`` seconds.

    ``program`` (General MIDI, 0 = piano, 73 = flute) and ``qpm`` default to the melody's own.
    ``renderer``: ``"soundfont"``, ``"sine"``, or ``"auto"`` (soundfont, falling back to sine with a
    warning). Samples louder than full scale are scaled down, never clipped.

    >>> from atelier.music.events import Note
    >>> audio = render_audio(Melody((Note(60, 0, 4), Note(67, 4, 8)), num_steps=8, qpm=120), tail_seconds=0)
    >>> audio.duration_seconds, audio.renderer
    (1.0, 'soundfont')
    """
    # 1. check inputs
    if renderer not in RENDERERS:
        raise choose_one("renderer", renderer, RENDERERS)
    if not 1000 <= sample_rate <= 192000:
        raise AtelierError(f"sample_rate {sample_rate}: must be in 1000..192000 Hz")
    if tail_seconds < 0:
        raise AtelierError(f"tail_seconds {tail_seconds}: must be zero or more")
    program = melody.program if program is None else program
    qpm = melody.qpm if qpm is None else qpm
    if not 0 <= program <= 127:
        raise AtelierError(f"program {program}: must be a General MIDI program in 0..127")
    if not qpm > 0:
        raise AtelierError(f"qpm {qpm}: must be positive")
    font = Path(soundfont) if soundfont is not None else default_soundfont()
    if soundfont is not None and not font.is_file():
        raise AtelierError(f"soundfont {font}: not found")
    num_samples = int(round((melody.num_steps * 60.0 / (qpm * melody.steps_per_quarter) + tail_seconds) * sample_rate))

    # 2. render
    used = "sine"
    samples = None
    if renderer in ("auto", "soundfont") and melody.notes:
        try:
            samples = _render_soundfont(melody, program, qpm, sample_rate, font)
            used = "soundfont"
        except Exception as error:
            if renderer == "soundfont":
                raise AtelierError(f"soundfont {font}: rendering failed ({error})") from None
            warnings.warn(f"soundfont rendering failed ({error}); using the sine synthesiser", stacklevel=2)
    if samples is None:
        samples = _render_sine(melody, qpm, sample_rate, num_samples)

    # 3. exact length, no clipping
    samples = np.pad(samples[:num_samples], (0, max(0, num_samples - len(samples))))
    peak = float(np.abs(samples).max()) if samples.size else 0.0
    if peak > 1.0:
        samples = samples / peak
    return Audio(samples.astype(np.float32), sample_rate, used)


def write_wav(audio: Audio, path: str | os.PathLike, *, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``audio`` as a 16-bit mono WAV file, atomically; ``metadata`` (a recipe) goes into a
    ``LIST``/``INFO`` chunk after the samples (:func:`atelier.provenance.read_recipe` reads it).

    >>> import tempfile, os
    >>> p = write_wav(Audio(np.zeros(100, np.float32), 8000, "sine"), os.path.join(tempfile.mkdtemp(), "a.wav"))
    >>> p.stat().st_size, read_wav(p).samples.shape
    (244, (100,))
    """
    pcm = (np.clip(audio.samples, -1.0, 1.0) * 32767).round().astype("<i2")

    def write(tmp: str) -> None:
        with wave.open(tmp, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(audio.sample_rate)
            out.writeframes(pcm.tobytes())
        if metadata:
            add_wav_info(tmp, wav_recipe_fields(metadata))

    return atomic_write(path, write)


def read_wav(path: str | os.PathLike) -> Audio:
    """A 16-bit mono WAV file (as :func:`write_wav` writes) as :class:`Audio` in [-1, 1]."""
    try:
        with wave.open(os.fspath(path), "rb") as f:
            if f.getsampwidth() != 2 or f.getnchannels() != 1:
                raise AtelierError(f"WAV file {path}: {f.getnchannels()} channels of {8 * f.getsampwidth()} bits; "
                                   "expected 16-bit mono")
            pcm = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
            rate = f.getframerate()
    except (wave.Error, EOFError, OSError) as exc:
        raise AtelierError(f"WAV file {path}: cannot be read ({exc})") from None
    return Audio(pcm.astype(np.float32) / 32767, rate, "file")


def plot_piano_roll(
    melodies: Melody | Sequence[Melody],
    path: str | os.PathLike,
    *,
    titles: Sequence[str] | None = None,
    dpi: int = 100,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Draw one piano roll per melody (stacked, shared time axis, bar lines) into a PNG, atomically;
    ``metadata`` (a recipe) goes into the PNG's ``atelier`` text chunk, as :func:`atelier.imageio.write_image` puts it.

    >>> import tempfile, os
    >>> from atelier.music.events import Note
    >>> m = Melody((Note(60, 0, 4), Note(64, 4, 8)), num_steps=16)
    >>> plot_piano_roll([m, m.transpose(7)], os.path.join(tempfile.mkdtemp(), "roll.png")).suffix
    '.png'
    """
    figure = _piano_roll_figure(melodies, titles=titles, dpi=dpi)
    text = {"atelier": json.dumps(metadata, sort_keys=True, default=str)} if metadata else None
    return atomic_write(path, lambda tmp: figure.savefig(tmp, format="png", metadata=text))


def piano_roll_image(
    melodies: Melody | Sequence[Melody], *, titles: Sequence[str] | None = None, dpi: int = 100
) -> Image.Image:
    """The piano rolls of :func:`plot_piano_roll` as a PIL image, in memory (for training previews).

    >>> from atelier.music.events import Note
    >>> piano_roll_image(Melody((Note(60, 0, 4),), num_steps=16)).mode
    'RGBA'
    """
    from PIL import Image

    figure = _piano_roll_figure(melodies, titles=titles, dpi=dpi)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    buffer.seek(0)
    with Image.open(buffer) as image:
        return image.copy()


def _piano_roll_figure(melodies: Melody | Sequence[Melody], *, titles: Sequence[str] | None, dpi: int) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import PatchCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import MaxNLocator

    melodies = [melodies] if isinstance(melodies, Melody) else list(melodies)
    if not melodies:
        raise AtelierError("piano roll: no melodies to draw")
    if titles is not None and len(titles) != len(melodies):
        raise AtelierError(f"piano roll: {len(titles)} titles for {len(melodies)} melodies; give one each")
    width = max(m.num_steps for m in melodies)
    figure = Figure(figsize=(min(4 + width / 16, 24), 1.8 * len(melodies) + 0.6), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(melodies), 1, squeeze=False, sharex=True)[:, 0]
    for i, (ax, melody) in enumerate(zip(axes, melodies, strict=True)):
        boxes = [Rectangle((n.start_step, n.pitch - 0.4), n.duration, 0.8) for n in melody.notes]
        ax.add_collection(PatchCollection(boxes, facecolor="tab:blue", edgecolor="black", linewidth=0.4))
        low, high = (min(melody.pitches), max(melody.pitches)) if melody.notes else (60, 72)
        ax.set_ylim(low - 2, high + 2)
        ax.set_xlim(0, width)
        for bar in range(0, melody.num_steps + 1, melody.steps_per_bar):
            ax.axvline(bar, color="0.75", linewidth=0.6, zorder=0)
        octaves = [p for p in range(0, 128, 12) if low - 2 <= p <= high + 2]
        ax.set_yticks(octaves, [f"C{p // 12 - 1}" for p in octaves])
        ax.set_ylabel("pitch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(titles[i] if titles else (melody.name or f"melody {i + 1}"), fontsize=9, loc="left")
    axes[-1].set_xlabel(f"step ({melodies[0].steps_per_quarter} per quarter note)")
    figure.tight_layout()
    return figure
