"""Music: monophonic melodies, their event encoding, files, audio and piano rolls.

* :mod:`atelier.music.events` — :class:`Note`, :class:`Melody`, :class:`MelodyEncoding` (Magenta's
  melody events: 0 hold, 1 note-off, 2.. note-on)
* :mod:`atelier.music.midi` — MIDI read/write, MusicXML/ABC read and MusicXML write (music21),
  pretty_midi conversion
* :mod:`atelier.music.audio` — WAV through a General MIDI soundfont, piano-roll PNGs
* :mod:`atelier.music.theory` — key estimation and normalisation, scales
* :mod:`atelier.music.melody_rnn` — the melody RNN (basic, lookback and attention LSTM), sampling with
  primers and beam search
* :mod:`atelier.music.melody_transformer` — the melody transformer (relative attention), told a tune's
  style, meter and key; :mod:`atelier.music.tunes` its keys, meters, data and evaluation
* :mod:`atelier.music.sampling` — the one event-by-event decoder: temperature, top-p, key and ending
  constraints, beam search
* :mod:`atelier.music.ngram` — an interpolated Kneser-Ney n-gram over events, the baseline of the
  melody models' perplexity
* :mod:`atelier.music.music_vae` — MusicVAE (2-bar flat, 16-bar hierarchical): sample, encode, decode,
  interpolate, attribute vectors
* :mod:`atelier.music.melody_family` — what the two melody families share: training data, evaluation
* :mod:`atelier.music.compose` — ``compose``, ``respond``, ``interpolate`` and writing MIDI / WAV / PNG /
  MusicXML (the library behind ``atelier compose``, ``atelier respond`` and ``atelier interpolate``)

Corpora are in :mod:`atelier.data.music`, training windows, splits and primers in
:mod:`atelier.data.melodies`; metrics in :mod:`atelier.metrics.music`.

>>> from atelier.music import Melody, MelodyEncoding, Note
>>> Melody((Note(60, 0, 4),), num_steps=8).to_events(MelodyEncoding()).tolist()
[14, 0, 0, 0, 1, 0, 0, 0]
"""

from atelier.music.audio import Audio, piano_roll_image, plot_piano_roll, render_audio, write_wav
from atelier.music.events import (
    ENCODINGS,
    NO_EVENT,
    NOTE_OFF,
    Melody,
    MelodyEncoding,
    Note,
    events_to_notes,
    extract_monophonic,
    notes_to_events,
    primer_events,
)
from atelier.music.midi import (
    melody_to_music21,
    melody_to_pretty_midi,
    pretty_midi_to_melody,
    read_midi,
    read_score,
    write_midi,
    write_musicxml,
)

__all__ = [
    "ENCODINGS",
    "NOTE_OFF",
    "NO_EVENT",
    "Audio",
    "Melody",
    "MelodyEncoding",
    "Note",
    "events_to_notes",
    "extract_monophonic",
    "melody_to_music21",
    "melody_to_pretty_midi",
    "notes_to_events",
    "piano_roll_image",
    "plot_piano_roll",
    "pretty_midi_to_melody",
    "primer_events",
    "read_midi",
    "read_score",
    "render_audio",
    "write_midi",
    "write_musicxml",
    "write_wav",
]
