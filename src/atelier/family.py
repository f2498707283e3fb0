"""The family contract: what every model family declares, and the one registry of families.

A *family* is one kind of model (a GAN, a melody RNN, a fast-style network…). Its module defines a
frozen config dataclass with named presets, a training task for :func:`atelier.training.fit`, a
trained model, and one :class:`Family` object that ties them together. The public API
(:mod:`atelier.api`) and the CLI reach every family only through this contract: they never probe a
module for what it happens to have.

Adding a family is its own module plus one line in :data:`FAMILIES` (or a call to :func:`register`
for a family that lives outside Atelier); docs/architecture.md walks through it.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from atelier.errors import AtelierError, choose_one

if TYPE_CHECKING:
    from atelier.checkpoint import Checkpoint
    from atelier.training.loop import Task


# ---- what travels between the steps of training and evaluation --------------------------------

@dataclass(frozen=True)
class DataOptions:
    """How ``atelier train`` reads a family's data; each family uses the options that apply to it."""

    val_fraction: float = field(default=0.1, metadata={"help": "held-out share of the data; 0 = no validation"})
    split_seed: int = field(default=0, metadata={"help": "seed of the train/validation split"})
    limit: int | None = field(default=None, metadata={"help": "use only the first N items of the data"})
    strict: bool = field(default=False, metadata={"help": "stop at the first unreadable image instead of skipping it"})
    max_pixels: int | None = field(default=None, metadata={"help": "decompression-bomb guard for image files"})

    def __post_init__(self) -> None:
        if not 0.0 <= self.val_fraction < 1.0:
            raise AtelierError(f"val_fraction={self.val_fraction} (--val-fraction): must be in [0, 1); 0 = no validation")
        if self.limit is not None and self.limit <= 0:
            raise AtelierError(f"limit={self.limit} (--limit): must be a positive number of items")
        if self.max_pixels is not None and self.max_pixels <= 0:
            raise AtelierError(f"max_pixels={self.max_pixels} (--max-pixels): must be positive")


@dataclass(frozen=True)
class TrainData:
    """What a family's :meth:`Family.prepare_data` returns: the items the loop draws batches from,
    and the fingerprint that identifies them in checkpoints. A family that hands more to its task
    (a validation batch, style pictures) subclasses this with typed fields of its own."""

    train: Any  # a dataset with __len__ and get_batch(indices), or a tensor of items
    fingerprint: str


@dataclass(frozen=True)
class EvalOptions:
    """How ``atelier evaluate`` scores a model; each family uses the options that apply to it."""

    data: str | None = None  # held-out data (None: the family's own default)
    num_samples: int = 2000  # generated items to score
    seed: int = 0
    split_seed: int = 0  # the held-out split, as in training
    val_fraction: float = 0.1
    iwae_k: int = 1000  # VAEs: importance samples of the NLL bound
    classifier: str = "digit-classifier"  # grey image models: the feature network of the metrics
    progress: bool = True  # progress bars for the long parts (sampling, features, likelihood bounds)

    def __post_init__(self) -> None:
        if self.num_samples < 2:
            raise AtelierError(f"num_samples={self.num_samples} (--num-samples): must be at least 2")
        if self.iwae_k < 1:
            raise AtelierError(f"iwae_k={self.iwae_k} (--iwae-k): must be at least 1")


@dataclass(frozen=True)
class EvaluationReport:
    """Metrics of one model against one held-out dataset."""

    model: str
    kind: str
    data: str
    num_samples: int
    metrics: dict[str, float]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def table(self) -> str:
        width = max(len(k) for k in self.metrics) if self.metrics else 6
        lines = [f"{self.model} ({self.kind}) on {self.data}, {self.num_samples} samples"]
        lines += [f"  {k:<{width}}  {v:10.4f}" for k, v in self.metrics.items()]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


# ---- the trained model --------------------------------------------------------------------------

class TrainedModel:
    """The verbs of a loaded model, one name each across families.

    A family's model class inherits this and overrides the verbs it has: ``sample`` (new works),
    ``interpolate`` (a path between two seeds or two works), ``encode``/``decode`` (to and from a
    latent code), ``stylize`` (a picture in a style) and ``translate`` (a picture into the other
    domain). A verb the model lacks raises one line that says which models have it.
    ``outputs`` says what ``sample`` returns: ``"images"`` (a tensor (N, C, H, W) in [-1, 1]),
    ``"melodies"`` (a list of :class:`~atelier.music.events.Melody`) or ``"pictures"`` (the style
    models, which only transform pictures). ``sample_options`` names the keyword options its
    ``sample`` takes besides ``n`` and ``seed``.
    """

    kind: ClassVar[str] = ""
    outputs: ClassVar[str] = ""
    sample_options: ClassVar[tuple[str, ...]] = ()

    def sample(self, n: int, *, seed: int = 0, **options: Any) -> Any:
        raise self._lacks("sample", "GANs, VAEs, melody RNNs and MusicVAEs")

    def interpolate(self, a: Any, b: Any, *, steps: int = 8, **options: Any) -> Any:
        raise self._lacks("interpolate", "GANs, VAEs and MusicVAEs")

    def encode(self, items: Any, **options: Any) -> Any:
        raise self._lacks("encode", "VAEs and MusicVAEs")

    def decode(self, z: Any, **options: Any) -> Any:
        raise self._lacks("decode", "GANs, VAEs and MusicVAEs")

    def stylize(self, content: Any, styles: Any = None, **options: Any) -> Any:
        raise self._lacks("stylize", "fast-style and AdaIN models")

    def translate(self, images: Any, **options: Any) -> Any:
        raise self._lacks("translate", "CycleGANs")

    def _lacks(self, verb: str, who: str) -> AtelierError:
        return AtelierError(f"a {self.kind or type(self).__name__} model cannot {verb}; {who} can")


# ---- the family ---------------------------------------------------------------------------------

class Family(ABC):
    """Everything Atelier needs to know about one model family, declared.

    Subclasses set the class attributes and implement the three steps of training and evaluation;
    ``load`` has a default that rebuilds the model from its checkpoint.
    """

    kind: ClassVar[str]  # the checkpoint's model kind, e.g. "gan"
    description: ClassVar[str]
    config_type: ClassVar[type]  # the frozen config dataclass
    model_type: ClassVar[type]  # the TrainedModel subclass `load` returns
    presets: ClassVar[Mapping[str, Any]]  # named configs
    default_data: ClassVar[str]  # what `atelier train` reads without --data
    train_defaults: ClassVar[Mapping[str, Any]] = {}  # TrainConfig fields this family sets differently
    preset_notes: ClassVar[Mapping[str, str]] = {}  # preset name → one line that tells it from its siblings

    @abstractmethod
    def prepare_data(self, config: Any, data: Any, options: DataOptions) -> TrainData:
        """Read ``data`` for ``config``: the training items, the fingerprint and whatever the task needs."""

    @abstractmethod
    def build_task(self, config: Any, data: TrainData, *, seed: int) -> Task:
        """The training task for :func:`atelier.training.fit`, weights initialised from ``seed``."""

    def load(self, ckpt: Checkpoint) -> TrainedModel:
        """The trained model a checkpoint of this family holds."""
        return self.model_type.from_checkpoint(ckpt)

    @abstractmethod
    def evaluate(self, model: Any, *, name: str, options: EvalOptions) -> EvaluationReport:
        """Score a loaded model against held-out data."""


# ---- the registry -------------------------------------------------------------------------------

# kind → "module:attribute" of its Family object; modules are imported only when a family is asked for.
FAMILIES: dict[str, str] = {
    "gan": "atelier.images.gan:FAMILY",
    "vae": "atelier.images.vae:FAMILY",
    "fast_style": "atelier.style.feedforward:FAMILY",
    "adain": "atelier.style.adain:FAMILY",
    "cyclegan": "atelier.style.cyclegan:FAMILY",
    "melody_rnn": "atelier.music.melody_rnn:FAMILY",
    "music_vae": "atelier.music.music_vae:FAMILY",
    "melody_transformer": "atelier.music.melody_transformer:FAMILY",
}
_LOADED: dict[str, Family] = {}


def register(family: Family) -> None:
    """Add a family defined outside Atelier (its ``kind`` must be new)."""
    if not isinstance(family, Family):
        raise AtelierError(f"register: expected a Family, got {type(family).__name__}")
    if family.kind in FAMILIES or family.kind in _LOADED:
        raise AtelierError(f"register: a family of kind {family.kind!r} already exists")
    _LOADED[family.kind] = family


def unregister(kind: str) -> None:
    """Remove a family added with :func:`register`."""
    if kind in FAMILIES:
        raise AtelierError(f"unregister: {kind!r} is one of Atelier's own families")
    _LOADED.pop(kind, None)


def kinds() -> list[str]:
    """Every family's kind."""
    return sorted({*FAMILIES, *_LOADED})


def get_family(kind: str) -> Family:
    """The family of ``kind``; an unknown kind lists the known ones."""
    if kind not in _LOADED:
        if kind not in FAMILIES:
            raise choose_one("model kind", kind, kinds())
        module, _, attribute = FAMILIES[kind].partition(":")
        _LOADED[kind] = getattr(importlib.import_module(module), attribute)
    return _LOADED[kind]


def families() -> list[Family]:
    return [get_family(kind) for kind in kinds()]


def family_of(model: Any) -> Family:
    """The family of a loaded model (its class declares its kind)."""
    return get_family(getattr(model, "kind", "") or type(model).__name__)


def all_presets() -> dict[str, tuple[Family, Any]]:
    """Every named preset of every family: ``{name: (family, config)}``. Preset names are unique
    across families; a clash is a bug in Atelier (or in a registered family) and is reported."""
    out: dict[str, tuple[Family, Any]] = {}
    for family in families():
        for name, config in family.presets.items():
            if name in out:
                raise AtelierError(f"preset {name!r} is defined by both {out[name][0].kind} and {family.kind}")
            out[name] = (family, config)
    return out


def get_preset(name: str) -> tuple[Family, Any]:
    """The family and config of preset ``name``; an unknown name lists the known ones."""
    presets = all_presets()
    if name not in presets:
        raise choose_one("preset", name, presets)
    return presets[name]
