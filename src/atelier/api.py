"""The public API: load, train, sample, interpolate, evaluate. The CLI is a thin layer over these."""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from atelier import zoo
from atelier.checkpoint import load_checkpoint
from atelier.config import Family, get_family, get_preset, override
from atelier.errors import AtelierError
from atelier.training import TrainConfig, TrainResult, fit

DEFAULT_SPLIT_SEED = 0  # the train/validation split every recipe and evaluation uses by default
DEFAULT_VAL_FRACTION = 0.1


def available_models() -> list[str]:
    """Names of the shipped models (``atelier.load`` takes these or a checkpoint path)."""
    return zoo.available_models()


def _checkpoint_path(model: str | os.PathLike) -> Path:
    path = Path(model).expanduser()
    if path.exists() or path.suffix in (".safetensors", ".pt", ".pth", ".ckpt", ".pkl"):
        return path
    names = zoo.available_models()
    if str(model) not in names:
        raise AtelierError(
            f"model {str(model)!r}: no such checkpoint file and not a shipped model; "
            f"shipped models: {', '.join(names) or '(none installed)'}"
        )
    return zoo.resolve(str(model))


def load(model: str | os.PathLike, *, kind: str | tuple[str, ...] | None = None) -> Any:
    """Load a shipped model by name, or any Atelier checkpoint by path.

    >>> import atelier
    >>> gan = atelier.load("mnist-dcgan")          # doctest: +SKIP
    >>> images = gan.sample(16, seed=0)             # (16, 1, 28, 28) in [-1, 1]  # doctest: +SKIP
    """
    ckpt = load_checkpoint(_checkpoint_path(model), expect_kind=kind)
    family = get_family(ckpt.kind)
    return family.model_type().from_checkpoint(ckpt)


def load_classifier(model: str | os.PathLike = "digit-classifier"):
    """The feature network of the image metrics: Atelier's own digit classifier."""
    from atelier.images.classifier import ClassifierConfig, DigitClassifier

    ckpt = load_checkpoint(_checkpoint_path(model), expect_kind="classifier")
    net = DigitClassifier(ClassifierConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in ckpt.config.items()}))
    net.load_state_dict(ckpt.module_state("classifier"))
    return net.eval()


# ---- training ----------------------------------------------------------------------------------

def resolve_config(preset: str | Any, overrides: list[str] | None = None) -> tuple[Family, Any]:
    """A preset name (or a config object) plus ``key=value`` overrides → (family, config)."""
    if isinstance(preset, str):
        family, config = get_preset(preset)
    else:
        kind = getattr(type(preset), "KIND", None) or getattr(preset, "kind", None)
        family = get_family(kind)
        config = preset
    return family, override(config, overrides or [])


def train(
    preset: str | Any,
    *,
    data: str | os.PathLike = "mnist",
    out: str | os.PathLike | None = None,
    overrides: list[str] | None = None,
    train_config: TrainConfig | None = None,
    resume: bool = False,
    val_fraction: float = DEFAULT_VAL_FRACTION,
    split_seed: int = DEFAULT_SPLIT_SEED,
    strict: bool = False,
    max_pixels: int | None = None,
    limit: int | None = None,
) -> TrainResult:
    """Train a preset (or config) on a dataset; checkpoints, samples and logs go to ``out``.

    >>> from atelier import train, TrainConfig
    >>> result = train("mnist-dcgan", data="mnist", out="runs/dcgan",
    ...                train_config=TrainConfig(num_steps=200))   # doctest: +SKIP
    """
    # 1. Resolve the model config and the loop's settings.
    family, config = resolve_config(preset, overrides)
    train_config = train_config or TrainConfig()
    out = Path(out or f"runs/{preset if isinstance(preset, str) else family.kind}")
    module = family.load_module()
    # 2. Prepare the data the family trains on.
    if hasattr(module, "prepare_training"):
        train_data, task_kwargs, fingerprint = module.prepare_training(
            config, data, seed=split_seed, val_fraction=val_fraction, limit=limit)
    elif family.domain == "image":
        train_data, task_kwargs, fingerprint = _prepare_images(
            config, data, seed=split_seed, val_fraction=val_fraction, strict=strict,
            max_pixels=max_pixels, limit=limit)
    else:
        raise AtelierError(f"family {family.kind!r} cannot be trained with `atelier train`")
    # 3. Build the task and run the loop.
    task = module.build_task(config, seed=train_config.seed, **task_kwargs)
    provenance = {"preset": preset if isinstance(preset, str) else None, "data": str(data),
                  "split_seed": split_seed, "val_fraction": val_fraction, "overrides": list(overrides or [])}
    return fit(task, train_data, config=train_config, out_dir=out, resume=resume,
               data_fingerprint=fingerprint, provenance=provenance)


def _prepare_images(config: Any, data: str | os.PathLike, *, seed: int, val_fraction: float, strict: bool,
                    max_pixels: int | None, limit: int | None):
    from atelier.data.images import load_images
    from atelier.imageio import DEFAULT_MAX_PIXELS

    ds = load_images(data, size=config.image_size, channels=config.channels, strict=strict,
                     max_pixels=max_pixels or DEFAULT_MAX_PIXELS, limit=limit)
    if ds.skipped:
        print(f"skipped {len(ds.skipped)} unreadable or unsupported file(s) in {data}; first: {ds.skipped[0]}")
    num_classes = getattr(config, "num_classes", 0)
    if num_classes:
        if ds.labels is None:
            raise AtelierError(f"data {data}: a class-conditional model needs labels, and this data has none")
        if ds.num_classes > num_classes:
            raise AtelierError(f"data {data}: has {ds.num_classes} classes, the model takes {num_classes} (--set num_classes=…)")
    train_ds, val_ds = ds.split(val_fraction=val_fraction, seed=seed)
    return train_ds, {"val_batch": val_ds.all()}, ds.fingerprint()


# ---- sampling ----------------------------------------------------------------------------------

def sample(model: Any, n: int = 64, *, seed: int = 0, labels: list[int] | int | None = None,
           truncation: float | None = None, temperature: float | None = None) -> torch.Tensor:
    """``n`` images (n, C, H, W) in [-1, 1] from a loaded image model."""
    if n <= 0:
        raise AtelierError(f"--n must be a positive number of images, got {n}")
    if isinstance(labels, int):
        labels = [labels] * n
    kwargs: dict[str, Any] = {"seed": seed, "labels": labels}
    if truncation is not None:
        if "truncation" not in inspect.signature(model.sample).parameters:
            raise AtelierError("--truncation applies to GANs only")
        kwargs["truncation"] = truncation
    if temperature is not None:
        if "temperature" not in inspect.signature(model.sample).parameters:
            raise AtelierError("--temperature applies to VAEs only; GANs take --truncation")
        kwargs["temperature"] = temperature
    with torch.no_grad():
        return model.sample(n, **kwargs)


# ---- evaluation --------------------------------------------------------------------------------

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


def evaluate(
    model: str | os.PathLike,
    *,
    data: str | os.PathLike | None = None,
    num_samples: int = 2000,
    seed: int = 0,
    iwae_k: int = 1000,
    split_seed: int = DEFAULT_SPLIT_SEED,
    val_fraction: float = DEFAULT_VAL_FRACTION,
    classifier: str | os.PathLike = "digit-classifier",
) -> EvaluationReport:
    """Score a model on held-out data: FD/KID/IS/precision/recall, and for a VAE the negative ELBO
    and an importance-weighted NLL (nats).

    The sample metrics are measured in the digit classifier's feature space (``classifier``) for
    grey models, and in EfficientNet-Lite0's (pooled 1280-d ImageNet features, images resized to
    224 px; IS over its 1,000 ImageNet classes) for RGB models (``channels == 3``), where
    ``classifier`` is not used. Other families (music, CycleGAN) score themselves through their
    module's ``evaluate_model``."""
    from atelier.data.images import load_images
    from atelier.metrics.images import LITE0_NOTE, evaluate_images, evaluate_rgb_images

    # 1. Check inputs and load.
    if num_samples < 2:
        raise AtelierError(f"--num-samples must be at least 2, got {num_samples}")
    if iwae_k < 1:
        raise AtelierError(f"--iwae-k must be at least 1, got {iwae_k}")
    loaded = load(model)
    family = next((f for f in _families() if isinstance(loaded, f.model_type())), None)
    if family is not None and family.domain != "image":
        module = family.load_module()
        if hasattr(module, "evaluate_model"):
            return module.evaluate_model(loaded, name=str(model), data=data, seed=seed, num_samples=num_samples)
        raise AtelierError(f"model {model}: evaluation of {family.kind} models is not available")
    cfg = loaded.config
    data = data or "mnist"
    # 2. The held-out real images, at the model's size.
    ds = load_images(data, size=cfg.image_size, channels=cfg.channels)
    _, held_out = ds.split(val_fraction=val_fraction, seed=split_seed)
    real, real_labels = held_out.all()
    # 3. Generated images (class-balanced for conditional models).
    labels = None
    if getattr(cfg, "num_classes", 0):
        labels = [i % cfg.num_classes for i in range(num_samples)]
    chunks = _chunks(labels or [None] * num_samples, 500)
    with torch.no_grad():
        fake = torch.cat([loaded.sample(len(c), seed=seed + i, labels=c if labels else None)
                          for i, c in enumerate(chunks)])
    # 4. Metrics: RGB models in EfficientNet-Lite0's feature space, grey (digit) models in the classifier's.
    if cfg.channels == 3:
        metrics = evaluate_rgb_images(fake, real).to_dict()
        notes = [LITE0_NOTE]
    else:
        metrics = evaluate_images(fake, real, load_classifier(classifier)).to_dict()
        notes = ["FD/KID/IS/precision/recall are measured in the features of Atelier's own digit classifier; "
                 "they are not comparable with Inception-based FID."]
    if hasattr(loaded, "negative_elbo"):
        metrics["neg_elbo_nats"] = float(loaded.negative_elbo(real, real_labels if cfg.num_classes else None))
        metrics[f"iwae_nll_nats_k{iwae_k}"] = float(
            loaded.importance_weighted_nll(real, real_labels if cfg.num_classes else None, k=iwae_k))
        notes.append("ELBO and NLL are in nats per image on data scaled to [0, 1].")
    return EvaluationReport(model=str(model), kind=_kind_of(loaded), data=f"{data} (held-out {len(held_out)})",
                            num_samples=len(fake), metrics=metrics, notes=notes)


def _families() -> list[Family]:
    from atelier.config import FAMILIES

    out = []
    for f in FAMILIES.values():
        try:
            f.model_type()
        except (ImportError, AttributeError):
            continue
        out.append(f)
    return out


def _kind_of(model: Any) -> str:
    for f in _families():
        if isinstance(model, f.model_type()):
            return f.kind
    return type(model).__name__


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]
