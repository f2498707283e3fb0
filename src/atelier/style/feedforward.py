"""Fast style transfer: a network that paints a photo in one pass (Johnson, Alahi & Fei-Fei 2016).

Gatys et al. optimise every picture from scratch; Johnson et al. train a transformation network
once per style on many photos, with the same perceptual losses, and then stylize in one forward
pass. Two later changes are built in:

* instance normalisation instead of batch normalisation (Ulyanov, Vedaldi & Lempitsky 2016,
  "Instance Normalization: The Missing Ingredient for Fast Stylization"), which is what makes
  the results look painted rather than washed out;
* conditional instance normalisation (Dumoulin, Shlens & Kudlur 2017, "A Learned Representation
  for Artistic Style", ICLR): one network holds N styles, each only a scale and shift (gamma_k,
  beta_k) per normalisation layer. Any convex combination of the styles' (gamma, beta) is a
  blend of the styles.

The file reads top to bottom: the parts, the network, the config and presets, the training task
for :func:`atelier.training.fit`, :class:`FastStyleModel`, the trained model you stylize with (and
export to ONNX), and the family (:data:`FAMILY`) that ties them together for ``atelier train``
and ``atelier evaluate``.

>>> import dataclasses, torch
>>> config = dataclasses.replace(PRESETS["fast"], styles=("starry_night", "the_scream"), width=4,
...                              num_residual=1)
>>> model = FastStyleModel(config, TransformerNet(config))
>>> model.style_names
('starry_night', 'the_scream')
>>> tuple(model.stylize(torch.rand(1, 3, 30, 40), weights=[0.7, 0.3]).shape)
(1, 3, 30, 40)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn

from atelier.checkpoint import Checkpoint, open_checkpoint
from atelier.data import fingerprint
from atelier.data.photos import BUILTIN_CONTENT, RandomCrops, load_image, load_photos, resize_long_side
from atelier.errors import AtelierError, choose_one
from atelier.family import DataOptions, EvalOptions, EvaluationReport, Family, TrainData, TrainedModel
from atelier.imageio import DEFAULT_MAX_PIXELS
from atelier.metrics.style import stylization_report
from atelier.style import control
from atelier.style.export import export_onnx
from atelier.style.features import BACKBONES, DEFAULT_BACKBONE, FeatureNet, build_backbone
from atelier.style.losses import STYLE_STATISTICS, energy, style_statistics, tv_loss

KIND = "fast_style"
EDGE_MARGIN = 8  # px of repeated border around the picture inside TransformerNet, cropped afterwards
DEFAULT_DATA = BUILTIN_CONTENT  # the bundled photos

# ---------------------------------------------------------------------------------------------
# Parts
# ---------------------------------------------------------------------------------------------


class CondInstanceNorm(nn.Module):
    """Instance normalisation whose scale and shift mix one (gamma_k, beta_k) per style.

    x (B, C, H, W) and style weights w (B, N) → (B, C, H, W):

        y = gamma(w) * (x - mu(x)) / sigma(x) + beta(w),  gamma(w) = sum_k w_k gamma_k, same for beta

    (Dumoulin et al. 2017, eq. 5, and section 4's convex combinations of styles). With one style
    this is instance normalisation with a learned affine (Ulyanov et al. 2016).
    """

    def __init__(self, channels: int, num_styles: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(num_styles, channels))  # (N, C)
        self.beta = nn.Parameter(torch.zeros(num_styles, channels))  # (N, C)

    def forward(self, x: Tensor, weights: Tensor) -> Tensor:
        h = F.instance_norm(x, eps=1e-5)  # (B, C, H, W), zero mean and unit variance per plane
        gamma = (weights @ self.gamma)[:, :, None, None]  # (B, C, 1, 1)
        beta = (weights @ self.beta)[:, :, None, None]
        return gamma * h + beta


class ConvLayer(nn.Module):
    """Reflection-padded k×k conv (optionally after a ×2 nearest upsampling), CIN, optional ReLU.

    Upsampling then convolving, instead of a transposed conv, avoids checkerboard artefacts
    (Odena, Dumoulin & Olah 2016); reflection padding avoids dark borders.
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, num_styles: int, *, stride: int = 1,
                 upsample: bool = False, relu: bool = True) -> None:
        super().__init__()
        self.upsample, self.relu = upsample, relu
        self.pad = nn.ReflectionPad2d(kernel // 2)
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride)
        self.norm = CondInstanceNorm(c_out, num_styles)

    def forward(self, x: Tensor, weights: Tensor) -> Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")  # (B, C, 2H, 2W)
        x = self.norm(self.conv(self.pad(x)), weights)
        return F.relu(x) if self.relu else x


class ResidualBlock(nn.Module):
    """x + CIN(conv(ReLU(CIN(conv(x))))), both convs 3×3 with ``channels`` (Johnson et al., fig. 1)."""

    def __init__(self, channels: int, num_styles: int) -> None:
        super().__init__()
        self.a = ConvLayer(channels, channels, 3, num_styles)
        self.b = ConvLayer(channels, channels, 3, num_styles, relu=False)

    def forward(self, x: Tensor, weights: Tensor) -> Tensor:
        return x + self.b(self.a(x, weights), weights)


class TransformerNet(nn.Module):
    """The image transformation network of Johnson et al. 2016 (their supplementary table 1).

    image (B, 3, H, W) in [0, 1], style weights (B, N) → (B, 3, H, W) in [0, 1]:

        9×9 conv, w channels                            (B, w, H, W)
        3×3 conv stride 2, 2w; 3×3 conv stride 2, 4w    (B, 4w, H/4, W/4)
        R residual blocks at 4w                         (B, 4w, H/4, W/4)
        ×2 + 3×3 conv, 2w; ×2 + 3×3 conv, w             (B, w, H, W)
        9×9 conv, 3 channels: a change d                (B, 3, H, W)
        output = image + d                              (B, 3, H, W), clipped to [0, 1] by stylize

    Unlike Johnson et al., whose last layer draws the picture itself, the last layer draws a
    change to the photo and starts at zero: the untrained network returns the photo, as Gatys et
    al.'s optimisation starts from it, and training only has to add the style. On a CPU budget of
    a few hundred steps the network otherwise spent them relearning the photo (docs/style.md,
    "Training"). The change is added, not applied in logit space: a sigmoid there starved the
    white and black parts of the photo of gradient and saturated the rest into rainbow bands.

    The picture is padded by repeating its border, ``EDGE_MARGIN`` px on each side (more on the
    bottom and right up to a multiple of 4), and the margin is cropped from the result: the
    network's own trouble at a border (the shipped model drew a band of rainbow colours along the
    top) falls in the margin, and any picture of at least 8×8 px comes back at its own size.
    """

    def __init__(self, config: FastStyleConfig) -> None:
        super().__init__()
        w, n = config.width, config.num_styles
        self.down = nn.ModuleList([
            ConvLayer(3, w, 9, n),
            ConvLayer(w, 2 * w, 3, n, stride=2),
            ConvLayer(2 * w, 4 * w, 3, n, stride=2),
        ])
        self.res = nn.ModuleList([ResidualBlock(4 * w, n) for _ in range(config.num_residual)])
        self.up = nn.ModuleList([
            ConvLayer(4 * w, 2 * w, 3, n, upsample=True),
            ConvLayer(2 * w, w, 3, n, upsample=True),
        ])
        self.pad_out = nn.ReflectionPad2d(4)
        self.out = nn.Conv2d(w, 3, 9)
        nn.init.zeros_(self.out.weight)  # the untrained network returns the photo (see forward)
        nn.init.zeros_(self.out.bias)

    def forward(self, image: Tensor, weights: Tensor) -> Tensor:
        h, w = image.shape[-2:]
        m, ph, pw = EDGE_MARGIN, (4 - h % 4) % 4, (4 - w % 4) % 4
        x = F.pad(image * 2 - 1, (m, m + pw, m, m + ph), mode="replicate")  # (B, 3, H + 2m + ph, W + 2m + pw)
        for layer in self.down:
            x = layer(x, weights)  # ends at (B, 4w, H/4, W/4)
        for block in self.res:
            x = block(x, weights)
        for layer in self.up:
            x = layer(x, weights)  # ends at (B, w, H, W)
        return image + self.out(self.pad_out(x))[..., m:m + h, m:m + w]  # (B, 3, H, W), the photo plus a change


# ---------------------------------------------------------------------------------------------
# Config
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FastStyleConfig:
    """A transformation network and how to train it. Change with ``dataclasses.replace``."""

    styles: tuple[str, ...] = ("starry_night",)  # bundled painting names or image files; N > 1: CIN
    width: int = 32  # channels of the first layer; 2w and 4w after each halving (Johnson: 32)
    num_residual: int = 5  # residual blocks at H/4 (Johnson: 5)
    image_size: int = 128  # side of the square training crops, px
    photo_size: int = 256  # short side each photo is scaled to before cropping, px
    style_size: int = 256  # long side of each painting when its Gram matrices are taken, px
    content_weight: float = 1.0  # relative: each term is divided by its target's energy (as gatys.py)
    style_weight: float = 10.0
    tv_weight: float = 1.0  # on pixel differences in [0, 1]
    backbone: str = DEFAULT_BACKBONE  # the loss network; not part of the trained model
    backbone_seed: int = 0
    content_layers: tuple[str, ...] | None = None  # None: the backbone's own
    style_layers: tuple[str, ...] | None = None  # None: the backbone's own, equally weighted
    style_tiles: int = 2  # Grams taken per tile of a tiles×tiles grid over each crop; 1: whole crop
    # "gram": Johnson et al.'s Gram matrices; "mean_cov": the feature means and the covariance
    # (the Gram with the means taken out), each term divided by its own energy (see losses()).
    style_statistics: str = "gram"
    norm_lr_scale: float = 1.0  # learning rate of the (C)IN scales and shifts, relative to lr
    # The loss network sees the photo and the output cropped by the same random 0..loss_jitter-1
    # pixels each step (see FastStyleTask.losses); 0 or 1: never shifted.
    loss_jitter: int = 0
    lr: float = 1e-3  # Adam (Johnson et al.)
    num_crops: int = 4096  # size of the fixed, seeded set of training crops

    def __post_init__(self) -> None:
        # JSON (checkpoints) turns tuples into lists; keep tuples so configs compare equal.
        for name in ("styles", "content_layers", "style_layers"):
            value = getattr(self, name)
            if isinstance(value, str):  # from --set content_layers=relu2_2,relu3_1
                value = tuple(v.strip() for v in value.split(",") if v.strip())
            if value is not None:
                object.__setattr__(self, name, tuple(value))
        if not self.styles or any(not isinstance(s, str) or not s for s in self.styles):
            raise AtelierError(f"styles={self.styles}; give one or more painting names or image files")
        for name in ("width", "num_residual", "image_size", "photo_size", "style_size", "num_crops", "style_tiles"):
            if getattr(self, name) < 1:
                raise AtelierError(f"{name}={getattr(self, name)}; must be a positive integer")
        if self.image_size < 16 or self.image_size > self.photo_size:
            raise AtelierError(f"image_size={self.image_size}; must be >= 16 and <= photo_size={self.photo_size}")
        for name in ("content_weight", "style_weight", "tv_weight"):
            if getattr(self, name) < 0:
                raise AtelierError(f"{name}={getattr(self, name)}; must be >= 0")
        if self.loss_jitter < 0 or self.loss_jitter >= self.image_size // 2:
            raise AtelierError(f"loss_jitter={self.loss_jitter}; must be >= 0 and < image_size / 2")
        if self.lr <= 0 or self.norm_lr_scale <= 0:
            raise AtelierError(f"lr={self.lr}, norm_lr_scale={self.norm_lr_scale}; both must be positive")
        if self.style_statistics not in STYLE_STATISTICS:
            raise choose_one("style statistics", self.style_statistics, STYLE_STATISTICS)
        if self.backbone not in BACKBONES:
            raise AtelierError(f"unknown backbone {self.backbone!r}; choose one of: {', '.join(BACKBONES)}")

    @property
    def num_styles(self) -> int:
        return len(self.styles)


def style_name(spec: str) -> str:
    """The short name of a style: a bundled painting's name, or a file's stem."""
    return Path(spec).stem


PRESETS: dict[str, FastStyleConfig] = {
    # Johnson et al.'s network (1.7 M parameters) for one bundled painting, with EfficientNet-Lite0
    # as the loss network.
    "fast": FastStyleConfig(),
    # The three bundled paintings in one network with conditional instance norm; means and
    # covariances as style terms and a 10x step for the per-style scales and shifts: with Gram
    # matrices and one step size two styles came out as the same tint (docs/style.md).
    "fast-cin": FastStyleConfig(styles=("starry_night", "the_scream", "shipwreck"), style_statistics="mean_cov",
                                norm_lr_scale=10.0),
    # Half the channels (0.4 M parameters): about 3x faster to train and to run on a CPU.
    "fast-small": FastStyleConfig(width=16),
    # The random VGG-19 as the loss network, content from relu2_2 as in Johnson et al.
    "fast-vgg": FastStyleConfig(backbone="random-vgg19", content_layers=("relu2_2",)),
}


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


class FastStyleTask:
    """A transformation network for :func:`atelier.training.fit`: module ``net``, Adam ``net``.

    ``styles`` are the N style pictures (1, 3, h, w) in [0, 1], in the order of ``config.styles``.
    """

    kind = KIND

    def __init__(self, config: FastStyleConfig, *, styles: Sequence[Tensor], backbone: FeatureNet | None = None,
                 preview_content: Tensor | None = None) -> None:
        if len(styles) != config.num_styles:
            raise AtelierError(f"{len(styles)} style pictures for a config with {config.num_styles} styles")
        self.config = config
        self.net = TransformerNet(config)
        self.modules: dict[str, nn.Module] = {"net": self.net}
        norm = [p for n, p in self.net.named_parameters() if ".norm." in n]  # the (C)IN gammas and betas
        rest = [p for n, p in self.net.named_parameters() if ".norm." not in n]
        self.optimizers = {"net": torch.optim.Adam(
            [{"params": rest}, {"params": norm, "lr": config.lr * config.norm_lr_scale}], lr=config.lr)}
        self.backbone = backbone or build_backbone(config.backbone, seed=config.backbone_seed)
        self.content_layers = tuple(config.content_layers or self.backbone.content_layers)
        self.style_layers = tuple(config.style_layers or self.backbone.style_layers)
        with torch.no_grad():  # A_l of each style: {layer: (statistic (N, 1, ...), ...)}
            feats = [self.backbone(resize_long_side(s, config.style_size), self.style_layers) for s in styles]
            self.targets = {l: tuple(torch.cat(z) for z in zip(*(style_statistics(f[l], config.style_statistics)
                                                                  for f in feats)))
                            for l in self.style_layers}
        self.preview_content = preview_content

    def losses(self, content: Tensor, stylized: Tensor, style_index: Tensor,
               shift: tuple[int, int] | None = None) -> dict[str, Tensor]:
        """The perceptual losses of Johnson et al. 2016 (eqs. 2-5), each divided by its target's energy.

            content = sum_l |F_l(y) - F_l(x)|^2 / |F_l(x)|^2             feature reconstruction
            style   = sum_l 1/L mean_t |G_l(y_t) - A_l(s_k)|^2 / |A_l(s_k)|^2     style reconstruction
            tv      = TV(y)                                               smoothness

        for photo x, output y and the painting s_k each sample was asked for. Unlike Johnson et al.,
        the Gram G_l(y_t) is taken on each tile y_t of a ``style_tiles``² grid over the crop: a
        whole-crop Gram is an average over the crop, and within a few hundred steps the network
        learned to meet it with two or three saturated blobs and the rest of the photo untouched;
        per tile, every part of the picture has to carry the painting's texture.

        With ``style_statistics="mean_cov"`` the Gram's two parts are matched as two terms, each
        divided by its own target's energy: the feature means mu and the covariance S (see
        :func:`style_statistics`). In the random VGG-19 the means carry 40-80 % of a painting's
        Gram energy (relu1_1 to relu4_1), so the Gram loss is met first by tinting; split, the
        texture (S) weighs as much as the palette (mu).

        ``shift`` (dy, dx) crops the photo and the output alike by ``loss_jitter`` - 1 pixels in
        all, dy from the top and dx from the left, before the loss network sees them. Its strided
        convolutions sample the picture on a fixed grid, and a pattern in step with that grid (a
        stripe every 2 or 4 pixels) can be invisible to them and so never penalised; moving the
        grid at random every step leaves such a pattern nowhere to hide.
        """
        tv = tv_loss(stylized)
        if shift is not None:
            j, (dy, dx) = self.config.loss_jitter, shift
            h, w = content.shape[-2:]
            content = content[..., dy:h - j + 1 + dy, dx:w - j + 1 + dx]  # (B, 3, H - j + 1, W - j + 1)
            stylized = stylized[..., dy:h - j + 1 + dy, dx:w - j + 1 + dx]
        device = stylized.device
        self.backbone.to(device)
        with torch.no_grad():
            target = self.backbone(content, self.content_layers)  # F_l(x)
        feats = self.backbone(stylized, set(self.content_layers) | set(self.style_layers))
        content_term = sum((F.mse_loss(feats[l], t) / energy(t) for l, t in target.items()), torch.tensor(0.0, device=device))
        style_term = torch.tensor(0.0, device=device)
        for l in self.style_layers:
            outputs = style_statistics(feats[l], self.config.style_statistics, self.config.style_tiles)
            for out, target_stat in zip(outputs, self.targets[l]):
                a = target_stat.to(device)[style_index]  # (B, 1, ...) the painting each crop was asked for
                style_term = style_term + F.mse_loss(out, a.expand_as(out)) / energy(a) / len(outputs) / len(self.style_layers)
        return {"content": content_term, "style": style_term, "tv": tv}

    def train_step(self, batch: Tensor, ctx: Any) -> dict[str, float]:
        """One Adam step on L = a * content + b * style + c * tv, each crop with a random style.

        The style of each crop is drawn from ``ctx``; with N styles every CIN layer's (gamma_k,
        beta_k) is trained only on the crops painted in style k (Dumoulin et al. 2017, section 3).
        """
        cfg = self.config
        content = batch  # (B, 3, S, S) in [0, 1]
        k = ctx.randint(cfg.num_styles)  # (B,)
        stylized = self.net(content, F.one_hot(k, cfg.num_styles).float())  # (B, 3, S, S)
        shift = tuple(ctx.randint(cfg.loss_jitter, 2)[0].tolist()) if cfg.loss_jitter > 1 else None
        terms = self.losses(content, stylized, k, shift)
        loss = cfg.content_weight * terms["content"] + cfg.style_weight * terms["style"] + cfg.tv_weight * terms["tv"]
        ctx.optimize("net", loss)
        return {"loss": loss.item(), "content": cfg.content_weight * terms["content"].item(),
                "style": cfg.style_weight * terms["style"].item(), "tv": cfg.tv_weight * terms["tv"].item()}

    @torch.no_grad()
    def preview(self, ctx: Any) -> Image.Image | None:
        """The preview photos (rows) unchanged and then painted in each style (columns)."""
        if self.preview_content is None:
            return None
        from atelier.images.grid import make_grid, to_pil

        x = self.preview_content.to(ctx.device)  # (P, 3, S, S)
        was_training = self.net.training
        self.net.eval()
        eye = torch.eye(self.config.num_styles, device=x.device)
        tiles = [torch.cat([x[i:i + 1]] + [self.net(x[i:i + 1], eye[k:k + 1]) for k in range(len(eye))])
                 for i in range(len(x))]
        self.net.train(was_training)
        return to_pil(make_grid(torch.cat(tiles) * 2 - 1, nrow=len(eye) + 1))


def load_styles(config: FastStyleConfig, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> list[Tensor]:
    """The style pictures a config names, as (1, 3, h, w) tensors."""
    return [load_image(s, what=f"style {s!r}", max_pixels=max_pixels) for s in config.styles]


def build_task(config: FastStyleConfig, *, seed: int = 0, styles: Sequence[Tensor] | None = None,
               backbone: FeatureNet | None = None, preview_content: Tensor | None = None) -> FastStyleTask:
    """The training task, its weights initialised from ``seed``; styles default to the config's.

    >>> import dataclasses, torch
    >>> config = dataclasses.replace(PRESETS["fast"], width=4, num_residual=1, backbone="random-multiscale")
    >>> task = build_task(config, styles=[torch.rand(1, 3, 32, 32)])
    >>> sorted(task.modules), sorted(task.optimizers)
    (['net'], ['net'])
    """
    styles = load_styles(config) if styles is None else styles
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return FastStyleTask(config, styles=styles, backbone=backbone, preview_content=preview_content)


# ---------------------------------------------------------------------------------------------
# The trained model
# ---------------------------------------------------------------------------------------------


class FastStyleModel(TrainedModel, nn.Module):
    """A trained transformation network: ``FastStyleModel.from_checkpoint(path).stylize(photo)``."""

    kind = KIND
    outputs = "pictures"

    def __init__(self, config: FastStyleConfig, net: TransformerNet) -> None:
        super().__init__()
        self.config = config
        self.net = net
        self.eval()

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint | str | os.PathLike) -> FastStyleModel:
        """Rebuild the network a checkpoint was trained with."""
        ckpt, config = open_checkpoint(ckpt, kind=KIND, config_type=FastStyleConfig)
        net = TransformerNet(config)
        net.load_state_dict(ckpt.module_state("net"))
        return cls(config, net)

    @property
    def style_names(self) -> tuple[str, ...]:
        return tuple(style_name(s) for s in self.config.styles)

    def _names(self, styles: Sequence[str] | str | None) -> list[str]:
        """The styles asked for, each one of the model's; None: all of them, in order."""
        if styles is None:
            return list(self.style_names)
        names = [styles] if isinstance(styles, str) else list(styles)
        if not names:
            raise AtelierError(f"styles is empty; name one or more of the model's styles: "
                               f"{', '.join(self.style_names)}")
        unknown = [n for n in names if n not in self.style_names]
        if unknown:
            raise AtelierError(f"the model has no style {unknown[0]!r}; its styles: {', '.join(self.style_names)}")
        return names

    def style_mix(self, styles: Sequence[str] | str | None = None,
                  weights: Sequence[float] | None = None) -> list[float]:
        """One weight per style of the model, summing to 1: ``styles`` (names; default all) mixed by
        ``weights`` (one per style; default equal). A model of several styles needs one or the other.

        >>> import dataclasses
        >>> config = dataclasses.replace(PRESETS["fast-cin"], width=4, num_residual=1)
        >>> model = FastStyleModel(config, TransformerNet(config))
        >>> model.style_mix(["the_scream"]), model.style_mix(weights=[1, 1, 2])
        ([0.0, 1.0, 0.0], [0.25, 0.25, 0.5])
        """
        if styles is None and weights is None and self.config.num_styles > 1:
            raise AtelierError(f"this model holds {self.config.num_styles} styles ({', '.join(self.style_names)}); "
                               "choose with styles or weights")
        names = self._names(styles)
        out = [0.0] * self.config.num_styles
        for name, w in zip(names, control.normalise_weights(weights, num_styles=len(names))):
            out[self.style_names.index(name)] += w
        return out

    @torch.no_grad()
    def stylize(self, content: Tensor, styles: Sequence[str] | str | None = None, *,
                weights: Sequence[float] | None = None, strength: float = 1.0, preserve_color: str | None = None,
                mask: Tensor | None = None) -> Tensor:
        """Paint ``content`` (N, 3, H, W) in [0, 1] in the model's ``styles``; returns the same shape.

        * ``styles``: names among :attr:`style_names` (one name, or a list; default: all of them).
        * ``weights``: one per style, mixed inside the network, in its CIN layers (default: equal).
        * ``mask`` (K, H, W) in [0, 1], one region map per style: the picture is painted once in
          each style that has a region and the results are composited by the maps, so region k is
          exactly what style k alone paints there. Not combined with ``weights``.
        * ``strength`` in [0, 1]: a cross-fade with the photo, exact at both ends.
        * ``preserve_color``: ``"luminance"`` or ``"histogram"`` (see :mod:`atelier.style.control`).

        >>> import dataclasses, torch
        >>> config = dataclasses.replace(PRESETS["fast"], width=4, num_residual=1)
        >>> model = FastStyleModel(config, TransformerNet(config))
        >>> photo = torch.rand(1, 3, 16, 16)
        >>> bool(torch.equal(model.stylize(photo, strength=0.0), photo))
        True
        """
        # 1. Check inputs.
        if not isinstance(content, Tensor) or content.ndim != 4 or content.shape[1] != 3 or min(content.shape[-2:]) < 8:
            shape = tuple(content.shape) if isinstance(content, Tensor) else type(content).__name__
            raise AtelierError(f"content is {shape}; expected a float tensor (N, 3, H, W) with H, W >= 8")
        strength = control.check_strength(strength)
        control.check_preserve_color(preserve_color)
        device = next(self.net.parameters()).device
        x = content.float().to(device)
        # 2. One weight per style of the model, or one region map per style of the model.
        if mask is not None:
            if weights is not None:
                raise AtelierError("pass weights (blend styles everywhere) or mask (one style per region), not both")
            names = self._names(styles)
            regions = control.check_regions(mask, len(names), tuple(x.shape[-2:])).to(device)
            maps = torch.zeros(self.config.num_styles, *x.shape[-2:], device=device)  # (N, H, W)
            for k, name in enumerate(names):
                maps[self.style_names.index(name)] += regions[k]
            maps = maps / maps.sum(0, keepdim=True).clamp_min(1e-8)  # summing to 1 where painted
        else:
            mix = control.as_weight_tensor(self.style_mix(styles, weights), device).expand(x.shape[0], -1)
        if strength == 0.0:
            return control.apply_color(x, x.clone(), preserve_color)
        # 3. Paint (each region in its own style, composited), cross-fade, colour.
        if mask is None:
            y = self.net(x, mix)
        else:
            eye = torch.eye(self.config.num_styles, device=device)
            y = x * (1 - maps.sum(0))  # unpainted pixels (a mask of all zeros there) stay the photo
            for k in range(self.config.num_styles):
                if maps[k].any():
                    y = y + maps[k] * self.net(x, eye[k:k + 1].expand(x.shape[0], -1))
        if preserve_color == "histogram":  # before clipping: clipped pixels tie, and ties map to one value
            return control.apply_color(x, control.blend(x, y, strength), preserve_color).clamp(0, 1)
        return control.apply_color(x, control.blend(x, y.clamp(0, 1), strength), preserve_color)

    def export_onnx(self, path: str | os.PathLike, *, size: int = 256) -> Path:
        """Write the network as ONNX: inputs ``image`` (N, 3, H, W) in [0, 1] and ``style_weights``
        (N, num_styles), output ``stylized`` (N, 3, H, W) in [0, 1]. H and W are dynamic (any multiple of 4
        works everywhere; ``size`` is the example used for tracing). The file is checked with
        ``onnx.checker`` before it is moved into place.

        >>> import dataclasses, os, tempfile
        >>> config = dataclasses.replace(PRESETS["fast"], width=4, num_residual=1)
        >>> model = FastStyleModel(config, TransformerNet(config))
        >>> model.export_onnx(os.path.join(tempfile.mkdtemp(), "fast.onnx"), size=32).suffix  # doctest: +SKIP
        '.onnx'
        """
        return export_onnx(self.net, path, num_styles=self.config.num_styles, size=size)


# ---------------------------------------------------------------------------------------------
# The family
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FastStyleData(TrainData):
    """Crops of the photos (``train``), the paintings the network learns and the photos its previews paint."""

    styles: tuple[Tensor, ...] = ()  # each (1, 3, h, w) in [0, 1], in the order of config.styles
    preview: Tensor | None = None  # (P, 3, S, S) in [0, 1]


class FastStyleFamily(Family):
    kind = KIND
    description = "fast style transfer: Johnson et al.'s network, N styles with conditional instance norm"
    config_type = FastStyleConfig
    model_type = FastStyleModel
    presets = PRESETS
    preset_notes = {
        "fast": "Johnson et al.'s network (1.7 M parameters) for one painting (--set styles=my_painting.jpg)",
        "fast-cin": "the three bundled paintings in one network (conditional instance norm)",
        "fast-small": "half the channels (0.4 M parameters): about 3x faster to train and to run on a CPU",
        "fast-vgg": "the random VGG-19 as loss network, content from relu2_2 as in Johnson et al.",
    }
    default_data = DEFAULT_DATA
    train_defaults = {"batch_size": 4}  # Johnson et al.'s; 64 crops a step take a minute on a CPU

    def prepare_data(self, config: FastStyleConfig, data: Any, options: DataOptions) -> FastStyleData:
        """A fixed, seeded set of crops of the photos ``data`` (the bundled set, folders or files: every
        photo trains, there is no validation split) and the config's paintings, all read now so that a
        bad file stops the run before it starts.

        >>> import dataclasses
        >>> config = dataclasses.replace(PRESETS["fast"], image_size=32, photo_size=48, num_crops=8)
        >>> data = FAMILY.prepare_data(config, ["coffee", "rocket"], DataOptions())
        >>> len(data.train), len(data.styles), tuple(data.preview.shape)
        (8, 1, (2, 3, 32, 32))
        """
        max_pixels = options.max_pixels or DEFAULT_MAX_PIXELS
        photos = load_photos(data, short_side=config.photo_size, limit=options.limit, max_pixels=max_pixels)
        crops = RandomCrops(photos, size=config.image_size, length=config.num_crops, seed=options.split_seed)
        styles = tuple(load_styles(config, max_pixels=max_pixels))
        style_bytes = [(s * 255).round().to(torch.uint8)[0] for s in styles]
        return FastStyleData(train=crops, fingerprint=fingerprint(*photos, *style_bytes), styles=styles,
                             preview=crops.get_batch(torch.arange(min(2, len(photos)))))

    def build_task(self, config: FastStyleConfig, data: FastStyleData, *, seed: int) -> FastStyleTask:
        return build_task(config, seed=seed, styles=data.styles, preview_content=data.preview)

    def evaluate(self, model: FastStyleModel, *, name: str, options: EvalOptions) -> EvaluationReport:
        """The held-out photos (or ``options.data``) painted in each of the model's styles, scored by
        :func:`atelier.metrics.style.stylization_report`."""
        paintings = {n: load_image(s, what=f"style {s!r}") for n, s in zip(model.style_names, model.config.styles)}
        return stylization_report(lambda photo, n: model.stylize(photo, [n]), paintings, name=name, kind=KIND,
                                  photos=options.data)


FAMILY = FastStyleFamily()
