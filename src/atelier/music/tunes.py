"""Tunes with their style, meter and key: the melody transformer's vocabulary of keys and meters,
where its tunes come from, and how its tunes are measured against held-out ones.

* keys are 0..23 (tonic + 12 for minor): :func:`key_index` finds a tune's (Temperley's profile with
  the final note weighted, :func:`atelier.analysis.melodies.find_key`), :func:`parse_key` reads
  "D major", :func:`key_name` and :func:`key_scale` say it back;
* :func:`data_sources` reads ``--data`` ("essen,irish,bach", "irish=my/tunes", a path);
* :func:`evaluate_tunes` is ``atelier evaluate`` for the transformer: held-out perplexity against an
  interpolated Kneser-Ney 4-gram (:mod:`atelier.music.ngram`), and per style the Yang & Lerch feature
  overlap, notes in key, endings on the tonic and repeated bars of generated against held-out tunes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from atelier.analysis.melodies import (
    KeyEstimate,
    find_key,
    form_letters,
    repeated_share,
    scale_consistency,
    self_similarity,
)
from atelier.data.melodies import (
    NUM_KEYS,
    PAD,
    STYLES,
    TUNE_METERS,
    Tune,
    TuneWindows,
    crop,
    load_tunes,
    shift_key,
    training_source,
)
from atelier.errors import AtelierError, choose_one
from atelier.family import EvalOptions, EvaluationReport, TrainData
from atelier.metrics.music import EventScores
from atelier.music.events import Melody

DEFAULT_DATA = ",".join(STYLES)  # every style with a built-in corpus


# ---------------------------------------------------------------------------------------------
# Keys and meters

def key_index(melody: Melody) -> int:
    """A tune's key 0..23 (tonic + 12 for minor) by :func:`atelier.analysis.melodies.find_key`."""
    key = find_key(melody)
    return key.tonic + (12 if key.mode == "minor" else 0)


def parse_key(key: str | int | None) -> int | None:
    """``"D major"``, ``"e minor"``, ``"F#"`` (major) or an index 0..23 → 0..23; None stays None.

    >>> parse_key("D major"), parse_key("e minor"), parse_key("Bb"), parse_key("14"), parse_key(None)
    (2, 16, 10, 14, None)
    """
    if isinstance(key, str) and key.strip().isdigit():
        key = int(key)
    if key is None or (isinstance(key, int) and not isinstance(key, bool) and 0 <= key < NUM_KEYS):
        return key
    names = {"c": 0, "c#": 1, "db": 1, "d": 2, "d#": 3, "eb": 3, "e": 4, "f": 5, "f#": 6, "gb": 6, "g": 7,
             "g#": 8, "ab": 8, "a": 9, "a#": 10, "bb": 10, "b": 11}
    words = str(key).lower().split()
    if len(words) in (1, 2) and words[0] in names and (len(words) == 1 or words[1] in ("major", "minor")):
        return names[words[0]] + (12 if words[-1] == "minor" else 0)
    raise AtelierError(f"key {key!r}: give a tonic and mode such as 'D major' or 'E minor' (or 0..23)")


def key_estimate(index: int) -> KeyEstimate:
    """Key ``index`` (0..23) as :class:`~atelier.analysis.melodies.KeyEstimate`, which names it and knows its scale."""
    return KeyEstimate(index % 12, "minor" if index >= 12 else "major", 0.0)


def key_name(index: int) -> str:
    """``2`` → ``"D major"``, ``21`` → ``"A minor"``."""
    return key_estimate(index).name


def key_scale(index: int) -> frozenset[int]:
    """Pitch classes of key ``index``'s scale (minor: natural minor and the raised 7th)."""
    return key_estimate(index).scale


def parse_meter(meter: str | Sequence[int] | None) -> int | None:
    """``"6/8"`` or ``(6, 8)`` → its index in :data:`TUNE_METERS`; None stays None."""
    if meter is None:
        return None
    try:
        pair = tuple(int(v) for v in (meter.split("/") if isinstance(meter, str) else meter))
    except (TypeError, ValueError):
        pair = ()
    if pair not in TUNE_METERS:
        shown = meter if isinstance(meter, str) else (
            "/".join(map(str, meter)) if isinstance(meter, Sequence) else repr(meter))
        raise choose_one("meter", shown, [f"{a}/{b}" for a, b in TUNE_METERS])
    return TUNE_METERS.index(pair)


# ---------------------------------------------------------------------------------------------
# Where the tunes come from

def data_sources(data: str | os.PathLike, config: Any) -> list[tuple[int, str]]:
    """What ``data`` names, as ``(style index, source)`` pairs. Comma-separated entries, each

    * a style with a built-in corpus (``essen``, ``irish``, ``bach``), one of the config's styles;
    * ``STYLE=PATH``: a user's tunes (a MIDI, MusicXML or ABC file, or a folder), taught as that style;
    * a bare path: a user's tunes, taught as the config's first style.

    >>> from atelier.music.melody_transformer import MelodyTransformerConfig
    >>> config = MelodyTransformerConfig()
    >>> data_sources("essen,irish", config), data_sources("bach=my/tunes", config)
    ([(0, 'essen'), (1, 'oneill')], [(2, 'my/tunes')])
    """
    sources = []
    for entry in (part.strip() for part in os.fspath(data).split(",")):
        if not entry:
            continue
        style, sep, path = entry.partition("=")
        if sep:
            if style not in config.styles:
                raise choose_one(f"style of {entry!r}", style, config.styles)
            sources.append((config.styles.index(style), path))
        elif entry in config.styles and entry in STYLES:
            sources.append((config.styles.index(entry), STYLES[entry]))
        elif entry in STYLES or (entry.isidentifier() and not os.path.exists(entry)):
            raise choose_one("style in the data", entry, [s for s in config.styles if s in STYLES])
        else:
            sources.append((0, entry))
    if not sources:
        raise AtelierError(f"data {os.fspath(data)!r}: name one or more styles, e.g. {','.join(config.styles)}")
    return sources


def tunes_for(data: str | os.PathLike, config: Any, *, seed: int, val_fraction: float,
              limit: int | None = None) -> tuple[list[Tune], list[Tune], str]:
    """Training and held-out tunes of what ``data`` names (:func:`data_sources`)."""
    return load_tunes(data_sources(data, config), encoding=config.encoding, key_of=key_index, seed=seed,
                      val_fraction=val_fraction, limit=limit)


@dataclass(frozen=True)
class TuneData(TrainData):
    """Training windows, a sample of held-out windows ``(N, 3 + T)``, and how often each
    (style, meter, key) was trained on."""

    val_windows: torch.Tensor | None = None
    counts: torch.Tensor | None = None


def condition_counts(tunes: Sequence[Tune], config: Any) -> torch.Tensor:
    """(styles, meters, keys): how many tunes of each combination, over all transpositions."""
    counts = torch.zeros(len(config.styles), len(TUNE_METERS), NUM_KEYS)
    encoding = config.encoding
    for tune in tunes:
        low, high = min(tune.melody.pitches), max(tune.melody.pitches)
        for shift in sorted(set(config.transpose)):
            if encoding.contains(low + shift) and encoding.contains(high + shift):
                counts[tune.style, tune.meter, shift_key(tune.key, shift)] += 1
    return counts


def held_out_windows(tunes: Sequence[Tune], config: Any, *, max_windows: int | None = None,
                     seed: int = 0) -> torch.Tensor:
    """Windows of held-out tunes as written that score each step once: (N, 3 + T), a seeded subset if
    ``max_windows``."""
    windows = TuneWindows(tunes, encoding=config.encoding, window_steps=config.window_steps, hop_bars=None)
    index = np.arange(len(windows))
    if max_windows is not None and len(index) > max_windows:
        index = np.sort(np.random.default_rng(seed).choice(len(index), max_windows, replace=False))
    return windows.get_batch(index)


# ---------------------------------------------------------------------------------------------
# Evaluation: likelihood against a 4-gram, and tunes against held-out tunes

EVAL_BARS = 8  # generated tunes and excerpts of real ones compared with each other


def excerpts(tunes: Sequence[Tune], bars: int) -> list[Tune]:
    """The first ``bars`` bars of each tune at least that long."""
    return [replace(t, melody=crop(t.melody, bars * t.melody.steps_per_bar)) for t in tunes
            if t.melody.num_steps >= bars * t.melody.steps_per_bar]


def tune_qualities(tunes: Sequence[Melody], keys: Sequence[int]) -> dict[str, np.ndarray]:
    """Per tune: share of note time in its key's scale, whether its last note is the key's tonic,
    and the share of its bars that repeat an earlier bar (:mod:`atelier.analysis.melodies`)."""
    in_key, tonic, repeated = [], [], []
    for melody, key in zip(tunes, keys, strict=True):
        if not melody.notes:
            continue
        in_key.append(scale_consistency(melody, key_estimate(key)))
        tonic.append(melody.notes[-1].pitch % 12 == key % 12)
        repeated.append(repeated_share(form_letters(self_similarity(melody))))
    return {"in_key": np.array(in_key), "ends_on_tonic": np.array(tonic, dtype=float),
            "repeated_bars": np.array(repeated)}


def evaluate_tunes(model: Any, *, name: str, options: EvalOptions) -> EvaluationReport:
    """``atelier evaluate`` for the melody transformer, on the held-out tunes of the split it was trained with.

    1. held-out loss and perplexity per step (each step of the tunes as written scored once), and the same for
       an interpolated Kneser-Ney 4-gram fitted on the training windows at the model's transpositions;
    2. per style: ``options.num_samples`` / styles generated 8-bar tunes (meters and keys drawn as
       the style's training tunes have them) against the first 8 bars of its held-out tunes, feature
       by feature (Yang & Lerch 2018), next to real training tunes against the same held-out tunes;
    3. per style: notes in key, endings on the tonic (free, and with ``end_on_tonic``) and repeated
       bars, for the generated and for the held-out tunes.
    """
    from atelier.metrics.music import compare_melodies
    from atelier.music.ngram import NGramModel

    cfg = model.config
    # the model's own data and split (refused if it held nothing out), or other data split as by default
    source, split_seed, val_fraction = training_source({"data": DEFAULT_DATA, **model.provenance}, options.data)
    train, val, _ = tunes_for(source, cfg, seed=split_seed, val_fraction=val_fraction)
    if not val:
        raise AtelierError(f"data {source!r}: no held-out tunes to score the model on")
    # 1. likelihood, and the 4-gram's on the same windows
    held = held_out_windows(val, cfg)
    metrics = {f"held_out_{k}": v for k, v in model.score(held).items()}
    windows = TuneWindows(train, encoding=cfg.encoding, window_steps=cfg.window_steps, transpose=cfg.transpose,
                          hop_bars=None)
    rows = windows.get_batch(np.arange(len(windows)))[:, 3:].numpy()
    ngram = NGramModel(cfg.num_classes, order=4).fit(row[row != PAD] for row in rows)
    events = held[:, 3:]
    scores = EventScores()
    scores.add(ngram.log_probs(events.clamp(min=0)), events.clamp(min=0), mask=events != PAD)
    metrics["ngram4_perplexity"] = scores.metrics()["perplexity"]
    metrics["perplexity_below_ngram4"] = 1 - metrics["held_out_perplexity"] / metrics["ngram4_perplexity"]
    notes = [f"held-out: {len(val)} tunes of {source} (split seed {split_seed}), {held.shape[0]} windows of "
             f"{cfg.window_steps} steps; loss in nats per 16th-note step, perplexity = exp(loss); 4-gram: "
             f"interpolated Kneser-Ney on {ngram.num_tokens:,} training events"]
    # 2-3. tunes, style by style
    indices = sorted({s for s, _ in data_sources(source, cfg)})
    per_style = max(2, options.num_samples // len(indices))
    for s in indices:
        style = cfg.styles[s]
        real = excerpts([t for t in val if t.style == s], EVAL_BARS)
        known = excerpts([t for t in train if t.style == s], EVAL_BARS)
        if len(real) < 2 or len(known) < 2:
            notes.append(f"{style}: fewer than 2 tunes of {EVAL_BARS} bars held out or in training; not compared")
            continue
        keys = model.conditions(per_style, style=style, meter=None, key=None, seed=options.seed)[:, 2].tolist()
        generated = model.sample(per_style, bars=EVAL_BARS, style=style, seed=options.seed)
        ended = model.sample(max(2, per_style // 4), bars=EVAL_BARS, style=style, seed=options.seed + 1,
                             end_on_tonic=True)
        ended_keys = model.conditions(len(ended), style=style, meter=None, key=None, seed=options.seed + 1)[:, 2]
        reference = [t.melody for t in real]
        ours = compare_melodies(generated, reference, seed=options.seed).mean_overlap
        theirs = compare_melodies([t.melody for t in known], reference, seed=options.seed).mean_overlap
        made = tune_qualities(generated, keys)
        found = tune_qualities(reference, [t.key for t in real])  # the key found on the whole tune
        whole = [t.melody for t in val if t.style == s and t.melody.notes]  # how real tunes end: whole tunes,
        plain = [find_key(m, final_weight=0) for m in whole]  # keyed without the final-note weight
        real_endings = np.mean([m.notes[-1].pitch % 12 == k.tonic for m, k in zip(whole, plain, strict=True)])
        metrics.update({
            f"{style}_feature_overlap": ours, f"{style}_real_feature_overlap": theirs,
            f"{style}_overlap_ratio": ours / theirs,
            f"{style}_in_key": float(made["in_key"].mean()), f"{style}_real_in_key": float(found["in_key"].mean()),
            f"{style}_ends_on_tonic": float(made["ends_on_tonic"].mean()),
            f"{style}_ends_on_tonic_constrained": float(tune_qualities(ended, ended_keys.tolist())["ends_on_tonic"].mean()),
            f"{style}_real_ends_on_tonic": float(real_endings),
            f"{style}_repeated_bars": float(made["repeated_bars"].mean()),
            f"{style}_real_repeated_bars_p25": float(np.percentile(found["repeated_bars"], 25)),
            f"{style}_real_repeated_bars_mean": float(found["repeated_bars"].mean()),
            f"{style}_real_repeated_bars_p75": float(np.percentile(found["repeated_bars"], 75)),
        })
        notes.append(f"{style}: {len(generated)} generated {EVAL_BARS}-bar tunes and {len(known)} training tunes "
                     f"against the first {EVAL_BARS} bars of {len(real)} held-out tunes; in_key = share of note "
                     "time in the key's scale (generated: the key asked for; real: the key found); real endings: whole "
                     "held-out tunes, keyed without weighting their final note")
    return EvaluationReport(model=name, kind=model.kind, data=f"{source} (held-out {len(val)} tunes)",
                            num_samples=options.num_samples, metrics=metrics, notes=notes)
