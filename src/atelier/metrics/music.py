"""Objective measures of melodies, and how close generated melodies come to the training data.

Per melody (:func:`melody_features`):

* ``pitch_class_entropy`` — Shannon entropy (bits, 0..log2 12) of the pitch-class histogram of note
  onsets; tonal melodies sit around 2.5–3.2 (Wu & Yang 2020, "The Jazz Transformer on the Front Line")
* ``scale_consistency`` — the largest fraction of notes inside one of the 24 major / harmonic-minor
  scales (Mogren 2016, "C-RNN-GAN")
* ``pitch_range`` — highest minus lowest pitch, in semitones (Yang & Lerch 2018, "PR")
* ``empty_beat_rate`` — the fraction of quarter-note beats in which nothing sounds (Dong et al. 2018,
  MuseGAN's empty-bar rate, at beat resolution)
* ``note_density`` — notes per bar
* ``groove_consistency`` — 1 minus the mean Hamming distance between the onset patterns of
  neighbouring bars, per step of a bar (Wu & Yang 2020); NaN for melodies shorter than two bars
* ``mean_interval`` — mean absolute interval between consecutive notes, in semitones (Yang & Lerch
  2018, "PI"); NaN with fewer than two notes

Between two sets (:func:`compare_melodies`), per feature, following Yang & Lerch 2018 ("On the
evaluation of generative models in music", Neural Computing and Applications):

* ``overlap`` — overlapping area of the two feature distributions, each a Gaussian KDE (1 = same);
* ``distance_overlap`` and ``distance_kl`` — the paper's relative measure: the distribution of
  distances between generated and reference melodies (inter-set) against the distances among the
  reference melodies (intra-set): overlapping area and KL(intra ‖ inter).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

import numpy as np

from atelier.data.melodies import STEPS_PER_BAR, events_to_melodies, window_tensor
from atelier.errors import AtelierError
from atelier.music.events import Melody, MelodyEncoding
from atelier.music.theory import SCALES


@dataclass(frozen=True)
class MelodyFeatures:
    """The features of one melody (see the module docstring for definitions)."""

    pitch_class_entropy: float
    scale_consistency: float
    pitch_range: float
    empty_beat_rate: float
    note_density: float
    groove_consistency: float
    mean_interval: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


FEATURES: tuple[str, ...] = tuple(f.name for f in fields(MelodyFeatures))


def melody_features(melody: Melody) -> MelodyFeatures:
    """Compute every feature of one melody.

    >>> from atelier.music.events import Note
    >>> scale = Melody(tuple(Note(p, 4 * i, 4 * i + 4) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72])), num_steps=32)
    >>> f = melody_features(scale)
    >>> f.scale_consistency, f.pitch_range, f.note_density, f.groove_consistency
    (1.0, 12.0, 4.0, 1.0)
    """
    pitches = np.array(melody.pitches, dtype=np.int64)
    nan = float("nan")
    if pitches.size == 0:
        return MelodyFeatures(nan, nan, nan, 1.0, 0.0, nan, nan)
    # pitch classes
    histogram = np.bincount(pitches % 12, minlength=12).astype(np.float64)
    p = histogram[histogram > 0] / histogram.sum()
    entropy = float(-(p * np.log2(p)).sum()) + 0.0
    scale = float((SCALES.astype(np.float64) @ histogram).max() / histogram.sum())
    # time
    sounding = np.zeros(melody.num_steps, dtype=bool)
    onsets = np.zeros(melody.num_steps, dtype=bool)
    for note in melody.notes:
        sounding[note.start_step : note.end_step] = True
        onsets[note.start_step] = True
    beat = melody.steps_per_quarter
    num_beats = math.ceil(melody.num_steps / beat)
    padded = np.zeros(num_beats * beat, dtype=bool)
    padded[: melody.num_steps] = sounding
    empty = float((~padded.reshape(num_beats, beat).any(axis=1)).mean())
    bar = melody.steps_per_bar
    density = len(pitches) / (melody.num_steps / bar)
    num_bars = melody.num_steps // bar
    if num_bars >= 2:
        grooves = onsets[: num_bars * bar].reshape(num_bars, bar)
        groove = float(1.0 - (grooves[1:] != grooves[:-1]).sum(axis=1).mean() / bar)
    else:
        groove = nan
    interval = float(np.abs(np.diff(pitches)).mean()) if pitches.size >= 2 else nan
    pitch_range = float(pitches.max() - pitches.min())
    return MelodyFeatures(entropy, scale, pitch_range, empty, float(density), groove, interval)


def mean_features(melodies: Sequence[Melody]) -> MelodyFeatures:
    """Each feature averaged over a set of melodies (NaNs ignored).

    >>> from atelier.music.events import Note
    >>> mean_features([Melody((Note(60, 0, 16),), num_steps=16)]).empty_beat_rate
    0.0
    """
    table = _feature_table(melodies)
    with np.errstate(all="ignore"):
        means = [float(np.nanmean(column)) if np.isfinite(column).any() else float("nan") for column in table.T]
    return MelodyFeatures(*means)


def _feature_table(melodies: Sequence[Melody]) -> np.ndarray:
    if not melodies:
        raise AtelierError("melodies: the set is empty; give at least one melody")
    return np.array([list(melody_features(m).to_dict().values()) for m in melodies], dtype=np.float64)  # (N, F)


# ---------------------------------------------------------------------------------------------
# Distribution comparison (Yang & Lerch 2018).


def _bandwidth(values: np.ndarray, floor: float) -> float:
    """Silverman's rule of thumb, with a floor so that a constant feature still has a density."""
    n = values.size
    std = float(values.std(ddof=1)) if n > 1 else 0.0
    q75, q25 = np.percentile(values, [75, 25])
    spread = min(std, (q75 - q25) / 1.34) if q75 > q25 else std
    return max(0.9 * spread * n ** (-0.2), floor)


def _densities(a: np.ndarray, b: np.ndarray, points: int = 512) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaussian KDEs of ``a`` and ``b`` on one shared grid: ``(grid, p, q)``, each ``(points,)``."""
    span = max(float(max(a.max(), b.max()) - min(a.min(), b.min())), 1e-6)
    floor = 1e-3 * max(span, 1.0)
    ha, hb = _bandwidth(a, floor), _bandwidth(b, floor)
    h = max(ha, hb)
    grid = np.linspace(min(a.min(), b.min()) - 4 * h, max(a.max(), b.max()) + 4 * h, points)

    def kde(values: np.ndarray, width: float) -> np.ndarray:
        z = (grid[:, None] - values[None, :]) / width  # (points, N)
        return np.exp(-0.5 * z**2).sum(axis=1) / (values.size * width * math.sqrt(2 * math.pi))

    return grid, kde(a, ha), kde(b, hb)


def overlap_area(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Overlapping area of the KDEs of two samples: 1 for identical, 0 for disjoint. NaNs ignored.

    >>> round(overlap_area([1, 2, 3], [1, 2, 3]), 3), round(overlap_area([0, 0.1], [50, 50.1]), 3)
    (1.0, 0.0)
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return float("nan")
    grid, p, q = _densities(a, b)
    return float(min(np.trapezoid(np.minimum(p, q), grid), 1.0))


def _kl_divergence(a: np.ndarray, b: np.ndarray) -> float:
    grid, p, q = _densities(a, b)
    eps = 1e-12
    dx = grid[1] - grid[0]
    p, q = p / (p.sum() * dx) + eps, q / (q.sum() * dx) + eps
    return float(max(np.sum(p * np.log(p / q)) * dx, 0.0))


@dataclass(frozen=True)
class FeatureComparison:
    """One feature over a generated and a reference set."""

    generated_mean: float
    generated_std: float
    reference_mean: float
    reference_std: float
    overlap: float  # overlapping area of the two feature distributions, 1 = identical
    distance_overlap: float  # OA of inter-set vs reference intra-set distance distributions
    distance_kl: float  # KL(intra-set ‖ inter-set), 0 = identical


@dataclass(frozen=True)
class MelodyComparison:
    """Generated melodies against reference (training) melodies, feature by feature."""

    num_generated: int
    num_reference: int
    features: dict[str, FeatureComparison]

    @property
    def mean_overlap(self) -> float:
        """The mean of ``overlap`` over the features (NaNs ignored): one number, 1 = indistinguishable."""
        values = [c.overlap for c in self.features.values() if math.isfinite(c.overlap)]
        return float(np.mean(values)) if values else float("nan")

    def to_dict(self) -> dict[str, object]:
        return {
            "num_generated": self.num_generated,
            "num_reference": self.num_reference,
            "mean_overlap": self.mean_overlap,
            "features": {name: asdict(c) for name, c in self.features.items()},
        }


def _pairwise(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """|a_i - b_j| for all pairs; with ``b`` None, the distinct pairs within ``a``."""
    if b is None:
        i, j = np.triu_indices(a.size, k=1)
        return np.abs(a[i] - a[j])
    return np.abs(a[:, None] - b[None, :]).ravel()


def compare_melodies(
    generated: Sequence[Melody], reference: Sequence[Melody], *, max_melodies: int = 500, seed: int = 0
) -> MelodyComparison:
    """Compare the feature distributions of ``generated`` melodies against ``reference`` ones.

    Sets larger than ``max_melodies`` are subsampled (seeded) to keep the pairwise distances cheap.

    >>> from atelier.music.events import Note
    >>> data = [Melody(tuple(Note(60 + (i * k) % 12, 2 * i, 2 * i + 2) for i in range(16)), num_steps=32) for k in range(1, 9)]
    >>> result = compare_melodies(data, data)
    >>> round(result.features["pitch_range"].overlap, 2), round(result.mean_overlap, 2)
    (1.0, 1.0)
    """
    rng = np.random.default_rng(seed)

    def sample(melodies: Sequence[Melody]) -> list[Melody]:
        if len(melodies) <= max_melodies:
            return list(melodies)
        return [melodies[i] for i in sorted(rng.choice(len(melodies), max_melodies, replace=False))]

    gen, ref = _feature_table(sample(generated)), _feature_table(sample(reference))
    nan = float("nan")
    out: dict[str, FeatureComparison] = {}
    for column, name in enumerate(FEATURES):
        g, r = gen[:, column], ref[:, column]
        g, r = g[np.isfinite(g)], r[np.isfinite(r)]
        if g.size == 0 or r.size == 0:
            out[name] = FeatureComparison(nan, nan, nan, nan, nan, nan, nan)
            continue
        intra, inter = _pairwise(r), _pairwise(g, r)
        relative = intra.size > 0
        out[name] = FeatureComparison(
            generated_mean=float(g.mean()),
            generated_std=float(g.std()),
            reference_mean=float(r.mean()),
            reference_std=float(r.std()),
            overlap=overlap_area(g, r),
            distance_overlap=overlap_area(intra, inter) if relative else nan,
            distance_kl=_kl_divergence(intra, inter) if relative else nan,
        )
    return MelodyComparison(len(generated), len(reference), out)


def feature_comparison(
    generated: Sequence[Melody], train: Sequence[Melody], *, encoding: MelodyEncoding, bars: int, seed: int
) -> tuple[dict[str, float], str]:
    """Yang & Lerch (2018) features of ``generated`` melodies against ``bars``-bar windows of the
    training melodies (half-overlapping, at most 2,000): metrics and a one-line note, for the melody
    models' evaluation.

    >>> from atelier.music.events import Note
    >>> tunes = [Melody(tuple(Note(60 + (i * k) % 12, 4 * i, 4 * i + 4) for i in range(8)), num_steps=32, name=f"t{k}")
    ...          for k in range(1, 9)]
    >>> metrics, note = feature_comparison(tunes, tunes, encoding=MelodyEncoding(), bars=2, seed=0)
    >>> round(metrics["feature_overlap_mean"], 1), note.split(";")[0]
    (1.0, 'features: 8 generated 2-bar melodies vs 8 2-bar training windows')
    """
    reference = window_tensor(train, encoding=encoding, window_steps=bars * STEPS_PER_BAR,
                              hop_steps=max(STEPS_PER_BAR, bars * STEPS_PER_BAR // 2), max_windows=2000, seed=seed)
    comparison = compare_melodies(generated, events_to_melodies(reference, encoding), seed=seed)
    metrics = {"feature_overlap_mean": comparison.mean_overlap}
    metrics.update({f"overlap_{k}": c.overlap for k, c in comparison.features.items()})
    note = (f"features: {len(generated)} generated {bars}-bar melodies vs {reference.shape[0]} {bars}-bar training "
            "windows; overlap of each feature's distributions, 1 = the same (Yang & Lerch 2018)")
    return metrics, note


# ---------------------------------------------------------------------------------------------
# Next-event prediction (Magenta's melody RNN metrics).


@dataclass
class EventScores:
    """Running totals for scoring next-event predictions over many batches.

    ``add(log_probs (B, T, C), targets (B, T))``, then ``metrics()``:

    * ``loss`` — mean negative log-likelihood per step, in nats; ``perplexity`` = exp(loss);
    * ``accuracy`` — how often the most likely event is the true one;
    * ``event_accuracy`` — the same over steps where something happens (a note starts or stops);
    * ``no_event_accuracy`` — over steps where the melody just continues (Magenta's three metrics).

    >>> import torch
    >>> scores = EventScores()
    >>> scores.add(torch.log(torch.tensor([[[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]]])), torch.tensor([[0, 1]]))
    >>> {k: round(v, 3) for k, v in scores.metrics().items()}
    {'loss': 0.458, 'perplexity': 1.581, 'accuracy': 1.0, 'event_accuracy': 1.0, 'no_event_accuracy': 1.0}
    """

    nll: float = 0.0
    steps: int = 0
    correct: int = 0
    events: int = 0
    events_correct: int = 0
    no_events_correct: int = 0

    def add(self, log_probs, targets, mask=None) -> None:
        """Score ``targets`` (B, T) under ``log_probs`` (B, T, C); ``mask`` (B, T) bool: the steps
        to count (None: all), e.g. not the padding after a tune's end."""
        import torch

        with torch.no_grad():
            counted = torch.ones_like(targets, dtype=torch.bool) if mask is None else mask
            nll = -log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # (B, T)
            hit = (log_probs.argmax(-1) == targets) & counted
            is_event = (targets != 0) & counted  # NO_EVENT is 0
            self.nll += float(nll.double()[counted].sum())
            self.steps += int(counted.sum())
            self.correct += int(hit.sum())
            self.events += int(is_event.sum())
            self.events_correct += int((hit & is_event).sum())
            self.no_events_correct += int((hit & ~is_event & counted).sum())

    def metrics(self) -> dict[str, float]:
        if not self.steps:
            raise AtelierError("event scores: nothing was scored; give at least one sequence")
        loss = self.nll / self.steps
        no_events = self.steps - self.events
        nan = float("nan")
        return {
            "loss": loss,
            "perplexity": math.exp(loss),
            "accuracy": self.correct / self.steps,
            "event_accuracy": self.events_correct / self.events if self.events else nan,
            "no_event_accuracy": self.no_events_correct / no_events if no_events else nan,
        }
