"""What a taste is *about*: the works one model can make, each as a recipe and a feature vector.

A :class:`Subject` wraps one loaded model and answers three questions the taste loop asks:

* :meth:`~Subject.pool` — a fresh pool of candidates drawn from the model's own distribution
  (seeds of a GAN or VAE, seeds and temperatures of a melody model, blends and strengths of a
  fast style network), each with its features: what the preference model learns over;
* :meth:`~Subject.render` — the works themselves, from the recipes;
* :meth:`~Subject.command` — the command line that makes one again.

Steering stays on the model's distribution by construction: "generate for me" draws a pool the
model would have drawn anyway and re-weights it by predicted liking (importance resampling, the
simplest form of the re-weighting the issue names), so every work shown is one the model makes.

Features, per kind of model:

* images (GAN, VAE): the coordinates of the latent along the generator's first principal
  directions (GANSpace, Härkönen et al. 2020; :mod:`atelier.taste.latents`) and the picture numbers
  of :mod:`atelier.analysis.images` (brightness, contrast, edges, symmetry, …);
* melodies: the sampling temperature and the melody numbers of :mod:`atelier.analysis.melodies`
  (density, range, leaps, syncopation, repetition, …);
* stylised pictures: each style's share of the blend, the strength, and the picture numbers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from atelier.errors import AtelierError
from atelier.family import TrainedModel
from atelier.nn import seeded_normal
from atelier.taste.profile import Item

NUM_DIRECTIONS = 4  # principal latent directions per image generator (GANSpace keeps the first few too)
MELODY_TEMPERATURES = (0.6, 1.4)  # the range a melody candidate's temperature is drawn from
MIN_STRENGTH = 0.35  # a style candidate's strength is drawn from [MIN_STRENGTH, 1]
STYLE_PREVIEW_SIZE = 128  # long side, px, at which a style candidate is painted to measure its picture numbers

# The picture numbers the taste model sees (names of ImageAnalysis.numbers()); the palette and the
# similarity embedding are left out: costly per candidate, and the first is not one number.
PICTURE_FEATURES = ("brightness", "contrast", "colourfulness", "saturation", "edge_density", "entropy", "symmetry",
                    "balance", "thirds", "fractal_dimension")
MELODY_FEATURES = ("note_density", "pitch_range", "mean_interval", "leap_share", "repeat_share", "syncopation",
                   "repeated_bar_share", "key_scale_consistency", "pitch_class_entropy", "minor_mode")


def _seeds(n: int, seed: int) -> list[int]:
    """``n`` distinct seeds for candidates, the same for the same ``seed``."""
    rng = np.random.default_rng([seed, 7291])
    return [int(s) for s in rng.choice(2**31 - 1, size=n, replace=False)]


class Subject(ABC):
    """One model's works as candidates for the taste loop (see the module's docstring)."""

    outputs: str = ""  # "images", "melodies" or "pictures", as the model's TrainedModel.outputs

    def __init__(self, model: TrainedModel, name: str) -> None:
        self.model, self.name = model, str(name)

    @property
    @abstractmethod
    def feature_names(self) -> tuple[str, ...]: ...

    @abstractmethod
    def draw(self, n: int, *, seed: int) -> list[dict[str, Any]]:
        """``n`` recipes drawn from the model's distribution, the same for the same ``seed``."""

    @abstractmethod
    def measure(self, recipes: Sequence[dict[str, Any]]) -> list[Item]:
        """The items of ``recipes``, with their features (the works are made to be measured)."""

    def pool(self, n: int, *, seed: int) -> list[Item]:
        """``n`` candidates drawn from the model's distribution, with their features."""
        return self.measure(self.draw(n, seed=seed))

    @abstractmethod
    def render(self, items: Sequence[Item]) -> Any:
        """The works of ``items``: images (n, C, H, W) in [-1, 1], a list of melodies or of PIL pictures."""

    @abstractmethod
    def call(self, recipe: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The library call that makes a recipe's work again, as a provenance command and its
        params (what :func:`atelier.provenance.make_recipe` records and ``atelier reproduce`` runs)."""

    @abstractmethod
    def recipe_of(self, command: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The candidate recipe a recorded call made, or None when that call made no single
        candidate of this subject (so a file can be rated only if it is one)."""

    @abstractmethod
    def command(self, item: Item) -> str:
        """The ``atelier`` command line that makes ``item`` again."""

    def matrix(self, items: Sequence[Item]) -> np.ndarray:
        """(n, d) features of ``items`` in :attr:`feature_names` order; an item measured under another
        feature set (an older profile) gets NaN where it lacks one, which the caller drops."""
        return np.array([[item.features.get(name, np.nan) for name in self.feature_names] for item in items],
                        dtype=np.float64).reshape(len(items), len(self.feature_names))


# ---------------------------------------------------------------------------------------------
# Images from a GAN or a VAE: one seed per candidate, the latent sample(1, seed=s) would draw


def picture_numbers(pictures: torch.Tensor | Sequence[Any]) -> np.ndarray:
    """(n, len(PICTURE_FEATURES)) picture numbers of images (n, C, H, W) in [-1, 1] or PIL pictures."""
    from atelier.analysis.images import analyze_image

    rows = []
    for picture in pictures:
        if isinstance(picture, torch.Tensor):
            picture = (picture.detach().float().cpu().clamp(-1, 1) + 1) / 2  # (C, H, W) in [0, 1]
        numbers = analyze_image(picture, palette_size=0, name="candidate").numbers()
        rows.append([numbers[name] for name in PICTURE_FEATURES])
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(PICTURE_FEATURES))


class ImageSubject(Subject):
    """A GAN's or VAE's pictures; a conditional model's candidates cycle through its classes
    unless ``label`` fixes one."""

    outputs = "images"

    def __init__(self, model: TrainedModel, name: str, *, label: int | None = None) -> None:
        super().__init__(model, name)
        num_classes = model.config.num_classes
        if label is not None and not (num_classes and 0 <= label < num_classes):
            allowed = f"0..{num_classes - 1}" if num_classes else "none (the model is unconditional)"
            raise AtelierError(f"label {label}: not a class of {name}; allowed: {allowed}")
        self.label = label
        self._directions = None

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f"direction_{i + 1}" for i in range(NUM_DIRECTIONS)) + PICTURE_FEATURES

    def directions(self):
        """The generator's principal latent directions, found once per subject."""
        if self._directions is None:
            from atelier.taste.latents import principal_directions

            self._directions = principal_directions(self.model, k=NUM_DIRECTIONS, seed=0)
        return self._directions

    def _latents(self, items: Sequence[Item]) -> tuple[torch.Tensor, list[int] | None]:
        z_dim = self.model.config.z_dim
        z = torch.cat([seeded_normal(1, z_dim, seed=int(item.recipe["seed"])) for item in items])  # (n, z_dim)
        labels = [int(item.recipe["label"]) for item in items] if self.model.config.num_classes else None
        return z, labels

    def draw(self, n: int, *, seed: int) -> list[dict[str, Any]]:
        num_classes = self.model.config.num_classes
        recipes = []
        for i, s in enumerate(_seeds(n, seed)):
            recipe: dict[str, Any] = {"seed": s}
            if num_classes:
                recipe["label"] = self.label if self.label is not None else (seed + i) % num_classes
            recipes.append(recipe)
        return recipes

    def measure(self, recipes: Sequence[dict[str, Any]]) -> list[Item]:
        bare = [Item(dict(r), {}) for r in recipes]
        z, labels = self._latents(bare)
        with torch.no_grad():
            images = self.model.decode(z, labels)
        coordinates = self.directions().coordinates(z.numpy())  # (n, NUM_DIRECTIONS)
        features = np.concatenate([coordinates, picture_numbers(images)], axis=1)
        return [Item(dict(r), dict(zip(self.feature_names, map(float, row)))) for r, row in zip(recipes, features)]

    def render(self, items: Sequence[Item]) -> torch.Tensor:
        # One at a time, as the recorded call `sample(1, seed=s)` makes it: a batched convolution may
        # round differently in the last bit, and `atelier reproduce` compares pixels exactly.
        z, labels = self._latents(items)
        with torch.no_grad():
            return torch.cat([self.model.decode(z[i:i + 1], None if labels is None else labels[i:i + 1])
                              for i in range(len(items))])

    def call(self, recipe: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "sample", {"n": 1, "seed": int(recipe["seed"]), "labels": recipe.get("label")}

    def recipe_of(self, command: str, params: dict[str, Any]) -> dict[str, Any] | None:
        if command != "sample" or params.get("n") != 1 or params.get("truncation") is not None:
            return None
        if params.get("temperature") not in (None, 1.0):
            return None
        recipe: dict[str, Any] = {"seed": int(params["seed"])}
        if self.model.config.num_classes:
            label = params.get("labels")
            recipe["label"] = 0 if label is None else int(label if not isinstance(label, list) else label[0])
        return recipe

    def command(self, item: Item) -> str:
        label = f" --class {item.recipe['label']}" if "label" in item.recipe else ""
        return f"atelier sample {self.name} --n 1 --seed {item.recipe['seed']}{label} --out picked.png"


# ---------------------------------------------------------------------------------------------
# Melodies: a seed and a temperature per candidate


class MelodySubject(Subject):
    """A melody RNN's or MusicVAE's tunes: ``bars`` long (a MusicVAE makes its own length)."""

    outputs = "melodies"

    def __init__(self, model: TrainedModel, name: str, *, bars: int = 4) -> None:
        super().__init__(model, name)
        self.bars = model.bars if model.kind == "music_vae" else int(bars)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return ("temperature",) + MELODY_FEATURES

    def _melody(self, recipe: dict[str, Any]) -> Any:
        from atelier.music.compose import compose

        bars = None if self.model.kind == "music_vae" else self.bars
        return compose(self.model, bars=bars, n=1, temperature=float(recipe["temperature"]), seed=int(recipe["seed"]))[0]

    def draw(self, n: int, *, seed: int) -> list[dict[str, Any]]:
        low, high = MELODY_TEMPERATURES
        temperatures = np.random.default_rng([seed, 31]).uniform(low, high, size=n)
        return [{"seed": s, "temperature": round(float(t), 3)} for s, t in zip(_seeds(n, seed), temperatures)]

    def measure(self, recipes: Sequence[dict[str, Any]]) -> list[Item]:
        from atelier.analysis.melodies import analyze_melody

        items = []
        for recipe in recipes:
            melody = self._melody(recipe)
            if not melody.notes:  # a tune of rests has no features; the model rarely makes one
                continue
            numbers = analyze_melody(melody).numbers()
            items.append(Item(dict(recipe), {"temperature": recipe["temperature"],
                                       **{name: float(numbers[name]) for name in MELODY_FEATURES}}))
        return items

    def render(self, items: Sequence[Item]) -> list[Any]:
        return [self._melody(item.recipe) for item in items]

    def call(self, recipe: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        bars = None if self.model.kind == "music_vae" else self.bars
        return "compose", {"bars": bars, "n": 1, "temperature": float(recipe["temperature"]), "seed": int(recipe["seed"])}

    def recipe_of(self, command: str, params: dict[str, Any]) -> dict[str, Any] | None:
        bars = None if self.model.kind == "music_vae" else self.bars
        if command != "compose" or params.get("n") != 1 or params.get("bars") != bars:
            return None
        if any(params.get(k) not in (None, 1) for k in ("beam_size", "branch_factor")) or params.get("primer"):
            return None
        if params.get("primer_pitches"):
            return None
        return {"seed": int(params.get("seed", 0)), "temperature": float(params.get("temperature", 1.0))}

    def command(self, item: Item) -> str:
        bars = "" if self.model.kind == "music_vae" else f" --bars {self.bars}"
        return (f"atelier compose {self.name}{bars} --n 1 --seed {item.recipe['seed']} "
                f"--temperature {item.recipe['temperature']} --out picked")


# ---------------------------------------------------------------------------------------------
# Stylised pictures: a blend of a fast network's styles and a strength per candidate


class StyleSubject(Subject):
    """One photo painted by a fast style network: candidates blend its styles with random weights
    (a flat Dirichlet draw) and a random strength."""

    outputs = "pictures"

    def __init__(self, model: TrainedModel, name: str, *, photo: Any, photo_name: str, size: int | None = None) -> None:
        super().__init__(model, name)
        self.photo, self.photo_name, self.size = photo, str(photo_name), size
        self.styles = tuple(model.style_names)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f"share_{s}" for s in self.styles) + ("strength",) + PICTURE_FEATURES

    def _paint(self, recipe: dict[str, Any], size: int | None) -> Any:
        from atelier.style.transfer import StylizeControls, paint_fast

        controls = StylizeControls(weights=recipe["weights"], strength=float(recipe["strength"]), size=size)
        return paint_fast(self.photo, list(self.styles), self.model, controls=controls).image

    def draw(self, n: int, *, seed: int) -> list[dict[str, Any]]:
        rng = np.random.default_rng([seed, 53])
        recipes = []
        for _ in range(n):
            weights = [round(float(w), 3) for w in rng.dirichlet(np.ones(len(self.styles)))]
            recipes.append({"weights": weights, "strength": round(float(rng.uniform(MIN_STRENGTH, 1.0)), 3)})
        return recipes

    def measure(self, recipes: Sequence[dict[str, Any]]) -> list[Item]:
        items = []
        for recipe in recipes:
            weights = recipe["weights"]
            numbers = picture_numbers([self._paint(recipe, STYLE_PREVIEW_SIZE)])[0]
            shares = np.asarray(weights) / sum(weights)
            features = {**{f"share_{s}": float(w) for s, w in zip(self.styles, shares)},
                        "strength": recipe["strength"], **dict(zip(PICTURE_FEATURES, map(float, numbers)))}
            items.append(Item(dict(recipe), features))
        return items

    def render(self, items: Sequence[Item]) -> list[Any]:
        return [self._paint(item.recipe, self.size) for item in items]

    def call(self, recipe: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "stylize", {"content": self.photo_name, "styles": list(self.styles), "method": "fast",
                           "weights": list(recipe["weights"]), "strength": float(recipe["strength"]), "size": self.size}

    def recipe_of(self, command: str, params: dict[str, Any]) -> dict[str, Any] | None:
        if command != "stylize" or params.get("method") != "fast" or list(params.get("styles") or []) != list(self.styles):
            return None
        if params.get("content") != self.photo_name or params.get("mask") or params.get("preserve_color"):
            return None
        weights = params.get("weights") or [1.0] * len(self.styles)
        return {"weights": [float(w) for w in weights], "strength": float(params.get("strength", 1.0))}

    def command(self, item: Item) -> str:
        weights = ",".join(f"{w:g}" for w in item.recipe["weights"])
        styles = " ".join(f"--style {s}" for s in self.styles)
        return (f"atelier stylize {self.photo_name} --method fast --model {self.name} {styles} "
                f"--weights {weights} --strength {item.recipe['strength']} --out picked.png")


def subject_for(model: TrainedModel, name: str, **options: Any) -> Subject:
    """The subject of a loaded model: its kind decides which; ``options`` go to that subject."""
    if model.kind in ("gan", "vae"):
        return ImageSubject(model, name, **options)
    if model.outputs == "melodies":
        return MelodySubject(model, name, **options)
    if model.kind == "fast_style":
        if "photo" not in options:
            raise AtelierError(f"model {name}: a style network's taste is about one photo; give the photo")
        return StyleSubject(model, name, **options)
    raise AtelierError(f"model {name}: a {model.kind} model; taste steers GANs, VAEs, melody models and fast style "
                       "networks")
