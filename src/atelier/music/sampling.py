"""Choosing the next melody event: temperature, top-p, key and ending constraints, and beam search.

Every melody model that writes event by event (the melody RNN, the melody transformer) decodes
through :func:`decode`; the model supplies only ``step(events, t, state) -> (log p (B, C), state)``
and how to reorder its state when beam search keeps some candidates. The controls
(:class:`Controls`) act on each step's distribution:

* ``temperature`` divides the log-probabilities (< 1 safer, > 1 wilder);
* ``top_p`` keeps the smallest set of events whose probability adds up to at least p (nucleus
  sampling, Holtzman et al. 2020), so a long tail of unlikely notes is never drawn;
* ``scale`` (pitch classes) masks out every note-on outside it: a tune that stays in its key;
* ``tonic`` makes the tune end on it: the last bar's downbeat strikes a tonic (the octave the model
  likes best) that is held to the end; earlier steps are free.

Beam search is Magenta's randomised one: each of ``beam_size`` candidates is extended
``branch_factor`` times by ``steps_per_iteration`` sampled steps and the most likely ``beam_size``
are kept, ranked by the model's own log-likelihood (temperature 1, constraints included).

>>> import torch
>>> uniform = lambda events, t, state: (torch.zeros(events.shape[0], 5).log_softmax(-1), state)
>>> encoding = MelodyEncoding(60, 62)  # events: 0 hold, 1 off, 2 C4, 3 C#4, 4 D4
>>> out = decode(uniform, None, n=2, num_steps=8, primer=torch.zeros(0, dtype=torch.long), encoding=encoding,
...              controls=Controls(scale=frozenset({0, 2}), tonic=0, steps_per_bar=4), seed=0)
>>> 3 in out, out[:, 4].tolist(), out[:, 5:].unique().tolist()  # no C#; last bar: a C, then held
(False, [2, 2], [0])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from atelier.errors import AtelierError
from atelier.music.events import MelodyEncoding
from atelier.music.melody_family import check_temperature

HOLD, OFF = 0, 1  # Magenta's no-event and note-off; note-ons follow from 2

Step = Callable[[torch.Tensor, int, Any], tuple[torch.Tensor, Any]]
Reorder = Callable[[Any, torch.Tensor], Any]


@dataclass(frozen=True)
class Controls:
    """How each step's event is chosen (see the module docstring)."""

    temperature: float = 1.0
    top_p: float = 1.0  # 1 = off
    scale: frozenset[int] | None = None  # pitch classes note-ons may use; None = any
    tonic: int | None = None  # pitch class the tune ends on; None = wherever the model goes
    steps_per_bar: int = 16

    def __post_init__(self) -> None:
        check_temperature(self.temperature)
        p = self.top_p
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 1:
            raise AtelierError(f"top_p={p!r}; must be in (0, 1] (1 = off)")
        if self.scale is not None and (not self.scale or not set(self.scale) <= set(range(12))):
            raise AtelierError(f"scale={sorted(self.scale)}; give pitch classes in 0..11")
        if self.tonic is not None and self.tonic not in range(12):
            raise AtelierError(f"tonic={self.tonic!r}; give a pitch class in 0..11")
        if self.tonic is not None and self.scale is not None and self.tonic not in self.scale:
            raise AtelierError(f"tonic={self.tonic} is not in scale={sorted(self.scale)}; the last note could not be played")
        if self.steps_per_bar < 1:
            raise AtelierError(f"steps_per_bar={self.steps_per_bar}; must be at least 1")


def allowed_masks(controls: Sequence[Controls], encoding: MelodyEncoding, num_steps: int,
                  primed: int) -> torch.Tensor | None:
    """(rows, num_steps, C) bool: what each row may play at each step; None when nothing is constrained.

    ``primed`` steps are given (a primer); the ending applies only when the last bar is not.
    """
    if all(c.scale is None and c.tonic is None for c in controls):
        return None
    events = torch.arange(encoding.num_classes)
    pitch_class = (events - 2 + encoding.min_pitch) % 12  # of each note-on event
    is_note = events >= 2
    masks = torch.ones(len(controls), num_steps, encoding.num_classes, dtype=torch.bool)
    for row, c in enumerate(controls):
        if c.scale is not None:
            masks[row] &= ~is_note | torch.isin(pitch_class, torch.tensor(sorted(c.scale)))
        last_bar = num_steps - c.steps_per_bar
        if c.tonic is not None and last_bar >= primed:  # the last downbeat: a tonic; then it is held
            masks[row, last_bar] &= is_note & (pitch_class == c.tonic)
            masks[row, last_bar + 1:] &= events == HOLD
    return masks


def choose(log_p: torch.Tensor, controls: Controls, generator: torch.Generator) -> torch.Tensor:
    """One event per row of log-probabilities (B, C) (already masked): temperature, then top-p, then a draw."""
    logits = log_p / controls.temperature
    if controls.top_p < 1:
        probs = torch.softmax(logits, dim=-1)
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        before = sorted_probs.cumsum(dim=-1) - sorted_probs  # mass of the more likely events
        drop = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, order, before >= controls.top_p)  # event order
        logits = logits.masked_fill(drop, -math.inf)
    probs = torch.softmax(logits, dim=-1).cpu()
    return torch.multinomial(probs, 1, generator=generator).squeeze(1).to(log_p.device)


@torch.no_grad()
def decode(step: Step, reorder: Reorder | None, *, n: int, num_steps: int, primer: torch.Tensor,
           encoding: MelodyEncoding, controls: Controls | Sequence[Controls], seed: int, beam_size: int = 1,
           branch_factor: int = 1, steps_per_iteration: int = 1, device: torch.device | str = "cpu") -> torch.Tensor:
    """Events (n, num_steps) continuing ``primer`` (P,) (or one per row, (n, P)): each the best of its own beam.

    ``step(events (W, T), t, state)`` returns log p(event at t | events before t) (W, C) and the new
    state (it reads the primer itself when the state is None); ``reorder(state, index)`` picks rows
    of the state (for beam search; None when the model keeps no state). ``controls`` is one for all
    rows or one per row (each tune in its own key; temperature and top-p are the first's).
    """
    generator = torch.Generator().manual_seed(seed)
    width = n * beam_size
    events = torch.zeros(width, num_steps, dtype=torch.int64, device=device)
    p = primer.shape[-1]
    events[:, :p] = (primer.repeat_interleave(beam_size, 0) if primer.ndim == 2 else primer).to(device)
    scores = torch.zeros(width, device=device)  # (W,) log-likelihood of each candidate
    per_row = [controls] * n if isinstance(controls, Controls) else list(controls)
    if len(per_row) != n:
        raise AtelierError(f"decode: {len(per_row)} controls for {n} rows; give one, or one per row")
    masks = allowed_masks(per_row, encoding, num_steps, p)  # (n, T, C) or None
    controls = per_row[0]
    state = None
    t = p
    while t < num_steps:
        if branch_factor > 1:  # every candidate branches into branch_factor copies
            copies = torch.arange(events.shape[0], device=device).repeat_interleave(branch_factor)
            events, scores = events[copies], scores[copies]
            state = None if state is None or reorder is None else reorder(state, copies)
        for _ in range(min(steps_per_iteration, num_steps - t)):
            log_p, state = step(events, t, state)  # (B, C)
            if masks is not None:  # candidates of output i are rows i·B/n .. (i+1)·B/n − 1
                owner = torch.arange(log_p.shape[0]) // (log_p.shape[0] // n)
                log_p = log_p.masked_fill(~masks[owner, t].to(log_p.device), -math.inf)
            choice = choose(log_p, controls, generator)  # (B,)
            scores = scores + log_p.gather(1, choice.unsqueeze(1)).squeeze(1)
            events[:, t] = choice
            t += 1
        if branch_factor > 1:  # keep the beam_size most likely of each output's candidates
            best = scores.view(n, -1).topk(beam_size, dim=1).indices  # (n, beam)
            keep = (best + torch.arange(n, device=device).unsqueeze(1) * beam_size * branch_factor).flatten()
            events, scores = events[keep], scores[keep]
            state = None if state is None or reorder is None else reorder(state, keep)
    winner = scores.view(n, beam_size).argmax(dim=1) + torch.arange(n, device=device) * beam_size  # (n,)
    return events[winner].cpu()
