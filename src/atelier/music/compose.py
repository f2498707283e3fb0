"""Compose and interpolate melodies with a loaded music model, and write them out: the library
behind ``atelier compose`` and ``atelier interpolate`` for music models.
(:func:`atelier.api.music.compose` also takes a model's name.)

    >>> import atelier
    >>> from atelier.music.compose import compose, write_outputs
    >>> model = atelier.load("essen-melody-rnn")                                     # doctest: +SKIP
    >>> melodies = compose(model, bars=16, n=4, temperature=0.9, seed=0)            # doctest: +SKIP
    >>> write_outputs(melodies, "songs", wav=True)                                  # doctest: +SKIP

Every output folder is written all at once: the files are made in a hidden folder beside it and
moved in only when all of them are done, so a failure (a bad argument, a full disk) leaves the
folder as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from atelier.errors import AtelierError
from atelier.family import TrainedModel
from atelier.music.events import Melody, MelodyEncoding, Note
from atelier.provenance import with_output

DEFAULT_BARS = 16  # melody RNN; a MusicVAE always makes its own length
MIN_QPM, MAX_QPM = 20.0, 400.0  # the tempo range MIDI reading accepts
PRIMER_NOTE_STEPS = 4  # each pitch of a pitch-list primer is a quarter note
OUTPUT_SUFFIXES = (".png", ".gif", ".jpg", ".jpeg", ".webp", ".mid", ".midi", ".wav", ".musicxml", ".xml")
MUSIC_KINDS = "melody_rnn, melody_transformer or music_vae"
RESPONDERS = ("melody_rnn", "melody_transformer")  # the models that continue a phrase


def is_music_model(model: Any) -> bool:
    """Whether ``model`` is a loaded model whose ``sample`` makes melodies (it declares ``outputs``)."""
    return isinstance(model, TrainedModel) and model.outputs == "melodies"


def kind_of(model: Any) -> str:
    """The kind a loaded model declares ("gan", "melody_rnn"…), or its type's name for anything else."""
    return model.kind if isinstance(model, TrainedModel) and model.kind else type(model).__name__


def read_primer(path: str | os.PathLike) -> Melody:
    """The melody of a MIDI file, as a primer; unreadable, empty or note-less files are one-line errors.

    A melody RNN reads a primer in another meter as 16th notes and continues it in 4/4; a melody
    transformer keeps 4/4, 3/4, 6/8 and 2/4.
    """
    from atelier.music.midi import read_midi

    return read_midi(path)


def primer_from_pitches(pitches: Sequence[int], encoding: MelodyEncoding, *, what: str = "primer") -> Melody:
    """A primer (or a call: ``what``) of quarter notes, one per pitch; -1 is a quarter rest. Pitches
    must be in the model's range.

    >>> primer_from_pitches([60, -1, 64], MelodyEncoding()).notes
    (Note(pitch=60, start_step=0, end_step=4, velocity=100), Note(pitch=64, start_step=8, end_step=12, velocity=100))
    """
    if not pitches:
        raise AtelierError(f"{what} pitches: none given; e.g. 60,62,64")
    notes = []
    for i, pitch in enumerate(pitches):
        if pitch == -1:
            continue
        if not encoding.contains(pitch):
            raise AtelierError(f"{what} pitch {pitch} (position {i + 1}): outside the model's range "
                               f"{encoding.min_pitch}..{encoding.max_pitch}; use -1 for a rest")
        notes.append(Note(pitch, i * PRIMER_NOTE_STEPS, (i + 1) * PRIMER_NOTE_STEPS))
    if not notes:
        raise AtelierError(f"{what} pitches: only rests; give at least one pitch")
    return Melody(tuple(notes), num_steps=len(pitches) * PRIMER_NOTE_STEPS, name=what)


def parse_pitches(text: str) -> list[int]:
    """``"60,62,64"`` → ``[60, 62, 64]``.

    >>> parse_pitches("60, 62,-1")
    [60, 62, -1]
    """
    try:
        values = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise AtelierError(f"primer pitches {text!r}: expected MIDI pitches separated by commas, e.g. 60,62,64") from None
    return values


def compose(
    model: TrainedModel,
    *,
    bars: int | None = None,
    n: int = 1,
    temperature: float = 1.0,
    primer: Melody | Sequence[int] | None = None,
    seed: int = 0,
    qpm: float = 120.0,
    program: int = 0,
    beam_size: int = 1,
    branch_factor: int = 1,
    top_p: float = 1.0,
    in_key: bool = False,
    end_on_tonic: bool = False,
    style: str | None = None,
    meter: str | None = None,
    key: str | None = None,
) -> list[Melody]:
    """``n`` new melodies from a loaded melody RNN or melody transformer (any length, optional
    primer, beam search, :mod:`atelier.music.sampling`'s controls) or MusicVAE (its own length,
    sampled from the prior).

    ``bars`` defaults to 16 for a melody RNN or transformer and to the model's length for a MusicVAE.
    ``primer`` (not for a MusicVAE): a :class:`Melody` or Magenta's list of one value per 16th-note step (a pitch
    starts a note, -2 holds, -1 stops). ``qpm`` and ``program`` (General MIDI, 0 = piano) set the
    tempo and instrument of the output. ``top_p``, ``in_key`` and ``end_on_tonic``: see
    :mod:`atelier.music.sampling`. ``style``, ``meter`` ("6/8") and ``key`` ("D major"): what kind of
    tune a melody transformer writes (each left out is drawn as the style's training tunes have it).

    >>> import dataclasses
    >>> from atelier.music import melody_rnn
    >>> config = dataclasses.replace(melody_rnn.PRESETS["melody-rnn"], rnn_size=8, num_layers=1)
    >>> rnn = melody_rnn.MelodyRNNModel(config, melody_rnn.build_task(config).network)
    >>> [(m.name, m.num_steps) for m in compose(rnn, bars=2, n=2, primer=[60, -2, 62, -2], seed=0)]
    [('melody 1', 32), ('melody 2', 32)]
    """
    # 1. check inputs
    if not is_music_model(model):
        raise AtelierError(f"model: a {kind_of(model)} model; compose needs a music model ({MUSIC_KINDS})")
    _check_count("bars", bars, allow_none=True)
    _check_count("n", n)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
        raise AtelierError(f"temperature={temperature} (--temperature): must be greater than 0")
    if not MIN_QPM <= qpm <= MAX_QPM:
        raise AtelierError(f"qpm={qpm:g} (--qpm): must be in {MIN_QPM:g}..{MAX_QPM:g} quarter notes per minute")
    if not 0 <= program <= 127:
        raise AtelierError(f"program={program} (--program): must be a General MIDI program in 0..127")
    # 2. generate: a MusicVAE makes whole melodies of its own length; a melody RNN continues a primer
    if model.kind == "music_vae":
        if bars is not None and bars != model.bars:
            raise AtelierError(f"--bars {bars}: this MusicVAE makes {model.bars}-bar melodies; use --bars {model.bars} "
                               "or leave it out")
        if primer is not None:
            raise AtelierError("a primer needs a melody RNN; a MusicVAE samples whole melodies (try interpolate)")
        if beam_size != 1 or branch_factor != 1:
            raise AtelierError("beam search needs a melody RNN or a melody transformer")
        if top_p != 1.0 or in_key or end_on_tonic or style or meter or key:
            raise AtelierError("top_p, in_key, end_on_tonic, style, meter and key need a melody RNN or a melody "
                               "transformer; a MusicVAE samples whole melodies from its prior")
        melodies = model.sample(n, temperature=temperature, seed=seed, qpm=qpm, program=program)
    else:
        tune = {k: v for k, v in (("style", style), ("meter", meter), ("key", key)) if v is not None}
        if tune and model.kind != "melody_transformer":
            raise AtelierError(f"{', '.join(tune)}: a melody RNN writes 4/4 tunes without styles or keys; a melody "
                               "transformer takes them")
        melodies = model.sample(n, bars=bars or DEFAULT_BARS, primer=primer, temperature=temperature, seed=seed,
                                beam_size=beam_size, branch_factor=branch_factor, qpm=qpm, program=program,
                                top_p=top_p, in_key=in_key, end_on_tonic=end_on_tonic, **tune)
    return [replace(m, name=f"melody {i + 1}") for i, m in enumerate(melodies)]


def interpolate(model: Any, a: Melody, b: Melody, *, steps: int = 8, temperature: float | None = None,
                seed: int = 0) -> list[Melody]:
    """``steps`` melodies from ``a`` to ``b`` through a MusicVAE's latent space (see
    :meth:`MusicVAEModel.interpolate`); a melody RNN has no latent space and is refused."""
    return require_music_vae(model).interpolate(a, b, steps=steps, temperature=temperature, seed=seed)


def respond(model: Any, phrase: Melody, *, bars: int = 2, temperature: float = 1.0, top_p: float = 0.95,
            in_key: bool = True, end_on_tonic: bool = True, seed: int = 0, style: str | None = None) -> Melody:
    """Call and response: ``bars`` bars that answer ``phrase``, from a melody RNN or melody transformer.

    The call is rounded up to whole bars and the model continues it; only the continuation comes
    back, starting at 0 (a call note the model holds across the bar line opens the answer), in the
    call's key, meter, tempo and instrument. By default the answer keeps to the call's key
    (``in_key``) and comes home to its tonic (``end_on_tonic``); ``top_p`` 0.95 leaves out the long
    tail of unlikely notes. ``style`` (a melody transformer's: "essen", "irish", "bach") says what
    kind of tune to answer with. A melody RNN works in 4/4 only.

    >>> import dataclasses
    >>> from atelier.music import melody_rnn
    >>> config = dataclasses.replace(melody_rnn.PRESETS["melody-rnn"], rnn_size=8, num_layers=1)
    >>> rnn = melody_rnn.MelodyRNNModel(config, melody_rnn.build_task(config).network)
    >>> call = Melody((Note(60, 0, 8), Note(64, 8, 16), Note(67, 16, 24), Note(64, 24, 32)), num_steps=32)
    >>> answer = respond(rnn, call, bars=2, seed=0)
    >>> answer.num_steps, answer.notes[-1].pitch % 12  # two bars, ending on the call's tonic (C)
    (32, 0)
    """
    from atelier.data.melodies import crop as fit_length

    require_responder(model)
    _check_count("bars", bars)
    if not isinstance(phrase, Melody) or not phrase.notes:
        raise AtelierError("phrase: no notes to answer; give a melody with at least one note")
    options: dict[str, Any] = {}
    if model.kind == "melody_transformer":
        options["style"] = style
    elif style is not None:
        raise AtelierError(f"style={style!r}: a melody RNN has no styles; a melody transformer does")
    elif phrase.steps_per_bar != 16:
        raise AtelierError(f"phrase: {'/'.join(map(str, phrase.time_signature))} time; a melody RNN answers in 4/4 "
                           "(a melody transformer also answers 3/4, 6/8 and 2/4)")
    bar = phrase.steps_per_bar
    call_steps = -(-phrase.num_steps // bar) * bar
    whole = model.sample(1, bars=call_steps // bar + bars, primer=fit_length(phrase, call_steps),
                         temperature=temperature, top_p=top_p, in_key=in_key, end_on_tonic=end_on_tonic, seed=seed,
                         qpm=phrase.qpm, program=phrase.program, **options)[0]
    notes = tuple(Note(n.pitch, max(n.start_step, call_steps) - call_steps, n.end_step - call_steps, n.velocity)
                  for n in whole.notes if n.end_step > call_steps)
    return replace(whole, notes=notes, num_steps=bars * bar, time_signature=phrase.time_signature, name="answer")


def require_responder(model: Any) -> Any:
    """``model`` if it continues a phrase (a melody RNN or transformer), else a one-line error naming what it is."""
    if not (is_music_model(model) and model.kind in RESPONDERS):
        raise AtelierError(f"respond needs a melody RNN or a melody transformer, got a {kind_of(model)} model")
    return model


def require_music_vae(model: Any) -> Any:
    """``model`` if it is a MusicVAE, else a one-line error naming what it is."""
    if not (is_music_model(model) and model.kind == "music_vae"):
        raise AtelierError(f"interpolate needs a MusicVAE (music_vae) model, got a {kind_of(model)} model; "
                           "a melody RNN has no latent space")
    return model


def concatenate(melodies: Sequence[Melody], *, name: str = "") -> Melody:
    """One melody playing ``melodies`` one after another (tempo and instrument of the first).

    >>> m = Melody((Note(60, 0, 4),), num_steps=8)
    >>> concatenate([m, m]).notes[1]
    Note(pitch=60, start_step=8, end_step=12, velocity=100)
    """
    if not melodies:
        raise AtelierError("concatenate: no melodies")
    notes, offset = [], 0
    for melody in melodies:
        notes += [Note(n.pitch, n.start_step + offset, n.end_step + offset, n.velocity) for n in melody.notes]
        offset += melody.num_steps
    return replace(melodies[0], notes=tuple(notes), num_steps=offset, name=name or melodies[0].name)


def continuation(melody: Melody, start_step: int, *, name: str = "answer") -> Melody:
    """The notes of ``melody`` that start at ``start_step`` or later, moved to start at 0, in whole
    bars (tempo, meter and instrument kept): the answer of a call and response, which continues a
    call of ``start_step`` steps.

    >>> m = Melody((Note(60, 0, 4), Note(62, 16, 20), Note(64, 20, 22)), num_steps=32)
    >>> c = continuation(m, 16)
    >>> [(n.pitch, n.start_step, n.end_step) for n in c.notes], c.num_steps
    ([(62, 0, 4), (64, 4, 6)], 16)
    """
    notes = tuple(Note(n.pitch, n.start_step - start_step, n.end_step - start_step, n.velocity)
                  for n in melody.notes if n.start_step >= start_step)
    end = max((n.end_step for n in notes), default=0)
    bars = max(1, -(-end // melody.steps_per_bar))  # rounded up: the answer ends on a bar line
    return replace(melody, notes=notes, num_steps=bars * melody.steps_per_bar, name=name)


def write_outputs(
    melodies: Sequence[Melody],
    out_dir: str | os.PathLike,
    *,
    wav: bool = False,
    musicxml: bool = True,
    piano_roll: bool = True,
    prefix: str = "melody",
    renderer: str = "auto",
    recipe: dict[str, Any] | Sequence[dict[str, Any]] | None = None,
) -> list[Path]:
    """Write each melody as ``PREFIX_001.mid`` (tempo and instrument set), and optionally ``.wav``
    (General MIDI soundfont, the sine synthesiser as fallback), ``.png`` (piano roll) and
    ``.musicxml`` (notation). All files appear together or not at all. Returns the paths.

    ``recipe`` (:func:`atelier.provenance.make_recipe` of the call that made the melodies) goes into
    every MIDI, WAV, PNG and MusicXML file, with ``output`` naming the file and, for audio, the renderer used.
    A list of recipes, one per melody, is for melodies that each came from their own call (of one melody).
    """
    from atelier.music.audio import plot_piano_roll, render_audio, write_wav
    from atelier.music.midi import write_midi, write_musicxml

    melodies = list(melodies)
    if not melodies:
        raise AtelierError("no melodies to write")

    per_melody = isinstance(recipe, (list, tuple))
    if per_melody and len(recipe) != len(melodies):
        raise AtelierError(f"{len(recipe)} recipes for {len(melodies)} melodies; give one recipe, or one per melody")

    def write(folder: Path) -> None:
        for i, melody in enumerate(melodies):
            stem = folder / f"{prefix}_{i + 1:03d}"
            # A melody of its own call is that call's first file (what `atelier reproduce` reruns and picks).
            recipe_i, index, named = (recipe[i], 0, f"{prefix}_001") if per_melody else (recipe, i, stem.name)
            mid = stem.with_suffix(".mid")
            write_midi(melody, mid, metadata=with_output(recipe_i, file=f"{named}.mid", index=index))
            if wav:
                audio = render_audio(melody, renderer=renderer)
                write_wav(audio, stem.with_suffix(".wav"), metadata=with_output(
                    recipe_i, file=f"{named}.wav", index=index, renderer=audio.renderer))
            if piano_roll:
                plot_piano_roll(melody, stem.with_suffix(".png"), titles=[melody.name or stem.name],
                                metadata=with_output(recipe_i, file=f"{named}.png", index=index))
            if musicxml:
                write_musicxml(melody, stem.with_suffix(".musicxml"),
                               metadata=with_output(recipe_i, file=f"{named}.musicxml", index=index))

    return write_folder(out_dir, write)


def write_interpolation(melodies: Sequence[Melody], out_dir: str | os.PathLike, *, wav: bool = True,
                        renderer: str = "auto", recipe: dict[str, Any] | None = None) -> list[Path]:
    """An interpolation: ``step_01.mid`` … one file per point, ``interpolation.mid`` (all points one
    after another), ``interpolation.png`` (their piano rolls, stacked) and ``interpolation.wav``.
    ``recipe``, as for :func:`write_outputs`, goes into each of them."""
    from atelier.music.audio import plot_piano_roll, render_audio, write_wav
    from atelier.music.midi import write_midi

    melodies = list(melodies)
    if len(melodies) < 2:
        raise AtelierError(f"an interpolation has at least 2 melodies, got {len(melodies)}")
    whole = concatenate(melodies, name="interpolation")

    def write(folder: Path) -> None:
        for i, melody in enumerate(melodies):
            name = f"step_{i + 1:02d}.mid"
            write_midi(melody, folder / name, metadata=with_output(recipe, file=name))
        write_midi(whole, folder / "interpolation.mid", metadata=with_output(recipe, file="interpolation.mid"))
        plot_piano_roll(melodies, folder / "interpolation.png",
                        titles=[f"step {i + 1} of {len(melodies)}" for i in range(len(melodies))],
                        metadata=with_output(recipe, file="interpolation.png"))
        if wav:
            audio = render_audio(whole, renderer=renderer)
            write_wav(audio, folder / "interpolation.wav",
                      metadata=with_output(recipe, file="interpolation.wav", renderer=audio.renderer))

    return write_folder(out_dir, write)


def write_folder(out_dir: str | os.PathLike, write) -> list[Path]:
    """Run ``write(staging_folder)``, then move every file it made into ``out_dir``; on any error
    remove the staging folder and leave ``out_dir`` untouched. Returns the final paths, sorted."""
    out = Path(out_dir)
    if out.suffix.lower() in OUTPUT_SUFFIXES:
        raise AtelierError(f"--out {out}: music outputs go into a folder (e.g. {out.with_suffix('')}/), "
                           f"not a {out.suffix} file")
    if out.exists() and not out.is_dir():
        raise AtelierError(f"--out {out}: exists and is not a folder")
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    try:
        write(staging)
        out.mkdir(exist_ok=True)
        paths = []
        for made in sorted(staging.iterdir()):
            os.replace(made, out / made.name)
            paths.append(out / made.name)
        return paths
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_count(name: str, value: int | None, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise AtelierError(f"{name}={value} (--{name}): must be a whole number of at least 1")
