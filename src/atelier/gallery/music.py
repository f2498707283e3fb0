"""The gallery's music section: melodies composed now by the shipped models (MIDI, audio, piano
roll), an interpolation between two real folk tunes, and the models' held-out metrics.

It parses no corpus: the models come from the zoo and the two tunes from
:mod:`atelier.music.examples`, so the section takes seconds.
"""

from __future__ import annotations

import html
from pathlib import Path

from atelier.gallery.page import Section, figure, shipped_models, table

RNN_MODEL = "essen-melody-rnn"
VAE_MODEL = "essen-musicvae-2bar"
LONG_VAE_MODEL = "essen-musicvae-16bar"  # shown when shipped
TRANSFORMER_MODEL = "folk-transformer"  # shown when shipped
TUNES = (("essen", "2/4", "G major"), ("irish", "6/8", "D major"), ("bach", "4/4", "G minor"))  # one of each style
METRICS = {  # manifest metric → column
    "held_out_perplexity": "perplexity",
    "held_out_accuracy": "accuracy",
    "held_out_event_accuracy": "event acc.",
    "held_out_no_event_accuracy": "no-event acc.",
    "held_out_teacher_forced_accuracy": "recon. acc. (teacher-forced)",
    "held_out_sampled_accuracy": "recon. acc. (sampled)",
    "feature_overlap_mean": "feature overlap",
}


def _audio(src: str, caption_html: str) -> str:
    return (f'<figure><audio controls preload="none" src="{html.escape(src)}"></audio>'
            f"<figcaption>{caption_html}</figcaption></figure>")


def _link(src: str, label: str) -> str:
    return f'<a href="{html.escape(src)}">{html.escape(label)}</a>'


def music_section(out: Path, quick: bool) -> Section:
    """Write ``out/music/…`` and return the section's HTML."""
    from atelier.api import load
    from atelier.api.music import respond
    from atelier.data.melodies import crop
    from atelier.music.compose import compose, interpolate, write_interpolation, write_outputs
    from atelier.music.examples import example_path
    from atelier.music.midi import read_midi

    shipped = shipped_models(RNN_MODEL, VAE_MODEL)
    folder = out / "music"
    parts: list[str] = []

    # 1. Melodies from the melody RNN, 16 bars each.
    n = 2 if quick else 4
    melodies = compose(load(RNN_MODEL), bars=16, n=n, temperature=0.9, seed=0, qpm=110, program=73)
    write_outputs(melodies, folder / "composed", wav=True, musicxml=False)
    parts.append(f"<h3>{html.escape(RNN_MODEL)}: {n} melodies of 16 bars (temperature 0.9, flute)</h3>")
    for i in range(1, n + 1):
        stem = f"music/composed/melody_{i:03d}"
        parts.append(figure(f"{stem}.png", f"melody {i}", width=520))
        parts.append(_audio(f"{stem}.wav", f"melody {i} ({_link(stem + '.mid', 'MIDI')})"))

    # 2. MusicVAE: samples, and an interpolation between two held-out folk tunes.
    vae = load(VAE_MODEL)
    samples = compose(vae, n=4, temperature=0.9, seed=0, qpm=110)
    write_outputs(samples, folder / "vae-samples", wav=True, musicxml=False, piano_roll=False)
    from atelier.music.audio import plot_piano_roll
    from atelier.music.compose import concatenate

    plot_piano_roll(concatenate(samples, name="four samples"), folder / "vae-samples" / "samples.png")
    parts.append(f"<h3>{html.escape(VAE_MODEL)}: four 2-bar samples, one after another</h3>")
    parts.append(figure("music/vae-samples/samples.png", "four samples from the prior", width=520))
    parts += [_audio(f"music/vae-samples/melody_{i:03d}.wav", f"sample {i}") for i in range(1, 5)]
    a, b = read_midi(example_path("tune_a")), read_midi(example_path("tune_b"))
    path = interpolate(vae, a, b, steps=6)
    write_interpolation(path, folder / "interpolation")
    parts.append("<h3>Interpolation: the first 2 bars of one held-out Essen tune into another's</h3>")
    parts.append(figure("music/interpolation/interpolation.png", "slerp between the posterior means, 6 steps", width=520))
    parts.append(_audio("music/interpolation/interpolation.wav",
                        "the 6 steps one after another (" + _link("music/interpolation/interpolation.mid", "MIDI") + ")"))
    if LONG_VAE_MODEL in shipped and not quick:
        long_samples = compose(load(LONG_VAE_MODEL), n=1, temperature=0.9, seed=0, qpm=110)
        write_outputs(long_samples, folder / "vae-16bar", wav=True, musicxml=False)
        parts.append(f"<h3>{html.escape(LONG_VAE_MODEL)}: one 16-bar sample</h3>")
        parts.append(figure("music/vae-16bar/melody_001.png", "hierarchical decoder, one z", width=520))
        parts.append(_audio("music/vae-16bar/melody_001.wav", "the sample"))

    # 3. The melody transformer: a tune of each style, and a call answered.
    if TRANSFORMER_MODEL in shipped:
        transformer = load(TRANSFORMER_MODEL)
        parts.append(f"<h3>{html.escape(TRANSFORMER_MODEL)}: one 8-bar tune of each style "
                     "(top-p 0.95, ending on the tonic)</h3>")
        for style, meter, key in TUNES:
            tune = compose(transformer, bars=8, style=style, meter=meter, key=key, top_p=0.95, end_on_tonic=True,
                           seed=0, qpm=110, program=73 if style == "irish" else 0)
            write_outputs(tune, folder / f"transformer-{style}", wav=True, musicxml=False)
            stem = f"music/transformer-{style}/melody_001"
            parts.append(figure(f"{stem}.png", f"{style}, {meter}, {key}", width=520))
            parts.append(_audio(f"{stem}.wav", f"{style} ({_link(stem + '.mid', 'MIDI')})"))
        call = read_midi(example_path("tune_a"))
        call = crop(call, 2 * call.steps_per_bar)
        answer = respond(transformer, call, bars=2, seed=0)
        write_outputs([concatenate([call, answer], name="call and answer")], folder / "respond", wav=True,
                      musicxml=False)
        parts.append("<h3>Call and response: the first 2 bars of a held-out Essen tune, answered in 2 bars</h3>")
        parts.append(figure("music/respond/melody_001.png", "call (bars 1–2) and answer (bars 3–4)", width=520))
        parts.append(_audio("music/respond/melody_001.wav", "call, then answer"))

    # 4. Held-out metrics, as recorded in the manifest by each model's recipe.
    rows = []
    for name, entry in sorted(shipped.items()):
        if entry.kind not in ("melody_rnn", "melody_transformer", "music_vae"):
            continue
        rows.append({"model": name, **{label: entry.metrics.get(key, "") for key, label in METRICS.items()}})
    parts.append(table(rows, ["model", *METRICS.values()]))
    note = ("Held-out tunes of each model's own data (the split by piece every recipe uses; the transformer's: "
            "Essen, O'Neill and Bach as written, the others': Essen in C). Accuracies are per 16th-note step; "
            "the MusicVAE paper's 2-bar melody model reaches 0.986 (teacher-forced) and 0.951 (sampled) on "
            "far more data. Feature overlap: Yang & Lerch's overlapping area of 7 melody features, generated "
            "vs training, 1 = the same. Audio: the General MIDI soundfont bundled with pretty_midi.")
    parts.append(f"<p class=note>{html.escape(note)}</p>")
    return Section("Music: melody RNNs, melody transformer and MusicVAE", "\n".join(parts))
