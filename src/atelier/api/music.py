"""``compose``: new melodies from a music model given by name, path or as a loaded model."""

from __future__ import annotations

import os
from collections.abc import Sequence

from atelier.api.models import load
from atelier.errors import AtelierError
from atelier.family import TrainedModel
from atelier.music import compose as library
from atelier.music.events import Melody


def compose(
    model: str | os.PathLike | TrainedModel,
    *,
    bars: int | None = None,
    n: int = 1,
    temperature: float = 1.0,
    primer: Melody | Sequence[int] | str | os.PathLike | None = None,
    primer_pitches: Sequence[int] | None = None,
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
    """``n`` new melodies from a melody RNN or melody transformer (any length, a primer, beam search)
    or a MusicVAE (its own length, from the prior): a shipped model's name, a checkpoint's path or a loaded model.

    ``primer`` (not for a MusicVAE) opens every melody: a :class:`~atelier.music.events.Melody`, a MIDI
    file's path, or Magenta's list of one value per 16th-note step (a pitch starts a note, -2 holds
    it, -1 stops it). ``primer_pitches`` is the command line's ``--primer-pitches``: one quarter
    note per pitch, -1 a quarter rest, each in the model's range. ``qpm`` and ``program`` (General
    MIDI, 0 = piano) set the tempo and instrument. ``top_p``, ``in_key``, ``end_on_tonic`` (and a
    melody transformer's ``style``, ``meter`` and ``key``): :func:`atelier.music.compose.compose`. Write the result with
    :func:`atelier.music.compose.write_outputs`.

    >>> import atelier
    >>> songs = atelier.compose("essen-melody-rnn", bars=8, n=4, primer_pitches=[67, 69, 71], seed=0)
    >>> len(songs), songs[0].num_steps, songs[0].pitches[:3]
    (4, 128, [67, 69, 71])

    A model built here (untrained), and a Magenta step-list primer:

    >>> import dataclasses
    >>> from atelier.music import melody_rnn
    >>> config = dataclasses.replace(melody_rnn.PRESETS["melody-rnn"], rnn_size=8, num_layers=1)
    >>> rnn = melody_rnn.MelodyRNNModel(config, melody_rnn.build_task(config).network)
    >>> melodies = compose(rnn, bars=2, n=3, primer=[60, -2, -2, -2, 64, -2, -2, -2], seed=0, qpm=90)
    >>> [m.num_steps for m in melodies], melodies[0].pitches[:2], melodies[0].qpm
    ([32, 32, 32], [60, 64], 90.0)
    """
    # 1. the model, which must make melodies
    name = None if isinstance(model, TrainedModel) else model
    if name is not None:
        model = load(name)
    if not library.is_music_model(model):
        what = "model" if name is None else f"model {name}"
        raise AtelierError(f"{what}: a {library.kind_of(model)} model; this needs a music model ({library.MUSIC_KINDS})")
    # 2. the primer, as a melody or Magenta's step list
    if primer is not None and primer_pitches is not None:
        raise AtelierError("give a primer or primer pitches, not both")
    if isinstance(primer, (str, os.PathLike)):
        primer = library.read_primer(primer)
    if primer_pitches is not None:
        primer = library.primer_from_pitches(list(primer_pitches), model.config.encoding)
    # 3. compose
    return library.compose(model, bars=bars, n=n, temperature=temperature, primer=primer, seed=seed, qpm=qpm,
                           program=program, beam_size=beam_size, branch_factor=branch_factor, top_p=top_p,
                           in_key=in_key, end_on_tonic=end_on_tonic, style=style, meter=meter, key=key)


def respond(
    model: str | os.PathLike | TrainedModel,
    phrase: Melody | Sequence[int] | str | os.PathLike | None = None,
    *,
    phrase_pitches: Sequence[int] | None = None,
    bars: int = 2,
    temperature: float = 1.0,
    top_p: float = 0.95,
    in_key: bool = True,
    end_on_tonic: bool = True,
    seed: int = 0,
    style: str | None = None,
) -> Melody:
    """Call and response: ``bars`` bars answering ``phrase`` (a :class:`~atelier.music.events.Melody`,
    a MIDI file's path, or Magenta's step list; or ``phrase_pitches``, one quarter note per pitch as
    ``--call-pitches``), from a melody RNN or melody transformer given by name, path or as a loaded model. The answer continues the phrase in its key and meter; see
    :func:`atelier.music.compose.respond` for the options. This is what the studio's call and
    response calls.

    >>> import atelier
    >>> answer = atelier.respond("essen-melody-rnn", [67, -2, -2, -2, 64, -2, -2, -2, 62, -2, -2, -2, 60], bars=2)
    >>> answer.num_steps, answer.name
    (32, 'answer')
    """
    name = None if isinstance(model, TrainedModel) else model
    if name is not None:
        model = load(name)
    if (phrase is None) == (phrase_pitches is None):
        raise AtelierError("give the call as a phrase or as phrase pitches, one of them")
    library.require_responder(model)  # before its encoding reads the call
    if phrase_pitches is not None:
        phrase = library.primer_from_pitches(list(phrase_pitches), model.config.encoding, what="call")
    elif isinstance(phrase, (str, os.PathLike)):
        phrase = library.read_primer(phrase)
    elif not isinstance(phrase, Melody):
        from atelier.data.melodies import primer_melody

        phrase = primer_melody(phrase, model.config.encoding)
    return library.respond(model, phrase, bars=bars, temperature=temperature, top_p=top_p, in_key=in_key,
                           end_on_tonic=end_on_tonic, seed=seed, style=style)
