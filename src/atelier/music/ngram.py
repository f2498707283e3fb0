"""An interpolated Kneser-Ney n-gram model over melody events: the classical baseline for the melody
models' next-event scores.

Melodies are Magenta's melody events (0 hold, 1 note-off, 2.. note-on; :mod:`atelier.music.events`),
``num_classes`` (C) of them. The model predicts each event from the ``order - 1`` events before it;
every sequence is padded on the left with ``order - 1`` BOS symbols (BOS = C), which serve as context
only and are never predicted. So, like the neural models' teacher-forced scores (a START symbol
before step 0), each window is scored from no context, and :meth:`NGramModel.log_probs` has the
neural models' shape: log p(e_t | e_{t-order+1} … e_{t-1}) for every step t and event, (N, T, C).

Smoothing is interpolated Kneser-Ney (Chen & Goodman 1998, "An empirical study of smoothing
techniques for language modeling", section 3.5) with a single absolute discount ``D``, shared by all
orders (not modified KN's three discounts). With ``h`` the context of level ``k`` (its last ``k - 1``
events), ``h'`` that context without its first event, and ``a`` the level's counts::

    P_k(w | h) = max(a(h w) - D, 0) / a(h •)  +  D · N1+(h •) / a(h •) · P_{k-1}(w | h')
    P_0(w)     = 1 / C                                      (uniform: every event is possible)

where ``a(h •) = Σ_w a(h w)`` and ``N1+(h •)`` is the number of distinct events seen after ``h``. A
context never seen at level ``k`` backs off fully: ``P_k(w | h) = P_{k-1}(w | h')``. The highest
order counts occurrences; the lower orders count continuations, ``a(h w) = N1+(• h w)``, the
number of distinct events seen before ``h w`` (Kneser & Ney 1995). As in KenLM, a lower-order n-gram
that begins with BOS keeps its raw count: its only left neighbour is more padding. Each distribution
sums to 1, because ``Σ_w max(a(h w) - D, 0) = a(h •) - D · N1+(h •)`` for integer counts and
``0 < D < 1``.

Counting is numpy: an n-gram is one int64 key, its events as digits in base C + 1. Scoring computes
the C probabilities once per distinct context in a batch of windows.

Example — a 3-gram trained on a repeating figure predicts it almost surely (step 5 is a hold, 0):

    >>> import torch
    >>> windows = torch.tensor([[2, 0, 3, 1] * 8] * 4)
    >>> model = NGramModel(num_classes=5, order=3).fit(windows)
    >>> log_p = model.log_probs(windows)
    >>> tuple(log_p.shape), round(float(log_p.exp().sum(-1).max()), 6)
    ((4, 32, 5), 1.0)
    >>> round(float(log_p[0, 5].exp().max()), 3), log_p[0, 5].argmax().item()
    (0.992, 0)
    >>> {k: round(v, 2) for k, v in model.score(windows).items()}
    {'loss': 0.01, 'perplexity': 1.01, 'accuracy': 1.0, 'event_accuracy': 1.0, 'no_event_accuracy': 1.0}
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from atelier.errors import AtelierError
from atelier.metrics.music import EventScores

_SCORE_BATCH = 512  # windows per log_probs call in `score`


@dataclass(frozen=True)
class _Level:
    """The counts of one order k: the k-grams seen, as keys ``context * (C + 1) + event``."""

    grams: np.ndarray  # (G,) int64, sorted, so the k-grams of one context are contiguous
    counts: np.ndarray  # (G,) float64: raw counts at the highest order, continuation counts below
    contexts: np.ndarray  # (H,) int64, the distinct contexts (last k - 1 events), sorted
    starts: np.ndarray  # (H + 1,) the k-grams of contexts[i] are grams[starts[i]:starts[i + 1]]
    totals: np.ndarray  # (H,) float64, a(h •): the sum of the counts of each context

    @classmethod
    def from_counts(cls, grams: np.ndarray, counts: np.ndarray, base: int) -> _Level:
        contexts, starts = np.unique(grams // base, return_index=True)
        return cls(grams, counts, contexts, np.append(starts, grams.size), np.add.reduceat(counts, starts))


class NGramModel:
    """Interpolated Kneser-Ney n-gram model of melody events ``0..num_classes-1`` (see the module).

    ``fit(windows)`` counts the training sequences (replacing any earlier fit); ``log_probs(windows)``
    gives (N, T, C) teacher-forced log-probabilities and ``score(windows)`` the melody models' metrics
    (:class:`atelier.metrics.music.EventScores`).
    """

    def __init__(self, num_classes: int, order: int = 4, discount: float = 0.75) -> None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise AtelierError(f"num_classes={num_classes!r}; must be an integer, at least 1")
        if isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise AtelierError(f"order={order!r}; must be an integer, at least 1 (1 = unigram)")
        if (num_classes + 1) ** order >= 2**62:
            raise AtelierError(f"order={order} is too large for num_classes={num_classes}: an n-gram must fit "
                               f"in 62 bits, so order must be at most {int(62 / math.log2(num_classes + 1))}")
        if isinstance(discount, bool) or not isinstance(discount, (int, float)) or not 0 < discount < 1:
            raise AtelierError(f"discount={discount!r}; must be a number strictly between 0 and 1")
        self.num_classes = num_classes
        self.order = order
        self.discount = float(discount)
        self.bos = num_classes  # the padding symbol, one past the last event
        self.base = num_classes + 1
        self.num_tokens = 0  # events counted by `fit`
        self._levels: list[_Level] = []  # _levels[k - 1] holds order k

    def __repr__(self) -> str:
        return f"NGramModel(num_classes={self.num_classes}, order={self.order}, discount={self.discount})"

    # -----------------------------------------------------------------------------------------
    # Counting

    def fit(self, windows: torch.Tensor | Iterable[Any]) -> NGramModel:
        """Count the n-grams of ``windows``: LongTensor (N, T), or any iterable of 1-D integer
        sequences (arrays, tensors, lists) of any lengths. Returns the model."""
        keys = self._ngram_keys(self._padded(windows, what="training windows"))
        if keys.size == 0:
            raise AtelierError("training windows: there are no events to count; give at least one non-empty sequence")
        grams, raw = np.unique(keys, return_counts=True)
        counts = raw.astype(np.float64)
        levels = [_Level.from_counts(grams, counts, self.base)]
        for k in range(self.order - 1, 0, -1):
            # The k-grams are the suffixes of the (k+1)-grams. Each distinct (k+1)-gram adds one
            # continuation to its suffix, except that a suffix beginning with BOS keeps the count of
            # its single extension (BOS + suffix).
            suffixes = grams % self.base**k
            begins_with_bos = suffixes // self.base ** (k - 1) == self.bos
            grams, inverse = np.unique(suffixes, return_inverse=True)
            counts = np.bincount(inverse, weights=np.where(begins_with_bos, counts, 1.0), minlength=grams.size)
            levels.append(_Level.from_counts(grams, counts, self.base))
        self._levels = levels[::-1]
        self.num_tokens = int(keys.size)
        return self

    def _padded(self, windows: Any, *, what: str) -> np.ndarray:
        """All sequences, each after ``order - 1`` BOS symbols, end to end: int64 (L,)."""
        pad = self.order - 1
        if torch.is_tensor(windows):
            batch = self._check_windows(windows, what=what).cpu().numpy()
            return np.pad(batch, ((0, 0), (pad, 0)), constant_values=self.bos).ravel()
        try:
            sequences = iter(windows)
        except TypeError:
            raise AtelierError(f"{what}: give a LongTensor (N, T) or a list of 1-D event sequences, "
                               f"got {type(windows).__name__}") from None
        parts = []
        for i, sequence in enumerate(sequences):
            events = sequence.cpu().numpy() if torch.is_tensor(sequence) else np.asarray(sequence)
            if events.ndim != 1 or (events.size and not np.issubdtype(events.dtype, np.integer)):
                raise AtelierError(f"{what}: sequence {i} must be a 1-D sequence of integer events, got shape "
                                   f"{events.shape} of {events.dtype}")
            self._check_range(events, what=f"{what}: sequence {i}")
            parts += [np.full(pad, self.bos, dtype=np.int64), events.astype(np.int64)]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def _ngram_keys(self, padded: np.ndarray) -> np.ndarray:
        """The key of the n-gram ending at each event (not BOS) of ``padded``, in order: int64 (L',)."""
        n = padded.size - self.order + 1
        if n <= 0:
            return np.zeros(0, dtype=np.int64)
        keys = np.zeros(n, dtype=np.int64)
        for j in range(self.order):
            keys = keys * self.base + padded[j:j + n]
        return keys[padded[self.order - 1:] != self.bos]

    def _check_windows(self, windows: Any, *, what: str) -> torch.Tensor:
        if not torch.is_tensor(windows) or windows.ndim != 2 or windows.dtype != torch.int64:
            got = f"{tuple(windows.shape)} of {windows.dtype}" if torch.is_tensor(windows) else type(windows).__name__
            raise AtelierError(f"{what}: must be a LongTensor (N, T) of melody events, got {got}")
        self._check_range(windows.cpu().numpy(), what=what)
        return windows

    def _check_range(self, events: np.ndarray, *, what: str) -> None:
        if events.size and (int(events.min()) < 0 or int(events.max()) >= self.num_classes):
            raise AtelierError(f"{what}: events must be in 0..{self.num_classes - 1}, "
                               f"got {int(events.min())}..{int(events.max())}")

    # -----------------------------------------------------------------------------------------
    # Scoring

    def log_probs(self, windows: torch.Tensor) -> torch.Tensor:
        """log p(e_t = c | the ``order - 1`` events before t, BOS-padded) for every step and event:
        windows LongTensor (N, T) → float32 (N, T, C), on the windows' device."""
        if not self._levels:
            raise AtelierError("this n-gram model is not fitted yet; call fit(training windows) first")
        windows = self._check_windows(windows, what="windows")
        n, t = windows.shape
        if n * t == 0:
            return torch.zeros(n, t, self.num_classes, device=windows.device)
        contexts = self._ngram_keys(self._padded(windows, what="windows")) // self.base  # (N·T,)
        distinct, inverse = np.unique(contexts, return_inverse=True)
        probs = self._distributions(distinct)  # (U, C)
        log_p = torch.from_numpy(np.log(probs).astype(np.float32))
        return log_p[torch.from_numpy(inverse.reshape(-1))].reshape(n, t, self.num_classes).to(windows.device)

    def _distributions(self, contexts: np.ndarray) -> np.ndarray:
        """P(· | context) for full contexts (keys of ``order - 1`` events): (U,) → float64 (U, C)."""
        probs = np.full((contexts.size, self.num_classes), 1.0 / self.num_classes)
        for k, level in enumerate(self._levels, start=1):
            probs = self._interpolate(level, contexts % self.base ** (k - 1), probs)
        return probs

    def _interpolate(self, level: _Level, contexts: np.ndarray, lower: np.ndarray) -> np.ndarray:
        """One level of the recursion: P_k from P_{k-1} (``lower``, (U, C)) for contexts (U,)."""
        position = np.minimum(np.searchsorted(level.contexts, contexts), level.contexts.size - 1)
        seen = level.contexts[position] == contexts
        rows, position = np.flatnonzero(seen), position[seen]  # unseen contexts keep P_{k-1}
        first, types = level.starts[position], np.diff(level.starts)[position]  # N1+(h •) = types
        # the k-grams of every seen context, one after another: (context row, index into grams)
        row_of_gram = np.repeat(np.arange(rows.size), types)
        gram = np.arange(types.sum()) + np.repeat(first - (np.cumsum(types) - types), types)
        discounted = np.zeros((rows.size, self.num_classes))
        discounted[row_of_gram, level.grams[gram] % self.base] = level.counts[gram] - self.discount
        probs = lower.copy()
        probs[rows] = (discounted + self.discount * types[:, None] * lower[rows]) / level.totals[position][:, None]
        return probs

    def score(self, windows: torch.Tensor) -> dict[str, float]:
        """Loss (nats per step), perplexity, accuracy, event and no-event accuracy on windows (N, T):
        :class:`atelier.metrics.music.EventScores`, as for the neural melody models."""
        windows = self._check_windows(windows, what="windows")
        scores = EventScores()
        for start in range(0, windows.shape[0], _SCORE_BATCH):
            batch = windows[start:start + _SCORE_BATCH]
            scores.add(self.log_probs(batch), batch)
        return scores.metrics()
