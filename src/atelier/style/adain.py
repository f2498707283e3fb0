"""Arbitrary style transfer with adaptive instance normalisation (Huang & Belongie 2017, ICCV).

A fixed encoder f (EfficientNet-Lite0's layers up to ``block5_expand``, or VGG-19's up to
``relu4_1`` as in the paper) turns the photo c and a painting s into feature maps; AdaIN gives
the photo's features the painting's per-channel mean and standard deviation, and a trained decoder g turns the result back into a picture:

    t = AdaIN(f(c), f(s)) = sigma(f(s)) * (f(c) - mu(f(c))) / sigma(f(c)) + mu(f(s))      (eq. 8)
    output = g(t)

Only the decoder is trained, once, on many photo/painting pairs; afterwards any painting works,
with no training and in one pass. The controls come from the paper's section 7: ``alpha``
(strength) moves t back towards f(c); several styles mix their AdaIN targets by weight; region
masks apply AdaIN region by region.

The file reads top to bottom: the decoder, the config and presets, the training task for
:func:`atelier.training.fit`, :class:`AdaINModel`, the trained model you stylize with, and the
family (:data:`FAMILY`) that ties them together for ``atelier train`` and ``atelier evaluate``.

>>> import dataclasses, torch
>>> config = dataclasses.replace(PRESETS["adain"], decoder_width=0.125)
>>> model = AdaINModel(config, build_encoder(config), Decoder(config))
>>> photo, painting = torch.rand(1, 3, 40, 36), torch.rand(1, 3, 64, 64)
>>> tuple(model.stylize(photo, [painting], strength=0.5).shape)
(1, 3, 40, 36)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn

from atelier.checkpoint import Checkpoint, open_checkpoint
from atelier.data import fingerprint
from atelier.data.photos import (
    BUILTIN_CONTENT,
    PAINTINGS,
    TEXTURES,
    CropPairs,
    RandomCrops,
    load_image,
    load_photos,
    resize_long_side,
)
from atelier.errors import AtelierError, choose_one
from atelier.family import DataOptions, EvalOptions, EvaluationReport, Family, TrainData, TrainedModel
from atelier.imageio import DEFAULT_MAX_PIXELS
from atelier.metrics.style import stylization_report
from atelier.style import control
from atelier.style import efficientnet as effnet
from atelier.style.features import VGG19_CFG, FeatureNet, build_backbone, vgg19_layer_names
from atelier.style.losses import adain, content_loss, energy, match_histograms, mean_std, mean_std_loss, tv_loss

KIND = "adain"
DEFAULT_DATA = BUILTIN_CONTENT  # content photos; the styles are named in the config
ENCODER_BACKBONES = ("efficientnet-lite0", "random-vgg19", "vgg19")
ENCODER_LAYERS = ("relu2_1", "relu3_1", "relu4_1", "relu5_1")  # VGG: the decoder mirrors the layers up to one
# EfficientNet-Lite0: the expanded activations that open a stage, at 1/4, 1/8 and 1/16 of the side.
LITE0_ENCODER_LAYERS = ("block3_expand", "block5_expand", "block8_expand")


@dataclass(frozen=True)
class EncoderShape:
    """What the config and the decoder need to know of an encoder backbone, without building it."""

    layer_order: tuple[str, ...]  # every layer, in forward order
    encoder_layers: tuple[str, ...]  # the layers AdaIN may happen at
    plan: Callable[[str], list[tuple[int, int] | str]]  # convs (c_in, c_out) and pools "M" up to a layer


def encoder_shape(backbone: str) -> EncoderShape:
    """The :class:`EncoderShape` of ``backbone``: Lite0's taps, or VGG-19's layers (both VGG backbones)."""
    if backbone == "efficientnet-lite0":
        return EncoderShape(effnet.tap_names(), LITE0_ENCODER_LAYERS, lite0_decoder_plan)
    return EncoderShape(vgg19_layer_names(), ENCODER_LAYERS, encoder_convs)

# ---------------------------------------------------------------------------------------------
# The decoder
# ---------------------------------------------------------------------------------------------


def encoder_convs(layer: str) -> list[tuple[int, int] | str]:
    """VGG-19's convolutions (c_in, c_out) and pools ("M") up to and including ``layer``.

    >>> encoder_convs("relu2_1")
    [(3, 64), (64, 64), 'M', (64, 128)]
    """
    if layer not in ENCODER_LAYERS:
        raise choose_one("encoder layer", layer, ENCODER_LAYERS)
    stop = vgg19_layer_names().index(layer)
    out: list[tuple[int, int] | str] = []
    c_in, index = 3, 0
    for v in VGG19_CFG:
        if index > stop:
            break
        if v == "M":
            out.append("M")
            index += 1
        else:
            out.append((c_in, int(v)))
            c_in, index = int(v), index + 2  # conv then ReLU
    return out


def lite0_decoder_plan(layer: str) -> list[tuple[int, int] | str]:
    """An encoder-shaped plan for EfficientNet-Lite0 up to ``layer``, for :class:`Decoder` to mirror.

    Lite0's own layers (depthwise, expanded 6x) are no model for a decoder, so the plan is a
    VGG-like pyramid with Lite0's downsampling: two 3x3 convolutions per level, 32 channels at
    full size and twice as many at each halving, and the tap's channels at the bottom. Mirrored,
    for ``block5_expand`` (240 channels at 1/8): 240→128, ×2, 128→128, 128→64, ×2, 64→64, 64→32,
    ×2, 32→32, 32→3 (times ``decoder_width`` inside).

    >>> lite0_decoder_plan("block3_expand")
    [(3, 32), (32, 32), 'M', (32, 64), (64, 64), 'M', (64, 144)]
    """
    if layer not in LITE0_ENCODER_LAYERS:
        raise choose_one("encoder layer", layer, LITE0_ENCODER_LAYERS)
    channels, factor = effnet.tap_geometry(layer)
    plan: list[tuple[int, int] | str] = [(3, 32)]
    width = 32
    for _ in range(factor.bit_length() - 1):  # one level per halving
        plan += [(width, width), "M", (width, 2 * width)]
        width *= 2
    plan[-1] = (width // 2, channels)  # the bottom conv gives the tap's channels
    return plan


class Decoder(nn.Module):
    """The encoder mirrored (Huang & Belongie 2017, section 6): t (B, C_l, H/2^p, W/2^p) → (B, 3, H, W).

    Each encoder conv c_in → c_out becomes a 3×3 conv c_out → c_in with reflection padding and a
    ReLU (none after the last), each pooling a ×2 nearest upsampling, in reverse order. For
    ``relu4_1`` that is the paper's decoder: 512→256, ×2, 256→256 (×3), 256→128, ×2, 128→128,
    128→64, ×2, 64→64, 64→3. ``decoder_width`` scales every inner width (not the input's C_l or
    the 3 output channels); 0.5 has a quarter of the parameters and FLOPs.
    """

    def __init__(self, config: AdaINConfig) -> None:
        super().__init__()
        convs = encoder_shape(config.backbone).plan(config.encoder_layer)
        inner = lambda c: c if c == 3 else max(4, round(c * config.decoder_width))  # noqa: E731
        layers: list[nn.Module] = []
        for i, item in enumerate(reversed(convs)):
            if item == "M":
                layers.append(nn.Upsample(scale_factor=2.0, mode="nearest"))
                continue
            c_in, c_out = item
            first = i == 0
            layers += [nn.ReflectionPad2d(1), nn.Conv2d(c_out if first else inner(c_out), inner(c_in), 3)]
            if c_in != 3:
                layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)
        self.factor = 2 ** convs.count("M")  # the encoder's total downsampling

    def forward(self, t: Tensor) -> Tensor:
        return self.net(t)  # (B, C_l, h, w) → (B, 3, h * factor, w * factor), about [0, 1]


# ---------------------------------------------------------------------------------------------
# Config
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdaINConfig:
    """The encoder, the decoder and how to train it. Change with ``dataclasses.replace``."""

    backbone: str = "efficientnet-lite0"  # the encoder: efficientnet-lite0, random-vgg19 or vgg19
    backbone_seed: int = 0
    # AdaIN happens here (Huang & Belongie: relu4_1 of VGG-19); for Lite0 the expanded
    # activation opening stage 4, 240 channels at 1/8 of the side.
    encoder_layer: str = "block5_expand"
    style_layers: tuple[str, ...] = ("stem", "block1_expand", "block3_expand", "block5_expand")  # mean/std loss
    decoder_width: float = 1.0  # inner widths relative to the plan's; VGG's paper decoder is 1.0 (3.5 M parameters)
    style_weight: float = 1.0  # lambda of eq. 11, on terms divided by their targets' energy
    # Pixel reconstruction g(f(x)) = x of the photo and the painting (Park & Lee 2019's identity
    # loss). A random encoder is blind to some patterns; without this term the decoder filled
    # that blind spot with horizontal streaks (docs/style.md, "Train your own").
    identity_weight: float = 10.0
    tv_weight: float = 0.0  # total variation of the output (pixel differences in [0, 1])
    lr: float = 1e-4  # Adam (the paper's)
    clip_grad_norm: float = 10.0  # typical norms are 5-40; one odd batch reached 19,000 and killed the decoder
    # Training styles: bundled painting or texture names, image files or folders.
    styles: tuple[str, ...] = (*PAINTINGS, *TEXTURES)
    image_size: int = 128  # side of the square training crops (content and style), px
    photo_size: int = 256  # short side photos and styles are scaled to before cropping, px
    num_crops: int = 4096  # size of the fixed, seeded set of (content, style) crop pairs
    # Inference: move the picture's RGB mean and std to the paintings' (see AdaINModel.stylize).
    match_palette: bool = True

    def __post_init__(self) -> None:
        if self.backbone not in ENCODER_BACKBONES:
            raise choose_one("AdaIN backbone", self.backbone, ENCODER_BACKBONES)
        shape = encoder_shape(self.backbone)
        if self.encoder_layer not in shape.encoder_layers:
            raise choose_one(f"encoder layer of {self.backbone}", self.encoder_layer, shape.encoder_layers)
        names = shape.layer_order
        late = [l for l in self.style_layers if l not in names or names.index(l) > names.index(self.encoder_layer)]
        if not self.style_layers or late:
            raise AtelierError(
                f"style_layers {self.style_layers}: need {self.backbone} layers at or below encoder_layer "
                f"{self.encoder_layer}"
            )
        if not self.styles:
            raise AtelierError("styles is empty; give painting names, image files or folders to train on")
        if not 0 < self.decoder_width <= 2:
            raise AtelierError(f"decoder_width={self.decoder_width}; must be in (0, 2]")
        if min(self.style_weight, self.identity_weight, self.tv_weight) < 0 or self.lr <= 0 or self.clip_grad_norm <= 0:
            raise AtelierError(f"style_weight={self.style_weight}, identity_weight={self.identity_weight}, "
                               f"tv_weight={self.tv_weight}, lr={self.lr}, clip_grad_norm={self.clip_grad_norm}; "
                               "need the weights >= 0 and the others > 0")
        for name in ("image_size", "photo_size", "num_crops"):
            if getattr(self, name) < 1:
                raise AtelierError(f"{name}={getattr(self, name)}; must be a positive integer")
        if self.image_size < 32 or self.image_size > self.photo_size:
            raise AtelierError(f"image_size={self.image_size}; must be >= 32 and <= photo_size={self.photo_size}")


_VGG = dict(backbone="random-vgg19", encoder_layer="relu4_1", style_layers=("relu1_1", "relu2_1", "relu3_1", "relu4_1"))

PRESETS: dict[str, AdaINConfig] = {
    # The ImageNet-trained EfficientNet-Lite0 as the encoder, AdaIN at block5_expand (1/8), a
    # VGG-like decoder (0.56 M parameters at this width; the shipped decoder is half width).
    "adain": AdaINConfig(),
    # The paper's layout on the random VGG-19 with a half-width decoder (0.9 M parameters).
    "adain-vgg": AdaINConfig(**_VGG, decoder_width=0.5),
    # The paper's full-width decoder (3.5 M parameters).
    "adain-full": AdaINConfig(**_VGG, decoder_width=1.0),
    # AdaIN at relu3_1: a shallower encoder keeps more of the photo and trains in a fraction of
    # the time, at the cost of smaller-scale, less painterly strokes.
    "adain-relu3": AdaINConfig(**{**_VGG, "encoder_layer": "relu3_1", "style_layers": ("relu1_1", "relu2_1", "relu3_1")},
                               decoder_width=0.5),
}


def build_encoder(config: AdaINConfig, *, weights: str | os.PathLike | None = None) -> FeatureNet:
    """The frozen encoder f: the config's backbone (its layers up to ``encoder_layer`` are used)."""
    return build_backbone(config.backbone, seed=config.backbone_seed,
                          **({"weights": weights} if config.backbone == "vgg19" else {}))


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


class AdaINTask:
    """The decoder for :func:`atelier.training.fit`: module ``decoder``, Adam ``decoder``."""

    kind = KIND

    def __init__(self, config: AdaINConfig, *, encoder: FeatureNet | None = None,
                 preview_pairs: tuple[Tensor, Tensor] | None = None) -> None:
        self.config = config
        self.encoder = encoder or build_encoder(config)
        self.decoder = Decoder(config)
        self.modules: dict[str, nn.Module] = {"decoder": self.decoder}
        self.optimizers = {"decoder": torch.optim.Adam(self.decoder.parameters(), lr=config.lr)}
        self.preview_pairs = preview_pairs

    def train_step(self, batch: tuple[Tensor, Tensor], ctx: Any) -> dict[str, float]:
        """One Adam step on the decoder (Huang & Belongie 2017, eqs. 11-13):

            t   = AdaIN(f(c), f(s))
            L_c = |f(g(t)) - t|^2 / |t|^2                                          content
            L_s = sum_i (|mu(phi_i(g(t))) - mu(phi_i(s))|^2
                         + |sigma(phi_i(g(t))) - sigma(phi_i(s))|^2) / E_i          style
            L_id = |g(f(c)) - c|^2 + |g(f(s)) - s|^2                               identity
            L   = L_c + lambda * L_s + lambda_id * L_id + lambda_tv * TV(g(t))

        with phi_i the encoder's ``style_layers``. The content target is t, not f(c): the decoder
        learns to paint exactly what AdaIN asked for. Unlike the paper, each term is divided by
        the energy of its target (E_i: the mean square of mu(phi_i(s)) and sigma(phi_i(s))), as in
        gatys.py: with the paper's raw sums the random encoder's early layers start the style
        term at ~1000 times the content term and the decoder collapses to a flat grey picture
        within 50 steps (measured at lr 1e-3). L_id (Park & Lee 2019, "Arbitrary Style Transfer
        with Style-Attentional Networks", eq. 6) asks the decoder to invert the encoder in pixels:
        the feature losses alone cannot see what a random encoder is blind to.
        """
        cfg = self.config
        content, style = batch  # (B, 3, S, S) each, in [0, 1]
        self.encoder.to(content.device)
        with torch.no_grad():
            f_c = self.encoder(content, [cfg.encoder_layer])[cfg.encoder_layer]  # (B, C_l, S/8, S/8)
            f_s = self.encoder(style, {*cfg.style_layers, cfg.encoder_layer})  # {layer: (B, C_i, h_i, w_i)}
            t = adain(f_c, f_s[cfg.encoder_layer])
        out = self.decoder(t)  # (B, 3, S, S)
        feats = self.encoder(out, {*cfg.style_layers, cfg.encoder_layer})
        l_c = content_loss({cfg.encoder_layer: feats[cfg.encoder_layer]}, {cfg.encoder_layer: t}) / energy(t)
        l_s = torch.tensor(0.0, device=out.device)
        for layer in cfg.style_layers:
            s_mean, s_std = mean_std(f_s[layer])
            target_energy = energy(torch.cat([s_mean, s_std]))
            l_s = l_s + mean_std_loss({layer: feats[layer]}, {layer: f_s[layer]}) / target_energy / len(cfg.style_layers)
        loss = l_c + cfg.style_weight * l_s
        terms = {"content": l_c.item(), "style": cfg.style_weight * l_s.item()}
        if cfg.identity_weight > 0:
            rec = self.decoder(torch.cat([f_c, f_s[cfg.encoder_layer]]))  # (2B, 3, S, S)
            l_id = F.mse_loss(rec, torch.cat([content, style]))
            loss = loss + cfg.identity_weight * l_id
            terms["identity"] = cfg.identity_weight * l_id.item()
        if cfg.tv_weight > 0:
            l_tv = tv_loss(out)
            loss = loss + cfg.tv_weight * l_tv
            terms["tv"] = cfg.tv_weight * l_tv.item()
        ctx.optimize("decoder", loss, clip_grad_norm=cfg.clip_grad_norm)
        return {"loss": loss.item(), **terms}

    @torch.no_grad()
    def preview(self, ctx: Any) -> Image.Image | None:
        """Rows of (photo, painting, result) for the fixed preview pairs."""
        if self.preview_pairs is None:
            return None
        from atelier.images.grid import make_grid, to_pil

        content, style = (x.to(ctx.device) for x in self.preview_pairs)
        was_training = self.decoder.training
        self.decoder.eval()
        model = AdaINModel(self.config, self.encoder, self.decoder)
        rows = [torch.cat([content[i:i + 1], style[i:i + 1], model.stylize(content[i:i + 1], [style[i:i + 1]])])
                for i in range(len(content))]
        self.decoder.train(was_training)
        return to_pil(make_grid(torch.cat(rows) * 2 - 1, nrow=3))


def build_task(config: AdaINConfig, *, seed: int = 0, encoder: FeatureNet | None = None,
               preview_pairs: tuple[Tensor, Tensor] | None = None) -> AdaINTask:
    """The training task, the decoder initialised from ``seed``.

    >>> import dataclasses
    >>> task = build_task(dataclasses.replace(PRESETS["adain"], decoder_width=0.125))
    >>> sorted(task.modules), sorted(task.optimizers)
    (['decoder'], ['decoder'])
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return AdaINTask(config, encoder=encoder, preview_pairs=preview_pairs)


# ---------------------------------------------------------------------------------------------
# The trained model
# ---------------------------------------------------------------------------------------------


class AdaINModel(TrainedModel, nn.Module):
    """Encoder and trained decoder: ``AdaINModel.from_checkpoint(path).stylize(photo, [painting])``."""

    kind = KIND
    outputs = "pictures"

    def __init__(self, config: AdaINConfig, encoder: FeatureNet, decoder: Decoder) -> None:
        super().__init__()
        self.config = config
        self.encoder = encoder
        self.decoder = decoder
        self.eval()

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint | str | os.PathLike, *,
                        vgg_weights: str | os.PathLike | None = None) -> AdaINModel:
        """Rebuild the encoder (from its name and seed) and load the trained decoder."""
        ckpt, config = open_checkpoint(ckpt, kind=KIND, config_type=AdaINConfig)
        decoder = Decoder(config)
        decoder.load_state_dict(ckpt.module_state("decoder"))
        return cls(config, build_encoder(config, weights=vgg_weights), decoder)

    def encode(self, img: Tensor) -> Tensor:
        """f(img): (N, 3, H, W) in [0, 1] → (N, C_l, H / 2^p, W / 2^p) at ``encoder_layer``."""
        return self.encoder(img, [self.config.encoder_layer])[self.config.encoder_layer]

    def decode(self, t: Tensor) -> Tensor:
        """g(t): features → picture (N, 3, H, W), not clipped."""
        return self.decoder(t)

    @torch.no_grad()
    def stylize(self, content: Tensor, styles: Sequence[Tensor] | Tensor | None = None, *,
                weights: Sequence[float] | None = None, strength: float = 1.0, preserve_color: str | None = None,
                mask: Tensor | None = None) -> Tensor:
        """Paint ``content`` (N, 3, H, W) after the paintings ``styles`` (a list of pictures (1, 3, h, w),
        or one), all in [0, 1].

        Returns (N, 3, H, W) in [0, 1]. Each painting is first resized so that its long side
        equals the photo's: the output's size and the scale of its strokes do not depend on the
        painting's own size.

        * ``weights``: t = sum_k w_k AdaIN(f(c), f(s_k)), the paper's style interpolation.
        * ``mask`` (K, H, W) in [0, 1], one map per style: AdaIN region by region, with the
          photo's statistics taken inside each region (the paper's spatial control).
        * ``strength`` alpha in [0, 1]: t' = alpha t + (1 - alpha) f(c) (the paper's eq. 14).
          The decoder cannot rebuild the photo exactly, so the part of the photo it loses,
          c - g(f(c)), is added back scaled by 1 - alpha: 0 gives the photo itself.
        * ``preserve_color``: ``"histogram"`` recolours each painting to the photo's colour
          histograms before encoding (the paper's colour control); ``"luminance"`` keeps the
          photo's colours under the painted luminance. Without it, and with the config's
          ``match_palette``, the picture's RGB mean and std are moved to the paintings'
          (:func:`_match_palette`).

        >>> import dataclasses, torch
        >>> config = dataclasses.replace(PRESETS["adain"], decoder_width=0.125)
        >>> model = AdaINModel(config, build_encoder(config), Decoder(config))
        >>> photo = torch.rand(1, 3, 32, 32)
        >>> bool(torch.allclose(model.stylize(photo, [torch.rand(1, 3, 16, 16)], strength=0.0), photo))
        True
        """
        # 1. Check inputs.
        if not isinstance(content, Tensor) or content.ndim != 4 or content.shape[1] != 3 or min(content.shape[-2:]) < 8:
            shape = tuple(content.shape) if isinstance(content, Tensor) else type(content).__name__
            raise AtelierError(f"content is {shape}; expected a float tensor (N, 3, H, W) with H, W >= 8")
        if isinstance(styles, Tensor) and styles.ndim == 4:
            styles = [styles]
        if isinstance(styles, Tensor) or not styles:
            raise AtelierError("styles must be a non-empty list of pictures (1, 3, h, w)")
        for k, s in enumerate(styles):
            if not isinstance(s, Tensor) or s.ndim != 4 or s.shape[:2] != (1, 3) or min(s.shape[-2:]) < 8:
                shape = tuple(s.shape) if isinstance(s, Tensor) else type(s).__name__
                raise AtelierError(f"styles[{k}] is {shape}; expected (1, 3, h, w) with h, w >= 8")
        strength = control.check_strength(strength)
        control.check_preserve_color(preserve_color)
        if mask is not None and weights is not None:
            raise AtelierError("pass weights (blend styles everywhere) or mask (one style per region), not both")
        mix = control.normalise_weights(weights, num_styles=len(styles))
        regions = None if mask is None else control.check_regions(mask, len(styles), tuple(content.shape[-2:]))
        device = next(self.decoder.parameters()).device
        x = content.float().to(device)
        if strength == 0.0:
            return control.apply_color(x, x.clone(), preserve_color)

        # 2. Pad to a multiple of the encoder's downsampling; paintings to the photo's scale.
        h, w = x.shape[-2:]
        f = self.decoder.factor
        ph, pw = (-h) % f, (-w) % f
        xp = F.pad(x, (0, pw, 0, ph), mode="reflect") if ph or pw else x
        long_side = max(h, w)
        paintings = [resize_long_side(s.float().to(device), long_side) for s in styles]
        if preserve_color == "histogram":
            paintings = [match_histograms(s, x[:1]) for s in paintings]

        # 3. AdaIN targets.
        f_c = self.encode(xp)  # (N, C_l, H/f, W/f)
        f_s = [self.encode(s) for s in paintings]
        if regions is None:
            t = sum(v * adain(f_c, s) for v, s in zip(mix, f_s))
        else:
            m = F.pad(regions.to(device)[None], (0, pw, 0, ph), mode="replicate")
            m = F.interpolate(m, size=f_c.shape[-2:], mode="area")[0]  # (K, H/f, W/f)
            t = torch.zeros_like(f_c)
            for k, s in enumerate(f_s):
                c_mean, c_std = control.masked_mean_std(f_c, m[k])
                s_mean, s_std = control.masked_mean_std(s, torch.ones(s.shape[-2:], device=device))
                t = t + m[k] * (s_std * (f_c - c_mean) / c_std + s_mean)
            t = t / m.sum(0).clamp_min(1e-8)

        # 4. Decode, palette, strength, colour.
        y = self.decode(strength * t + (1 - strength) * f_c)[..., :h, :w]
        if self.config.match_palette and preserve_color is None:
            y = y + strength * (_match_palette(y, paintings, mix, regions) - y)
        if strength < 1.0:
            y = y + (1 - strength) * (x - self.decode(f_c)[..., :h, :w])
        return control.apply_color(x, y.clamp(0, 1), preserve_color if preserve_color == "luminance" else None)


def _match_palette(y: Tensor, paintings: Sequence[Tensor], mix: Sequence[float], regions: Tensor | None) -> Tensor:
    """Give ``y`` (N, 3, H, W) the paintings' per-channel RGB mean and standard deviation.

    AdaIN applied to the pixels, i.e. Reinhard et al. 2001's colour transfer in RGB: a decoder
    trained for minutes on a CPU paints the painting's texture but only roughly its palette (the
    shipped one turned Starry Night's blues and yellows into greens), and this puts the palette
    back. Several styles mix their statistics by weight; with regions, each region gets its
    painting's.
    """
    ones = torch.ones(y.shape[-2:], device=y.device)
    stats = [control.masked_mean_std(p, torch.ones(p.shape[-2:], device=p.device)) for p in paintings]
    if regions is None:
        mean, std = (sum(w * s[i] for w, s in zip(mix, stats)) for i in (0, 1))
        y_mean, y_std = control.masked_mean_std(y, ones)
        return (y - y_mean) / y_std * std + mean
    out = torch.zeros_like(y)
    for k, (mean, std) in enumerate(stats):
        m = regions[k].to(y)
        if m.sum() > 0:
            y_mean, y_std = control.masked_mean_std(y, m)
            out = out + m * ((y - y_mean) / y_std * std + mean)
    return out / regions.to(y).sum(0).clamp_min(1e-8)


# ---------------------------------------------------------------------------------------------
# The family
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdaINData(TrainData):
    """(photo crop, painting crop) pairs (``train``), and the pairs the previews paint."""

    preview: tuple[Tensor, Tensor] | None = None  # (P, 3, S, S) photos and paintings in [0, 1]


class AdaINFamily(Family):
    kind = KIND
    description = "arbitrary style transfer: AdaIN encoder-decoder (Huang & Belongie 2017)"
    config_type = AdaINConfig
    model_type = AdaINModel
    presets = PRESETS
    preset_notes = {
        "adain": "EfficientNet-Lite0 encoder, AdaIN at 1/8 scale, a VGG-like decoder (0.56 M parameters)",
        "adain-vgg": "the paper's layout on the random VGG-19, half-width decoder (0.9 M parameters)",
        "adain-full": "the paper's layout on the random VGG-19, full-width decoder (3.5 M parameters)",
        "adain-relu3": "AdaIN at relu3_1: keeps more of the photo, trains faster, smaller strokes",
    }
    default_data = DEFAULT_DATA
    train_defaults = {"batch_size": 4}  # pairs a step, as the fast network's crops

    def prepare_data(self, config: AdaINConfig, data: Any, options: DataOptions) -> AdaINData:
        """(photo crop, painting crop) pairs: photos from ``data``, paintings from ``config.styles``.

        Style crops have their RGB channels shuffled at random, which turns each painting into six
        palettes and keeps the decoder from learning the bundled paintings' colours by heart. Every
        photo trains (no validation split).

        >>> import dataclasses
        >>> config = dataclasses.replace(PRESETS["adain"], styles=("shipwreck",), image_size=32, photo_size=48,
        ...                              num_crops=8)
        >>> data = FAMILY.prepare_data(config, ["coffee", "rocket"], DataOptions())
        >>> len(data.train), tuple(data.preview[1].shape)
        (8, (1, 3, 32, 32))
        """
        max_pixels = options.max_pixels or DEFAULT_MAX_PIXELS
        photos = load_photos(data, short_side=config.photo_size, limit=options.limit, max_pixels=max_pixels)
        styles = load_photos(list(config.styles), short_side=config.photo_size, max_pixels=max_pixels)
        seed = options.split_seed
        pairs = CropPairs(
            RandomCrops(photos, size=config.image_size, length=config.num_crops, seed=seed),
            RandomCrops(styles, size=config.image_size, length=config.num_crops, seed=seed + 1, permute_channels=True),
        )
        first = torch.arange(min(3, len(styles)))
        return AdaINData(train=pairs, fingerprint=fingerprint(*photos, *styles),
                         preview=(pairs.content.get_batch(first), pairs.style.get_batch(first)))

    def build_task(self, config: AdaINConfig, data: AdaINData, *, seed: int) -> AdaINTask:
        return build_task(config, seed=seed, preview_pairs=data.preview)

    def evaluate(self, model: AdaINModel, *, name: str, options: EvalOptions) -> EvaluationReport:
        """The held-out photos (or ``options.data``) painted after each bundled painting, scored by
        :func:`atelier.metrics.style.stylization_report`; the notes name the paintings it never trained on."""
        paintings = {n: load_image(n) for n in PAINTINGS}
        unseen = [n for n in PAINTINGS if n not in model.config.styles]
        report = stylization_report(lambda photo, n: model.stylize(photo, [paintings[n]]), paintings, name=name,
                                    kind=KIND, photos=options.data)
        if unseen:
            report.notes.append(f"the decoder never trained on {', '.join(unseen)}")
        return report


FAMILY = AdaINFamily()
