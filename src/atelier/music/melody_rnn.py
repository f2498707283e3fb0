"""Melody RNN: an LSTM that predicts a melody one 16th-note event at a time.

The article's RNN, shaped after Magenta's melody RNN (Waite et al. 2016): events are Magenta's
(0 hold, 1 note-off, 2.. note-on; :mod:`atelier.music.events`), each step's input is the previous
event, and a softmax over the next event is trained by maximum likelihood. Two input encodings:

* basic (``lookback_distances=()``): the previous event, one-hot (Magenta's ``basic_rnn``);
* lookback (``lookback_distances=(16, 32)``, Magenta's ``lookback_rnn``): also the events one and
  two bars back, whether the last event repeated them, and the position in the bar as a binary
  counter; two extra output classes say "repeat the event of 1 (2) bars ago". Folk tunes repeat
  whole bars, and a repeat is one easy choice instead of a remembered pitch.

Attention (``attention_length=40``, Magenta's ``attention_rnn``, preset "melody-rnn-attention"):
the LSTM layers are wrapped in TensorFlow's ``AttentionCellWrapper``, as in Magenta's attention RNN
as published (later Magenta versions wrap the first layer only). The network keeps a window of its
last 40 outputs (2½ bars) and at each step attends over it, the query being the new LSTM state of
every layer; the attention vector joins the step's output and the next step's input. Where lookback
hands the model the events exactly 1 and 2 bars back, attention learns where to look within the
window. It works with either input encoding. The price is speed: the wrapped cell runs one step at
a time in Python instead of one fused LSTM call over the window, so a training step takes about 3.5
times as long (one CPU thread, 64 windows of 64 steps: ~0.35 s against ~0.1 s).

Generation samples event by event with a temperature, optionally after a primer, for many melodies
at once; Magenta's randomised beam search keeps the most likely of several sampled continuations.

Example:
    >>> import dataclasses
    >>> config = dataclasses.replace(PRESETS["melody-rnn-lookback"], rnn_size=16, num_layers=1)
    >>> model = MelodyRNNModel(config, build_task(config).network)
    >>> melodies = model.sample(2, bars=1, primer=[60, -2, 64, -2], seed=0)
    >>> [m.num_steps for m in melodies], melodies[0].pitches[:2]
    ([16, 16], [60, 64])
    >>> config = dataclasses.replace(PRESETS["melody-rnn-attention"], rnn_size=16, num_layers=1, attention_length=8)
    >>> model = MelodyRNNModel(config, build_task(config).network)
    >>> [m.num_steps for m in model.sample(2, bars=1, primer=[60, -2, 64, -2], beam_size=2, branch_factor=2)]
    [16, 16]
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from atelier.analysis.melodies import KeyEstimate, find_key
from atelier.checkpoint import Checkpoint, open_checkpoint
from atelier.data.melodies import (
    PitchRange,
    STEPS_PER_BAR,
    MelodyData,
    check_event_batch,
    check_shared_fields,
    events_to_melodies,
    prepare_melody,
    primer_melody,
)
from atelier.errors import AtelierError
from atelier.family import TrainedModel
from atelier.metrics.music import EventScores
from atelier.music.events import Melody
from atelier.music.melody_family import MelodyFamily, check_counts, check_temperature
from atelier.music.sampling import Controls, decode

KIND = "melody_rnn"
EVAL_BARS = 8  # generated melodies compared with the training windows by `FAMILY.evaluate`
PREVIEW_SEED = 0
MAX_VAL_WINDOWS = 512  # held-out windows scored during training (evaluation scores them all)
START = -1  # "no event before this one", the input at step 0


# ---------------------------------------------------------------------------------------------
# Inputs


def _back(events: torch.Tensor, positions: torch.Tensor, offset: int) -> torch.Tensor:
    """events[:, t - offset] for each t in ``positions`` (S,), START where t - offset < 0: (B, S)."""
    index = positions - offset
    picked = events[:, index.clamp(min=0)]
    return torch.where(index >= 0, picked, START)


def binary_counter(positions: torch.Tensor, bits: int) -> torch.Tensor:
    """±1 per bit of each position (S,) → (S, bits): the position in a bar as Magenta's lookback
    RNN gives it (bit 0 flips every step, bit 4 every 16 steps).

    >>> binary_counter(torch.tensor([0, 1, 5]), 3).tolist()
    [[-1, -1, -1], [1, -1, -1], [1, -1, 1]]
    """
    return ((positions.unsqueeze(-1) >> torch.arange(bits, device=positions.device)) & 1) * 2 - 1


class WindowAttention(nn.Module):
    """The weights of TensorFlow's ``AttentionCellWrapper`` (attn_size = attn_vec_size = the LSTM's
    size H, input_size = the input's size I), which Magenta's attention_rnn wraps around its LSTM
    layers; :meth:`MelodyLSTM.forward` runs the wrapped cell step by step.

    Per step t, with x_t the step's input, a_{t-1} the previous attention vector, o_{t-n}..o_{t-1}
    the window of the last n outputs (zeros before the first step), and s_t = [c¹_t; h¹_t; …; cᴸ_t; hᴸ_t]
    the LSTM's new state, every layer's cell and hidden vectors:
        x'_t     = W_in [x_t; a_{t-1}] + b_in                 the cell's input (size I again)
        y_t, s_t = LSTM(x'_t, s_{t-1})                         every layer, one step; y_t: the top h
        u_j      = v · tanh(W_k o_j + W_q s_t + b_q)          j = t-n..t-1: additive (Bahdanau) scores
        α        = softmax(u)                                  over the whole window, zeros included
        a_t      = Σ_j α_j o_j                                 the new attention vector
        o_t      = W_out [y_t; a_t] + b_out                    the step's output (→ the label logits)
        window   ← o_{t-n+1}, …, o_t                           o_{t-n} drops out, o_t comes in
    Dropout (training) is on each layer's output y, as Magenta's DropoutWrapper inside the wrapper.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, length: int) -> None:
        super().__init__()
        self.length = length  # n
        self.cell_input = nn.Linear(input_size + hidden_size, input_size)  # W_in, b_in
        self.key = nn.Linear(hidden_size, hidden_size, bias=False)  # W_k (TF: a 1×1 convolution)
        self.query = nn.Linear(2 * num_layers * hidden_size, hidden_size)  # W_q, b_q
        self.score = nn.Parameter(torch.empty(hidden_size).uniform_(-hidden_size ** -0.5, hidden_size ** -0.5))  # v
        self.output = nn.Linear(2 * hidden_size, hidden_size)  # W_out, b_out


class MelodyLSTM(nn.Module):
    """Inputs for each step → LSTM layers (with attention: wrapped, :class:`WindowAttention`) →
    logits over the next step's labels.

    Labels are the events 0..C-1, then (lookback) one "repeat" label per distance.
    Input per step (lookback shown; basic has only the first part):
      one-hot(previous event or START) (C+1) | one-hot(event d_k steps before the target) (K·C)
      | previous event repeats d_k back (K) | position of the target, binary counter (bits)
    """

    def __init__(self, config: MelodyRNNConfig) -> None:
        super().__init__()
        self.config = config
        c, k = config.num_classes, len(config.lookback_distances)
        self.bits = max(1, math.ceil(math.log2(max(config.lookback_distances)))) if k else 0
        self.input_size = (c + 1) + (k * c + k + self.bits)
        self.lstm = nn.LSTM(self.input_size, config.rnn_size, config.num_layers, batch_first=True,
                            dropout=config.dropout if config.num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(config.dropout)
        self.attention = (WindowAttention(self.input_size, config.rnn_size, config.num_layers, config.attention_length)
                          if config.attention_length else None)
        self.out = nn.Linear(config.rnn_size, c + k)

    def inputs(self, events: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        """The inputs that predict steps ``start..stop-1`` of ``events`` (B, T): (B, S, input_size).

        Only events before each predicted step are read, so a buffer filled up to ``start`` works.
        """
        c = self.config.num_classes
        positions = torch.arange(start, stop, device=events.device)  # (S,)
        previous = _back(events, positions, 1)  # (B, S)
        parts = [F.one_hot(torch.where(previous == START, c, previous), c + 1)]
        distances = self.config.lookback_distances
        for d in distances:
            back = _back(events, positions, d)
            parts.append(F.one_hot(back.clamp(min=0), c) * (back >= 0).unsqueeze(-1))
        for d in distances:
            parts.append(((previous >= 0) & (previous == _back(events, positions, d + 1))).unsqueeze(-1))
        if distances:
            parts.append(binary_counter(positions, self.bits).expand(events.shape[0], -1, -1))
        return torch.cat([p.float() for p in parts], dim=-1)

    def forward(self, inputs: torch.Tensor, state: tuple[torch.Tensor, ...] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """inputs (B, S, input_size), the state after the steps before (None: at the start) → label
        logits (B, S, C+K), the state after these steps.

        The state is a tuple of tensors with the batch in dimension 1 (so sampling can repeat and
        pick its rows): the LSTM's (h, c), each (L, B, H); with attention also the attention vector
        a (1, B, H), the window of outputs o (n, B, H), oldest first, and their keys W_k o (n, B, H).
        Feeding a sequence in pieces gives the same logits as feeding it whole.
        """
        if self.attention is None:
            hidden, state = self.lstm(inputs, state)  # (B, S, H)
            return self.out(self.dropout(hidden)), state
        outputs, state = self._attend(inputs, state)  # (B, S, H)
        return self.out(outputs), state

    def _attend(self, inputs: torch.Tensor, state: tuple[torch.Tensor, ...] | None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """The attention-wrapped LSTM, step by step (the equations are :class:`WindowAttention`'s):
        inputs (B, S, I) → outputs o (B, S, H), the state after the last step."""
        attention, (b, steps, i) = self.attention, inputs.shape
        if state is None:
            h = inputs.new_zeros(self.config.num_layers, b, self.config.rnn_size)
            n = inputs.new_zeros(attention.length, b, self.config.rnn_size)
            state = (h, h, h[:1], n, n)  # zeros: h, c, a, window, keys
        h, c, a, window, keys = state
        # W_in [x_t; a_{t-1}] + b_in = (W_in,x x_t + b_in) + W_in,a a_{t-1}: the first part for all steps at once
        w_x, w_a = attention.cell_input.weight.split([i, self.config.rnn_size], dim=1)
        x_in = F.linear(inputs, w_x, attention.cell_input.bias)  # (B, S, I)
        outputs = []
        for t in range(steps):
            y, hs, cs = x_in[:, t] + F.linear(a[0], w_a), [], []  # x'_t (B, I)
            # one step of each LSTM layer, with self.lstm's weights (faster here than calling it on one step)
            for layer, (w_ih, w_hh, b_ih, b_hh) in enumerate(self.lstm.all_weights):
                h_layer, c_layer = torch.lstm_cell(y, (h[layer], c[layer]), w_ih, w_hh, b_ih, b_hh)
                hs.append(h_layer)
                cs.append(c_layer)
                y = self.dropout(h_layer)  # on every layer's output, as nn.LSTM between layers
            h, c = torch.stack(hs), torch.stack(cs)  # (L, B, H) each
            query = attention.query(torch.cat([c, h], dim=-1).transpose(0, 1).flatten(1))  # s_t → (B, H)
            scores = torch.tanh(keys + query) @ attention.score  # (n, B)
            a = (scores.softmax(dim=0).unsqueeze(-1) * window).sum(dim=0, keepdim=True)  # (1, B, H)
            o = attention.output(torch.cat([y, a[0]], dim=-1))  # (B, H)
            window = torch.cat([window[1:], o.unsqueeze(0)])
            keys = torch.cat([keys[1:], attention.key(o).unsqueeze(0)])
            outputs.append(o)
        return torch.stack(outputs, dim=1), (h, c, a, window, keys)

    def event_log_probs(self, logits: torch.Tensor, events: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        """log p(event) for steps ``start..stop-1``: (B, S, C), from label logits (B, S, C+K).

        A repeat label stands for the event d_k steps back, so p(event e) is p(label e) plus the
        p(repeat k) of every k whose event d_k back is e; a repeat with nothing that far back is
        impossible. This is the exact likelihood of the events, comparable across encodings.
        """
        c = self.config.num_classes
        distances = self.config.lookback_distances
        if not distances:
            return F.log_softmax(logits, dim=-1)
        positions = torch.arange(start, stop, device=events.device)
        backs = [_back(events, positions, d) for d in distances]  # K × (B, S)
        blocked = torch.stack([b < 0 for b in backs], dim=-1)  # (B, S, K)
        logits = torch.cat([logits[..., :c], logits[..., c:].masked_fill(blocked, -1e9)], dim=-1)
        log_p = F.log_softmax(logits, dim=-1)  # (B, S, C+K)
        event_log_p = log_p[..., :c]
        for k, back in enumerate(backs):
            index = back.clamp(min=0).unsqueeze(-1)  # (B, S, 1)
            direct = event_log_p.gather(-1, index).squeeze(-1)
            merged = torch.where(back >= 0, torch.logaddexp(direct, log_p[..., c + k]), direct)
            event_log_p = event_log_p.scatter(-1, index, merged.unsqueeze(-1))
        return event_log_p

    # The objective (maximum likelihood, as in Magenta's melody RNN):
    #   log p(e_0 … e_{T−1}) = Σ_t log p(e_t | e_<t),
    # each factor from the LSTM's softmax after reading e_0 … e_{t−1} (START before e_0).
    def log_probs(self, events: torch.Tensor) -> torch.Tensor:
        """Teacher-forced log p(e_t | e_<t) for every step and event: events (B, T) → (B, T, C)."""
        t = events.shape[1]
        logits, _ = self(self.inputs(events, 0, t))
        return self.event_log_probs(logits, events, 0, t)


# ---------------------------------------------------------------------------------------------
# Config


@dataclass(frozen=True)
class MelodyRNNConfig(PitchRange):
    """The network, its input encoding and its training data settings."""

    min_pitch: int = 48  # C3; with max_pitch, Magenta's melody RNN range: 36 pitches, 38 events
    max_pitch: int = 83  # B5
    rnn_size: int = 128  # LSTM units per layer (Magenta's basic_rnn: two layers of 128)
    num_layers: int = 2
    dropout: float = 0.5  # on each layer's outputs (Magenta: dropout_keep_prob 0.5)
    lookback_distances: tuple[int, ...] = ()  # steps; (16, 32) = 1 and 2 bars (lookback RNN)
    attention_length: int = 0  # steps of past outputs attended over; 0: no attention (40: attention RNN)
    window_bars: int = 4  # training windows of 4 bars = 64 steps, one every bar
    key: str = "C"  # "C": train in C major / A minor (Magenta's transpose_to_key=0); "any": as written
    transpose: tuple[int, ...] = (0,)  # transposition augmentation, semitones
    lr: float = 1e-3  # Adam
    clip_grad_norm: float = 5.0  # Magenta's clip_norm

    def __post_init__(self) -> None:
        check_shared_fields(self)
        if self.rnn_size < 1 or self.num_layers < 1:
            raise AtelierError(f"rnn_size={self.rnn_size}, num_layers={self.num_layers}; both must be at least 1")
        if not 0.0 <= self.dropout < 1.0:
            raise AtelierError(f"dropout={self.dropout}; must be in [0, 1)")
        if any(d < 1 for d in self.lookback_distances):
            raise AtelierError(f"lookback_distances={self.lookback_distances}; each must be at least 1 step")
        if self.attention_length < 0:
            raise AtelierError(f"attention_length={self.attention_length}; must be 0 (no attention) or a number "
                               "of steps of at least 1")
        if self.window_bars < 1:
            raise AtelierError(f"window_bars={self.window_bars}; must be at least 1")

    @property
    def window_steps(self) -> int:
        return self.window_bars * STEPS_PER_BAR


PRESETS: dict[str, MelodyRNNConfig] = {
    # Magenta's basic_rnn: the previous event in, the next event out; two LSTM layers of 128.
    "melody-rnn": MelodyRNNConfig(),
    # Magenta's lookback_rnn: also the events 1 and 2 bars back, bar position, "repeat" outputs.
    "melody-rnn-lookback": MelodyRNNConfig(lookback_distances=(16, 32)),
    # Magenta's attention_rnn: basic inputs; the LSTM attends over its last 40 outputs at each step.
    "melody-rnn-attention": MelodyRNNConfig(attention_length=40),
}


# ---------------------------------------------------------------------------------------------
# Training


class MelodyRNNTask:
    """A melody RNN for :func:`atelier.training.fit`: one module "rnn", one Adam optimizer "rnn"."""

    kind = KIND

    def __init__(self, config: MelodyRNNConfig, *, val_windows: torch.Tensor | None = None) -> None:
        self.config = config
        self.network = MelodyLSTM(config)
        self.modules: dict[str, nn.Module] = {"rnn": self.network}
        self.optimizers = {"rnn": torch.optim.Adam(self.network.parameters(), lr=config.lr)}
        self.val_windows = None if val_windows is None else check_event_batch(
            val_windows, config.num_classes, what="validation windows")

    def train_step(self, batch: Any, ctx: Any) -> dict[str, float]:
        """One Adam step on the mean negative log-likelihood per step (nats) of a batch of windows.

        Dropout draws from the generator the loop seeds for each step, so runs resume exactly.
        """
        events = check_event_batch(batch, self.config.num_classes, what="melody RNN")  # (B, T)
        log_probs = self.network.log_probs(events)  # (B, T, C)
        loss = F.nll_loss(log_probs.flatten(0, 1), events.flatten())
        ctx.optimize("rnn", loss, clip_grad_norm=self.config.clip_grad_norm)
        accuracy = (log_probs.argmax(-1) == events).float().mean()
        return {"loss": loss.item(), "accuracy": accuracy.item()}

    @torch.no_grad()
    def preview(self, ctx: Any):
        """Piano rolls of two 8-bar melodies sampled from fixed seeds."""
        from atelier.music.audio import piano_roll_image

        model = MelodyRNNModel(self.config, self.network)
        melodies = model.sample(2, bars=8, seed=PREVIEW_SEED)
        self.network.train()  # MelodyRNNModel put the shared network in eval mode
        return piano_roll_image(melodies, titles=[f"step {ctx.step + 1}: sample {i + 1}" for i in range(2)])

    @torch.no_grad()
    def validate(self, ctx: Any) -> dict[str, float]:
        """Loss, perplexity and accuracies on held-out windows; empty without them."""
        if self.val_windows is None:
            return {}
        self.network.eval()
        metrics = score_events(self.network, self.val_windows)
        self.network.train()
        return metrics


def build_task(config: MelodyRNNConfig, *, val_windows: torch.Tensor | None = None, seed: int = 0) -> MelodyRNNTask:
    """The training task for ``config``, its weights initialised from ``seed``.

    >>> task = build_task(PRESETS["melody-rnn"])
    >>> list(task.modules), sum(p.numel() for p in task.network.parameters())
    (['rnn'], 223526)
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MelodyRNNTask(config, val_windows=val_windows)


@torch.no_grad()
def score_events(network: MelodyLSTM, windows: torch.Tensor, *, batch_size: int = 256) -> dict[str, float]:
    """Teacher-forced loss (nats per step), perplexity and accuracies over windows (N, T)."""
    scores = EventScores()
    device = next(network.parameters()).device
    for start in range(0, windows.shape[0], batch_size):
        events = windows[start:start + batch_size].to(device)
        scores.add(network.log_probs(events), events)
    return scores.metrics()


# ---------------------------------------------------------------------------------------------
# The trained model


class MelodyRNNModel(TrainedModel, nn.Module):
    """A trained melody RNN to sample and score melodies: ``MelodyRNNModel.from_checkpoint(path)``."""

    kind = KIND
    outputs = "melodies"
    sample_options = ("bars", "primer", "temperature", "beam_size", "branch_factor", "steps_per_iteration", "qpm",
                      "program")

    def __init__(self, config: MelodyRNNConfig, network: MelodyLSTM, *, provenance: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.config = config
        self.network = network
        self.provenance = dict(provenance or {})  # training data and split, for FAMILY.evaluate
        self.eval()

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint | str | os.PathLike) -> MelodyRNNModel:
        """Rebuild the network a checkpoint was trained with.

        >>> import dataclasses, os, tempfile
        >>> from atelier.checkpoint import save_checkpoint
        >>> config = dataclasses.replace(PRESETS["melody-rnn"], rnn_size=8)
        >>> path = save_checkpoint(os.path.join(tempfile.mkdtemp(), "rnn.safetensors"), kind=KIND,
        ...                        config=dataclasses.asdict(config), modules=build_task(config).modules)
        >>> MelodyRNNModel.from_checkpoint(path).config == config
        True
        """
        ckpt, config = open_checkpoint(ckpt, kind=KIND, config_type=MelodyRNNConfig)
        network = MelodyLSTM(config)
        network.load_state_dict(ckpt.module_state("rnn"))
        return cls(config, network, provenance=ckpt.meta.get("provenance", {}))

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    @torch.no_grad()
    def sample(
        self,
        n: int = 1,
        *,
        bars: int = 16,
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
        """``n`` melodies of ``bars`` 4/4 bars, sampled together in one batch.

        ``primer``: a :class:`Melody` (e.g. ``read_midi(path)``) or Magenta's list of one value per
        16th-note step (a pitch starts a note, -2 holds, -1 stops); it opens every melody. A model
        trained in C moves the primer to C major / A minor first and its output back to the primer's
        key; a primer is also moved by whole octaves into the model's range when it fits.
        ``temperature`` divides the log-probabilities (< 1: safer, > 1: wilder). Beam search
        (``beam_size`` > 1 or ``branch_factor`` > 1; Magenta's randomised beam search): each of
        ``beam_size`` candidates is extended ``branch_factor`` times by ``steps_per_iteration``
        sampled steps and the most likely ``beam_size`` are kept. ``top_p`` < 1 draws only from the
        likeliest events that make up that much probability; ``in_key`` keeps every note in the key's
        scale and ``end_on_tonic`` ends each melody on a held tonic (:mod:`atelier.music.sampling`):
        the key is the primer's (found after its move), else C major for the scale and, for the
        ending, the key each melody found itself in over all but its last bar. The same arguments
        and ``seed`` give the same melodies.

        >>> import dataclasses
        >>> config = dataclasses.replace(PRESETS["melody-rnn"], rnn_size=8, num_layers=1)
        >>> model = MelodyRNNModel(config, build_task(config).network)
        >>> a = model.sample(3, bars=2, temperature=0.9, seed=4, qpm=90)
        >>> a == model.sample(3, bars=2, temperature=0.9, seed=4, qpm=90), a[0].qpm, a[0].num_steps
        (True, 90.0, 32)
        """
        # 1. check inputs
        check_counts(n=n, bars=bars, beam_size=beam_size, branch_factor=branch_factor,
                     steps_per_iteration=steps_per_iteration)
        check_temperature(temperature)
        num_steps = bars * STEPS_PER_BAR
        # 2. the primer, in the model's key and range; the key the constraints keep to
        primed, shift, key = torch.zeros(0, dtype=torch.int64), 0, KeyEstimate(0, "major", 0.0)
        if primer is not None:
            melody = primer_melody(primer, self.config.encoding)
            prepared = prepare_melody(melody, encoding=self.config.encoding, key=self.config.key, what="primer")
            primed, shift = torch.from_numpy(prepared.events), prepared.shift
            if len(primed) > num_steps:
                raise AtelierError(f"primer: {len(primed)} steps ({len(primed) / STEPS_PER_BAR:g} bars) is longer than "
                                   f"the {bars} bars ({num_steps} steps) to generate; ask for more bars")
            if melody.notes and (in_key or end_on_tonic):
                key = find_key(melody.transpose(shift))
        if end_on_tonic and len(primed) > num_steps - STEPS_PER_BAR:
            raise AtelierError(f"end_on_tonic: the primer ({len(primed)} steps) reaches into the last bar, which it "
                               "could not change; ask for more bars")
        controls = Controls(temperature=temperature, top_p=top_p, scale=key.scale if in_key else None,
                            steps_per_bar=STEPS_PER_BAR)
        options = dict(seed=seed, beam_size=beam_size, branch_factor=branch_factor,
                       steps_per_iteration=steps_per_iteration)
        # 3. sample; to end on the tonic without a primer to say the key, the model first writes all
        # but the last bar, and each melody ends on the tonic of the key it found itself in
        last_bar = num_steps - STEPS_PER_BAR
        if end_on_tonic and primer is None and last_bar > 0:
            start = sample_events(self.network, n, num_steps=last_bar, primer=primed, controls=controls, **options)
            tonics = [find_key(m).tonic if m.notes else key.tonic
                      for m in events_to_melodies(start, self.config.encoding)]
            if in_key:  # a key found outside the scale kept to (F# minor from F-A-B): end on the scale's own tonic
                tonics = [t if t in controls.scale else key.tonic for t in tonics]
            ends = [replace(controls, tonic=t) for t in tonics]
            events = sample_events(self.network, n, num_steps=num_steps, primer=start, controls=ends,
                                   **{**options, "seed": seed + 2**32})  # not another seed's first pass
        else:
            events = sample_events(self.network, n, num_steps=num_steps, primer=primed,
                                   controls=replace(controls, tonic=key.tonic if end_on_tonic else None), **options)
        # 4. melodies, back in the primer's key
        return events_to_melodies(events, self.config.encoding, qpm=qpm, program=program, shift=shift)

    @torch.no_grad()
    def log_likelihood(self, melodies: Sequence[Melody]) -> torch.Tensor:
        """log p(melody) in nats for each melody, as written (no key move): (N,).

        >>> import dataclasses
        >>> config = dataclasses.replace(PRESETS["melody-rnn"], rnn_size=8, num_layers=1)
        >>> model = MelodyRNNModel(config, build_task(config).network)
        >>> model.log_likelihood(model.sample(2, bars=1)).shape
        torch.Size([2])
        """
        out = []
        for melody in melodies:
            events = torch.from_numpy(melody.to_events(self.config.encoding)).unsqueeze(0).to(self.device)  # (1, T)
            log_probs = self.network.log_probs(events)  # (1, T, C)
            out.append(log_probs.gather(-1, events.unsqueeze(-1)).sum())
        return torch.stack(out).cpu() if out else torch.zeros(0)

    @torch.no_grad()
    def score(self, windows: torch.Tensor) -> dict[str, float]:
        """Loss (nats per step), perplexity, accuracy, event and no-event accuracy on windows (N, T)."""
        check_event_batch(windows, self.config.num_classes, what="windows")
        return score_events(self.network, windows)


def sample_events(
    network: MelodyLSTM,
    n: int,
    *,
    num_steps: int,
    primer: torch.Tensor,
    controls: Controls | list[Controls],
    seed: int,
    beam_size: int = 1,
    branch_factor: int = 1,
    steps_per_iteration: int = 1,
) -> torch.Tensor:
    """Events (n, num_steps) that continue ``primer`` ((P,) or one per melody, (n, P)), each the best of its own beam
    (:func:`atelier.music.sampling.decode`).

    All n·beam_size·branch_factor sequences advance together, one LSTM step at a time. The
    network's state (a tuple of tensors, the batch in dimension 1 of each) is repeated and picked
    along with the candidates.
    """

    def step(events: torch.Tensor, t: int, state: Any) -> tuple[torch.Tensor, Any]:
        first = 0 if state is None else t  # the first call reads the primer too
        logits, state = network(network.inputs(events, first, t + 1), state)  # (B, S, C+K)
        return network.event_log_probs(logits[:, -1:], events, t, t + 1)[:, 0], state  # (B, C)

    def reorder(state: Any, index: torch.Tensor) -> Any:
        return tuple(s[:, index] for s in state)

    return decode(step, reorder, n=n, num_steps=num_steps, primer=primer, encoding=network.config.encoding,
                  controls=controls, seed=seed, beam_size=beam_size, branch_factor=branch_factor,
                  steps_per_iteration=steps_per_iteration, device=next(network.parameters()).device)


# ---------------------------------------------------------------------------------------------
# The family


class MelodyRNNFamily(MelodyFamily):
    """The melody RNN as :mod:`atelier.family` sees it; training data and evaluation are
    :class:`~atelier.music.melody_family.MelodyFamily`'s."""

    kind = KIND
    description = "melody RNN: an LSTM over melody events (basic, lookback and attention)"
    config_type = MelodyRNNConfig
    model_type = MelodyRNNModel
    presets = PRESETS
    preset_notes = {
        "melody-rnn": "Magenta's basic_rnn: the previous event in, the next out; 2 LSTM layers of 128",
        "melody-rnn-lookback": "Magenta's lookback_rnn: also sees the events 1 and 2 bars back and the bar position",
        "melody-rnn-attention": "Magenta's attention_rnn: attends over its last 40 outputs at each step; 2 LSTM layers "
                                "of 128",
    }
    max_val_windows = MAX_VAL_WINDOWS

    def windows(self, config: MelodyRNNConfig) -> tuple[int, int]:
        return config.window_steps, 1

    def build_task(self, config: MelodyRNNConfig, data: MelodyData, *, seed: int) -> MelodyRNNTask:
        return build_task(config, val_windows=data.val_windows, seed=seed)

    def held_out_metrics(self, model: MelodyRNNModel, windows: torch.Tensor) -> tuple[dict[str, float], list[str]]:
        """Teacher-forced loss, perplexity, accuracy, event and no-event accuracy."""
        metrics = {f"held_out_{k}": v for k, v in model.score(windows).items()}
        return metrics, ["loss in nats per 16th-note step, perplexity = exp(loss)"]

    def evaluation_samples(self, model: MelodyRNNModel, n: int, *, seed: int) -> tuple[list[Melody], int]:
        return model.sample(n, bars=EVAL_BARS, seed=seed), EVAL_BARS


FAMILY = MelodyRNNFamily()
