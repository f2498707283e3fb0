"""ONNX export of a fast-style network (:meth:`atelier.style.feedforward.FastStyleModel.export_onnx`).

The exported graph is the network with its output clipped to [0, 1], as ``stylize`` returns it:
inputs ``image`` (N, 3, H, W) in [0, 1] and ``style_weights`` (N, num_styles), output ``stylized``.
ONNX is an optional dependency: ``pip install "atelier[onnx]"`` (the ``dev`` extra has it too).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from atelier.errors import AtelierError
from atelier.io import atomic_write


class _Clipped(nn.Module):
    """The network with its output clipped to [0, 1], as :meth:`FastStyleModel.stylize` does."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: Tensor, weights: Tensor) -> Tensor:
        return self.net(image, weights).clamp(0, 1)


def export_onnx(net: nn.Module, path: str | os.PathLike, *, num_styles: int, size: int = 256) -> Path:
    """Write ``net`` (a :class:`~atelier.style.feedforward.TransformerNet`) to ``path`` as ONNX, with
    dynamic batch, height and width (``size`` is the tracing example's side, a multiple of 4). The file
    is checked with ``onnx.checker`` before it is moved into place.

    >>> export_onnx(nn.Identity(), "net.pt", num_styles=1)
    Traceback (most recent call last):
    atelier.errors.AtelierError: ONNX output net.pt: the file name must end in .onnx
    """
    path = Path(path)
    if path.suffix != ".onnx":
        raise AtelierError(f"ONNX output {path}: the file name must end in .onnx")
    if size < 16 or size % 4:
        raise AtelierError(f"size={size}; the tracing example must be a multiple of 4 of at least 16 px")
    try:
        import onnx
        import onnxscript  # noqa: F401  (torch.onnx's exporter imports it; missing, it fails mid-export)
    except ModuleNotFoundError as exc:
        if exc.name not in ("onnx", "onnxscript"):  # installed but broken: that error is the one to see
            raise
        raise AtelierError(f'ONNX export needs the {exc.name} package, which is optional: '
                           'pip install "atelier[onnx]"') from None
    clipped = _Clipped(net.eval())
    example = (torch.rand(1, 3, size, size), torch.full((1, num_styles), 1.0 / num_styles))
    batch = torch.export.Dim("batch", max=1024)
    height, width = torch.export.Dim("height", min=2, max=2048), torch.export.Dim("width", min=2, max=2048)

    def write(tmp: str) -> None:
        with warnings.catch_warnings():  # the exporter's own chatter, not the user's business
            warnings.simplefilter("ignore")
            torch.onnx.export(
                clipped, example, tmp, input_names=["image", "style_weights"], output_names=["stylized"],
                dynamo=True, external_data=False, verbose=False,
                dynamic_shapes={"image": {0: batch, 2: height * 4, 3: width * 4}, "weights": {0: batch}},
            )
        onnx.checker.check_model(onnx.load(tmp), full_check=True)

    return atomic_write(path, write)
