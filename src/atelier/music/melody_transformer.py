"""Melody transformer: a decoder-only Transformer with relative attention, told the tune's style, meter and key.

A small Music Transformer (Huang et al. 2018, "Music Transformer: Generating Music with Long-Term
Structure") over the melody events of :mod:`atelier.music.events` (0 hold, 1 note-off, 2.. note-on,
one per 16th note). Relative attention lets a step look back "one bar", "two bars" or "eight bars"
the same way wherever it stands, which is how folk tunes repeat themselves (AABB forms, returning
motifs). Each step's input is the previous event's embedding plus four learned embeddings:

* the style: the corpus the tune comes from (``essen``, ``irish`` = O'Neill, ``bach`` = chorale sopranos);
* the meter (4/4, 3/4, 6/8, 2/4) and the position of the step in its bar, so bars of 16, 12 and 8
  steps each have their own downbeats;
* the key (24: 12 tonics × major/minor). Tunes are kept in their written keys and transposed
  (augmentation), so the model learns every key and a user asks for one.

Sampling (:mod:`atelier.music.sampling`): temperature, top-p, masking out-of-key notes, ending on the
tonic, Magenta's beam search; with a cache of each layer's keys and values so each new step costs
one position. Past the training window the cache slides: keys older than ``window_steps``
steps are dropped, so no distance exceeds what training saw (though, unlike in a training window,
the oldest step kept is not the start symbol). :func:`atelier.music.compose.respond` answers a phrase in
its key and meter (call and response).

Example:
    >>> import dataclasses
    >>> config = dataclasses.replace(PRESETS["melody-transformer"], d_model=16, num_layers=1, num_heads=2, d_ff=32)
    >>> model = MelodyTransformerModel(config, build_task(config).network)
    >>> tunes = model.sample(2, bars=2, style="irish", meter=(6, 8), key="D major", seed=0)
    >>> [t.num_steps for t in tunes], tunes[0].time_signature
    ([24, 24], (6, 8))
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from atelier.checkpoint import Checkpoint, open_checkpoint
from atelier.data.melodies import (
    PitchRange,
    NUM_KEYS,
    PAD,
    STEPS_PER_QUARTER,
    TUNE_METERS,
    TuneWindows,
    check_styles,
    prepare_melody,
    primer_melody,
)
from atelier.errors import AtelierError, choose_one
from atelier.family import DataOptions, EvalOptions, EvaluationReport, Family, TrainedModel
from atelier.metrics.music import EventScores
from atelier.music.events import Melody, MelodyEncoding, events_to_notes, steps_per_bar
from atelier.music.melody_family import check_counts
from atelier.music.sampling import Controls, decode
from atelier.music.tunes import (
    DEFAULT_DATA,
    TuneData,
    condition_counts,
    evaluate_tunes,
    held_out_windows,
    key_index,
    key_name,
    key_scale,
    parse_key,
    parse_meter,
    tunes_for,
)

KIND = "melody_transformer"
MAX_VAL_WINDOWS = 512  # held-out windows scored during training (evaluation scores them all)
PREVIEW_SEED = 0
BAR_STEPS = tuple(steps_per_bar(m, STEPS_PER_QUARTER) for m in TUNE_METERS)  # 16, 12, 12, 8
MAX_BAR = max(BAR_STEPS)


# ---------------------------------------------------------------------------------------------
# The network


class RelativeAttention(nn.Module):
    """Causal multi-head self-attention with learned relative positions (Shaw et al. 2018, in the
    memory-light form of Huang et al. 2018).

        logits[i, j] = (q_i · k_j + q_i · E[i − j]) / √d_head   for j ≤ i (−∞ after i),

    with one learned vector E[d] per head for each distance d < ``max_distance``. A cache of keys
    and values lets generation add one position at a time; it keeps the last ``max_distance``
    positions, so a distance never exceeds what training saw.
    """

    def __init__(self, d_model: int, num_heads: int, max_distance: int, dropout: float) -> None:
        super().__init__()
        self.num_heads, self.d_head, self.max_distance = num_heads, d_model // num_heads, max_distance
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.distance = nn.Parameter(torch.randn(num_heads, max_distance, self.d_head) * self.d_head ** -0.5)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """x (B, L, D) → (B, L, D) and the cache of keys and values ((B, H, S, d_head) each)."""
        b, length, d = x.shape
        q, k, v = self.qkv(x).view(b, length, 3, self.num_heads, self.d_head).permute(2, 0, 3, 1, 4)  # (B, H, L, dh)
        if cache is not None:
            k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
        k, v = k[:, :, -self.max_distance:], v[:, :, -self.max_distance:]
        keys = k.shape[2]
        # distance of query i (the last L of the S positions) to key j; negative = the future
        distance = (torch.arange(keys - length, keys, device=x.device).unsqueeze(1)
                    - torch.arange(keys, device=x.device).unsqueeze(0))  # (L, S)
        relative = torch.einsum("bhld,hmd->bhlm", q, self.distance[:, :keys])  # (B, H, L, S) q_i · E[m]
        relative = relative.gather(3, distance.clamp(0, keys - 1).expand(b, self.num_heads, -1, -1))
        bias = relative.masked_fill(distance < 0, -math.inf) / math.sqrt(self.d_head)  # SDPA scales q·k itself
        h = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=self.dropout if self.training else 0.0)
        return self.out(h.transpose(1, 2).reshape(b, length, d)), (k, v)


class Block(nn.Module):
    """Pre-norm Transformer block: x + attention(LN x), then x + MLP(LN x)."""

    def __init__(self, d_model: int, num_heads: int, d_ff: int, max_distance: int, dropout: float) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attention = RelativeAttention(d_model, num_heads, max_distance, dropout)
        self.mlp = nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Linear(d_ff, d_model))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, cache: Any = None) -> tuple[torch.Tensor, Any]:
        h, cache = self.attention(self.norm1(x), cache)
        x = x + self.dropout(h)
        return x + self.dropout(self.mlp(self.norm2(x))), cache


class MelodyTransformerNet(nn.Module):
    """Previous event + style + meter + bar position + key → Transformer blocks → logits of the next event.

    ``conditions`` (B, 3) are (style, meter, key) indices; events (B, T) in 0..C-1 (PAD after a
    tune's end). The input at step t is event t−1 (a start symbol at t = 0); the output at t
    predicts event t. ``counts`` (styles, meters, keys) records how often each combination was
    trained on: sampling draws the meter and key a user leaves open from it.
    """

    def __init__(self, config: MelodyTransformerConfig) -> None:
        super().__init__()
        self.config = config
        c, d = config.num_classes, config.d_model
        self.start = c  # the start symbol's index in the event embedding
        self.event = nn.Embedding(c + 1, d)
        self.style = nn.Embedding(len(config.styles), d)
        self.meter = nn.Embedding(len(TUNE_METERS), d)
        self.key = nn.Embedding(NUM_KEYS, d)
        self.bar_position = nn.Embedding(len(TUNE_METERS) * MAX_BAR, d)
        self.blocks = nn.ModuleList(Block(d, config.num_heads, config.d_ff, config.window_steps, config.dropout)
                                    for _ in range(config.num_layers))
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, c)
        self.register_buffer("counts", torch.zeros(len(config.styles), len(TUNE_METERS), NUM_KEYS))

    def forward(self, previous: torch.Tensor, conditions: torch.Tensor, first_step: int = 0,
                caches: list[Any] | None = None) -> tuple[torch.Tensor, list[Any]]:
        """previous (B, L): the input events (START = C) at steps first_step.. → logits (B, L, C), caches."""
        style, meter, key = conditions.unbind(1)  # (B,) each
        steps = torch.arange(first_step, first_step + previous.shape[1], device=previous.device)  # (L,)
        bar = torch.tensor(BAR_STEPS, device=previous.device)[meter]  # (B,)
        position = meter.unsqueeze(1) * MAX_BAR + steps.unsqueeze(0) % bar.unsqueeze(1)  # (B, L)
        x = (self.event(previous) + self.bar_position(position)
             + (self.style(style) + self.meter(meter) + self.key(key)).unsqueeze(1))
        new_caches = []
        for i, block in enumerate(self.blocks):
            x, cache = block(x, None if caches is None else caches[i])
            new_caches.append(cache)
        return self.head(self.norm(x)), new_caches

    def inputs(self, events: torch.Tensor) -> torch.Tensor:
        """The input events for targets ``events`` (B, T): START, then each event but the last (PAD → hold)."""
        shifted = torch.cat([torch.full_like(events[:, :1], self.start), events[:, :-1]], dim=1)
        return shifted.clamp(min=0)

    def log_probs(self, batch: torch.Tensor) -> torch.Tensor:
        """Teacher-forced log p(event t | before t): batch (B, 3 + T) → (B, T, C)."""
        conditions, events = batch[:, :3], batch[:, 3:]
        logits, _ = self(self.inputs(events), conditions)
        return F.log_softmax(logits.float(), dim=-1)


# ---------------------------------------------------------------------------------------------
# Config


@dataclass(frozen=True)
class MelodyTransformerConfig(PitchRange):
    """The network, its conditioning vocabulary and its training settings."""

    min_pitch: int = 48  # C3 .. B5, the melody RNN's range: 36 pitches, 38 events
    max_pitch: int = 83
    styles: tuple[str, ...] = ("essen", "irish", "bach")  # what the style embedding can say
    d_model: int = 256
    num_layers: int = 4
    num_heads: int = 8
    d_ff: int = 1024
    dropout: float = 0.1
    window_steps: int = 128  # training windows (8 bars of 4/4, 16 of 2/4); also the longest distance attended
    transpose: tuple[int, ...] = tuple(range(-5, 7))  # every key, each tune moved at most a fifth
    lr: float = 5e-4  # Adam, after a linear warm-up
    warmup_steps: int = 500
    clip_grad_norm: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "styles", tuple(self.styles))  # JSON and --set give lists
        object.__setattr__(self, "transpose", tuple(self.transpose))
        MelodyEncoding(self.min_pitch, self.max_pitch)
        check_styles(self.styles)
        if min(self.d_model, self.num_layers, self.num_heads, self.d_ff) < 1 or self.d_model % self.num_heads:
            raise AtelierError(f"d_model={self.d_model}, num_heads={self.num_heads}, num_layers={self.num_layers}, "
                               f"d_ff={self.d_ff}; all must be positive and d_model a multiple of num_heads")
        if not 0.0 <= self.dropout < 1.0:
            raise AtelierError(f"dropout={self.dropout}; must be in [0, 1)")
        if self.window_steps < MAX_BAR:
            raise AtelierError(f"window_steps={self.window_steps}; must be at least one bar ({MAX_BAR} steps)")
        if not self.transpose:
            raise AtelierError("transpose=(); give at least one shift, e.g. 0")
        if self.lr <= 0 or self.clip_grad_norm <= 0 or self.warmup_steps < 0:
            raise AtelierError(f"lr={self.lr}, clip_grad_norm={self.clip_grad_norm}, warmup_steps={self.warmup_steps}; "
                               "the first two must be positive, the warm-up 0 or more")


PRESETS: dict[str, MelodyTransformerConfig] = {
    # 4 layers of 256 with 8 heads, 128-step windows: about 3.3 M weights, trains on 2 CPU cores.
    "melody-transformer": MelodyTransformerConfig(),
    # Half as wide and deep: for a quick run or a laptop.
    "melody-transformer-small": MelodyTransformerConfig(d_model=128, num_layers=2, num_heads=4, d_ff=512),
}


# ---------------------------------------------------------------------------------------------
# Training


class MelodyTransformerTask:
    """A melody transformer for :func:`atelier.training.fit`: one module "transformer", one Adam "transformer"."""

    kind = KIND
    fast_path = True  # bf16 autocast where the hardware has it: about twice as fast on this CPU, same loss

    def __init__(self, config: MelodyTransformerConfig, *, val_windows: torch.Tensor | None = None,
                 counts: torch.Tensor | None = None) -> None:
        self.config = config
        self.network = MelodyTransformerNet(config)
        if counts is not None:
            self.network.counts.copy_(counts)
        self.modules: dict[str, nn.Module] = {"transformer": self.network}
        self.optimizers = {"transformer": torch.optim.Adam(self.network.parameters(), lr=config.lr,
                                                           betas=(0.9, 0.98))}
        self.val_windows = None if val_windows is None else check_tune_batch(val_windows, config)

    def train_step(self, batch: Any, ctx: Any) -> dict[str, torch.Tensor]:
        """One Adam step on the mean negative log-likelihood (nats) of the batch's events, PAD left out;
        the learning rate rises linearly over ``warmup_steps``."""
        batch = check_tune_batch(batch, self.config)
        warm = min(1.0, (ctx.step + 1) / self.config.warmup_steps) if self.config.warmup_steps else 1.0
        for group in self.optimizers["transformer"].param_groups:
            group["lr"] = self.config.lr * warm
        log_probs = self.network.log_probs(batch)  # (B, T, C)
        events = batch[:, 3:]
        loss = F.nll_loss(log_probs.flatten(0, 1), events.flatten(), ignore_index=PAD)
        ctx.optimize("transformer", loss, clip_grad_norm=self.config.clip_grad_norm)
        return {"loss": loss.detach()}

    @torch.no_grad()
    def preview(self, ctx: Any):
        """Piano rolls of one 8-bar tune per style (the style's commonest meter and key), fixed seeds."""
        from atelier.music.audio import piano_roll_image

        model = MelodyTransformerModel(self.config, self.network)
        tunes = [model.sample(1, bars=8, style=style, seed=PREVIEW_SEED)[0] for style in self.config.styles]
        self.network.train()  # the model put the shared network in eval mode
        return piano_roll_image(tunes, titles=[f"step {ctx.step + 1}: {style}" for style in self.config.styles])

    @torch.no_grad()
    def validate(self, ctx: Any) -> dict[str, float]:
        if self.val_windows is None:
            return {}
        self.network.eval()
        metrics = score_windows(self.network, self.val_windows)
        self.network.train()
        return metrics


def build_task(config: MelodyTransformerConfig, *, val_windows: torch.Tensor | None = None,
               counts: torch.Tensor | None = None, seed: int = 0) -> MelodyTransformerTask:
    """The training task for ``config``, its weights initialised from ``seed``.

    >>> task = build_task(PRESETS["melody-transformer"])
    >>> list(task.modules), sum(p.numel() for p in task.network.parameters())
    (['transformer'], 3334694)
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MelodyTransformerTask(config, val_windows=val_windows, counts=counts)


def check_tune_batch(batch: Any, config: MelodyTransformerConfig) -> torch.Tensor:
    """A batch must be LongTensor (B, 3 + T) of (style, meter, key, events…), events in 0..C-1 or PAD."""
    if not torch.is_tensor(batch) or batch.ndim != 2 or batch.dtype != torch.int64 or batch.shape[1] < 4:
        shape = tuple(batch.shape) if torch.is_tensor(batch) else type(batch).__name__
        raise AtelierError(f"melody transformer: a batch is LongTensor (B, 3 + T) of style, meter, key and events, "
                           f"got {shape}")
    events = batch[:, 3:]
    valid = events[events != PAD]
    limits = ((batch[:, 0], len(config.styles), "style"), (batch[:, 1], len(TUNE_METERS), "meter"),
              (batch[:, 2], NUM_KEYS, "key"), (valid, config.num_classes, "event"))
    for values, count, what in limits:
        if values.numel() and (int(values.min()) < 0 or int(values.max()) >= count):
            raise AtelierError(f"melody transformer: {what} values must be in 0..{count - 1}, "
                               f"got {int(values.min())}..{int(values.max())}")
    if int(events.shape[1]) > config.window_steps:
        raise AtelierError(f"melody transformer: windows of {events.shape[1]} steps; the model takes at most "
                           f"{config.window_steps}")
    return batch


@torch.no_grad()
def score_windows(network: MelodyTransformerNet, windows: torch.Tensor, *, batch_size: int = 64) -> dict[str, float]:
    """Teacher-forced loss (nats per step), perplexity and accuracies over windows (N, 3 + T), PAD left out."""
    scores = EventScores()
    device = next(network.parameters()).device
    for start in range(0, windows.shape[0], batch_size):
        batch = windows[start:start + batch_size].to(device)
        events = batch[:, 3:]
        scores.add(network.log_probs(batch), events.clamp(min=0), mask=events != PAD)
    return scores.metrics()


# ---------------------------------------------------------------------------------------------
# The trained model


class MelodyTransformerModel(TrainedModel, nn.Module):
    """A trained melody transformer: ``MelodyTransformerModel.from_checkpoint(path)``."""

    kind = KIND
    outputs = "melodies"
    sample_options = ("bars", "style", "meter", "key", "primer", "temperature", "top_p", "in_key", "end_on_tonic",
                      "beam_size", "branch_factor", "steps_per_iteration", "qpm", "program")

    def __init__(self, config: MelodyTransformerConfig, network: MelodyTransformerNet, *,
                 provenance: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.config = config
        self.network = network
        self.provenance = dict(provenance or {})
        self.eval()

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint | str | os.PathLike) -> MelodyTransformerModel:
        ckpt, config = open_checkpoint(ckpt, kind=KIND, config_type=MelodyTransformerConfig)
        network = MelodyTransformerNet(config)
        network.load_state_dict(ckpt.module_state("transformer"))
        return cls(config, network, provenance=ckpt.meta.get("provenance", {}))

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    def conditions(self, n: int, *, style: str | None, meter: int | None, key: int | None,
                   seed: int) -> torch.Tensor:
        """(n, 3) style, meter and key per tune: the given ones, the rest drawn (seeded) from how often
        the style's tunes had each meter and key in training (uniform for a model never trained)."""
        style = self.config.styles[0] if style is None else style
        if style not in self.config.styles:
            raise choose_one("style", style, self.config.styles)
        s = self.config.styles.index(style)
        allowed = torch.ones(len(TUNE_METERS), NUM_KEYS)  # (meters, keys): what the caller left open
        if meter is not None:
            allowed[[i for i in range(len(TUNE_METERS)) if i != meter]] = 0
        if key is not None:
            allowed[:, [i for i in range(NUM_KEYS) if i != key]] = 0
        weights = self.network.counts[s].cpu() * allowed
        if not weights.sum() > 0:  # never trained, or a combination never seen: any of what is allowed
            weights = allowed
        drawn = torch.multinomial(weights.flatten(), n, replacement=True,
                                  generator=torch.Generator().manual_seed(seed))  # (n,)
        return torch.stack([torch.full((n,), s), drawn // NUM_KEYS, drawn % NUM_KEYS], dim=1)

    @torch.no_grad()
    def sample(
        self,
        n: int = 1,
        *,
        bars: int = 16,
        style: str | None = None,
        meter: str | Sequence[int] | None = None,
        key: str | int | None = None,
        primer: Melody | Sequence[int] | None = None,
        temperature: float = 1.0,
        top_p: float = 1.0,
        in_key: bool = False,
        end_on_tonic: bool = False,
        seed: int = 0,
        beam_size: int = 1,
        branch_factor: int = 1,
        steps_per_iteration: int = 1,
        qpm: float = 120.0,
        program: int = 0,
    ) -> list[Melody]:
        """``n`` tunes of ``bars`` bars in one batch.

        ``style`` is one of the model's styles (default: its first); ``meter`` ("6/8") and ``key``
        ("D major") are drawn per tune from the style's training tunes when left out. A ``primer``
        (a :class:`Melody`, or Magenta's step list: a pitch starts a note, -2 holds, -1 stops) opens
        every tune; its meter (a Melody's) and key (found) are used unless given. ``in_key`` masks
        note-ons outside the key's scale; ``end_on_tonic`` ends every tune on a held tonic. See
        :mod:`atelier.music.sampling` for ``temperature``, ``top_p`` and beam search.
        """
        check_counts(n=n, bars=bars, beam_size=beam_size, branch_factor=branch_factor,
                     steps_per_iteration=steps_per_iteration)
        meter_index, key_index_ = parse_meter(meter), parse_key(key)
        # 1. the primer: its meter, its key, its events in the model's range (moved by whole octaves)
        primed, octaves = torch.zeros(0, dtype=torch.int64), 0
        if primer is not None:
            melody = primer_melody(primer, self.config.encoding)
            if meter_index is None and isinstance(primer, Melody):
                if melody.time_signature not in TUNE_METERS:
                    raise choose_one("primer's meter", "/".join(map(str, melody.time_signature)),
                                     [f"{a}/{b}" for a, b in TUNE_METERS])
                meter_index = TUNE_METERS.index(melody.time_signature)
            if melody.notes and key_index_ is None:
                key_index_ = key_index(melody)
            prepared = prepare_melody(melody, encoding=self.config.encoding, key="any", what="primer")  # octaves only
            primed, octaves = torch.from_numpy(prepared.events), prepared.shift
        shortest = BAR_STEPS[meter_index] if meter_index is not None else min(BAR_STEPS)  # bar that may be drawn
        if len(primed) > bars * shortest:  # checked before any meter is drawn, so the answer does not depend on the seed
            raise AtelierError(f"primer: {len(primed)} steps is longer than {bars} bars of "
                               f"{'its meter' if meter_index is not None else 'the shortest meter that may be drawn'} "
                               f"({bars * shortest} steps); ask for more bars or give a meter")
        if end_on_tonic and len(primed) > (bars - 1) * shortest:
            raise AtelierError(f"end_on_tonic: the primer ({len(primed)} steps) reaches into the last bar, which it "
                               "could not change; ask for more bars")
        conditions = self.conditions(n, style=style, meter=meter_index, key=key_index_, seed=seed)
        # 2. decode the tunes of each meter together (bars of one length), each in its own key
        out: list[Melody | None] = [None] * n
        for m in conditions[:, 1].unique().tolist():
            rows = (conditions[:, 1] == m).nonzero().flatten()
            bar = BAR_STEPS[m]
            num_steps = bars * bar
            keys = [int(k) for k in conditions[rows, 2]]
            controls = [Controls(temperature=temperature, top_p=top_p, scale=key_scale(k) if in_key else None,
                                 tonic=k % 12 if end_on_tonic else None, steps_per_bar=bar) for k in keys]
            events = self._decode(conditions[rows], num_steps=num_steps, primer=primed, controls=controls,
                                  seed=seed * len(TUNE_METERS) + m, beam_size=beam_size, branch_factor=branch_factor,
                                  steps_per_iteration=steps_per_iteration)
            for row, key_, tune in zip(rows.tolist(), keys, events.numpy(), strict=True):
                notes = tuple(events_to_notes(tune, self.config.encoding))
                out[row] = Melody(notes, num_steps=num_steps, steps_per_quarter=STEPS_PER_QUARTER,
                                  time_signature=TUNE_METERS[m], qpm=float(qpm), program=program,
                                  name=f"{self.config.styles[int(conditions[row, 0])]} tune in {key_name(key_)}"
                                  ).transpose(-octaves)
        return out  # type: ignore[return-value]

    def _decode(self, conditions: torch.Tensor, *, num_steps: int, primer: torch.Tensor, controls: list[Controls],
                seed: int, beam_size: int, branch_factor: int, steps_per_iteration: int) -> torch.Tensor:
        network, window = self.network, self.config.window_steps
        device = self.device

        n = conditions.shape[0]

        def step(events: torch.Tensor, t: int, caches: Any) -> tuple[torch.Tensor, Any]:
            cond = conditions.to(device).repeat_interleave(events.shape[0] // n, dim=0)  # each tune's candidates
            if caches is None:  # read the primer (and the start symbol) in one pass
                first = max(0, t - window + 1)
                previous = network.inputs(events[:, first:t + 1]) if first == 0 else events[:, first - 1:t]
                logits, caches = network(previous, cond, first, None)
            else:
                logits, caches = network(events[:, t - 1:t], cond, t, caches)
            return F.log_softmax(logits[:, -1].float(), dim=-1), caches

        def reorder(caches: Any, index: torch.Tensor) -> Any:
            return [(k[index], v[index]) for k, v in caches]

        return decode(step, reorder, n=n, num_steps=num_steps, primer=primer, encoding=self.config.encoding,
                      controls=controls, seed=seed, beam_size=beam_size, branch_factor=branch_factor,
                      steps_per_iteration=steps_per_iteration, device=device)

    @torch.no_grad()
    def score(self, windows: torch.Tensor) -> dict[str, float]:
        """Loss (nats per step), perplexity and accuracies on windows (N, 3 + T)."""
        return score_windows(self.network, check_tune_batch(windows, self.config))


# ---------------------------------------------------------------------------------------------
# The family


class MelodyTransformerFamily(Family):
    """The melody transformer as :mod:`atelier.family` sees it."""

    kind = KIND
    description = "melody transformer: relative attention, conditioned on style, meter and key"
    config_type = MelodyTransformerConfig
    model_type = MelodyTransformerModel
    presets = PRESETS
    default_data = DEFAULT_DATA
    preset_notes = {
        "melody-transformer": "4 layers of 256, relative attention over 128 steps; Essen, O'Neill and Bach",
        "melody-transformer-small": "2 layers of 128: quicker to train",
    }

    def prepare_data(self, config: MelodyTransformerConfig, data: Any, options: DataOptions) -> TuneData:
        train, val, fingerprint = tunes_for(data, config, seed=options.split_seed, val_fraction=options.val_fraction,
                                            limit=options.limit)
        windows = TuneWindows(train, encoding=config.encoding, window_steps=config.window_steps,
                              transpose=config.transpose)
        if len(windows) == 0:
            raise AtelierError(f"data {data!r}: no tune fits the model's pitch range {config.min_pitch}..{config.max_pitch}")
        val_windows = held_out_windows(val, config, max_windows=MAX_VAL_WINDOWS, seed=options.split_seed) if val else None
        return TuneData(train=windows, fingerprint=fingerprint, val_windows=val_windows,
                        counts=condition_counts(train, config))

    def build_task(self, config: MelodyTransformerConfig, data: TuneData, *, seed: int) -> MelodyTransformerTask:
        return build_task(config, val_windows=data.val_windows, counts=data.counts, seed=seed)

    def evaluate(self, model: MelodyTransformerModel, *, name: str, options: EvalOptions) -> EvaluationReport:
        """Held-out perplexity against a 4-gram, and the tunes against held-out tunes
        (:func:`atelier.music.tunes.evaluate_tunes`)."""
        return evaluate_tunes(model, name=name, options=options)


FAMILY = MelodyTransformerFamily()
