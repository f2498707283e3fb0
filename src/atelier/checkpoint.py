"""One self-describing checkpoint format for every model family.

A checkpoint is a single ``.safetensors`` file:

* tensors: ``model.<module>.<param>`` for each module's state dict, ``optim.<name>.<i>.<key>`` for
  optimizer state tensors, ``rng.torch`` for the CPU generator state;
* header metadata ``atelier`` (JSON): format version, model ``kind``, the family ``config``, ``step``,
  optimizer param groups and scalar state, scheduler state, Python/NumPy RNG state, a fingerprint of
  the training data, the package version, provenance and metrics.

safetensors never executes code on load, so a checkpoint from a stranger is safe to open; pickle
files are recognised by their first bytes and refused. Writes go to a temporary file in the same
folder and are renamed into place, so an interrupted save never leaves a half-written checkpoint.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from atelier.config import config_from_dict
from atelier.errors import AtelierError
from atelier.io import atomic_write

FORMAT = "atelier-checkpoint"
FORMAT_VERSION = 1
_PICKLE_MAGIC = (b"\x80", b"PK\x03\x04")  # pickle protocol 2+, torch.save zip archives


@dataclass(frozen=True)
class Checkpoint:
    """What :func:`load_checkpoint` returns: the model kind, its config and every saved piece."""

    kind: str
    config: dict[str, Any]
    step: int
    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def module_state(self, name: str) -> dict[str, torch.Tensor]:
        """The state dict saved for module ``name`` (e.g. ``"G"``)."""
        prefix = f"model.{name}."
        state = {k[len(prefix):]: v for k, v in self.tensors.items() if k.startswith(prefix)}
        if not state:
            found = sorted({k.split(".")[1] for k in self.tensors if k.startswith("model.")})
            raise AtelierError(f"checkpoint {self.path}: no module {name!r}; it holds: {', '.join(found)}")
        return state

    def has_module(self, name: str) -> bool:
        return any(k.startswith(f"model.{name}.") for k in self.tensors)

    def optimizer_state(self, name: str) -> dict[str, Any] | None:
        saved = self.meta.get("optimizers", {}).get(name)
        if saved is None:
            return None
        state: dict[int, dict[str, Any]] = {}
        for pid, scalars in saved["scalars"].items():
            state[int(pid)] = dict(scalars)
        prefix = f"optim.{name}."
        for key, value in self.tensors.items():
            if key.startswith(prefix):
                pid, tkey = key[len(prefix):].split(".", 1)
                state.setdefault(int(pid), {})[tkey] = value
        return {"state": state, "param_groups": saved["param_groups"]}


def save_checkpoint(
    path: str | os.PathLike,
    *,
    kind: str,
    config: dict[str, Any],
    modules: dict[str, torch.nn.Module],
    step: int = 0,
    optimizers: dict[str, torch.optim.Optimizer] | None = None,
    schedulers: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically and return its path.

    >>> import torch, tempfile, os
    >>> p = save_checkpoint(os.path.join(tempfile.mkdtemp(), "m.safetensors"), kind="demo",
    ...                     config={"width": 4}, modules={"net": torch.nn.Linear(4, 2)})
    >>> load_checkpoint(p).kind
    'demo'
    """
    from atelier.version import __version__

    path = Path(path)
    tensors: dict[str, torch.Tensor] = {}
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            tensors[f"model.{name}.{key}"] = value.detach().cpu().contiguous()
    optim_meta: dict[str, Any] = {}
    for name, opt in (optimizers or {}).items():
        sd = opt.state_dict()
        scalars: dict[str, dict[str, Any]] = {}
        for pid, pstate in sd["state"].items():
            scalars[str(pid)] = {}
            for key, value in pstate.items():
                if torch.is_tensor(value):
                    tensors[f"optim.{name}.{pid}.{key}"] = value.detach().cpu().contiguous()
                else:
                    scalars[str(pid)][key] = value
        optim_meta[name] = {"param_groups": sd["param_groups"], "scalars": scalars}
    tensors["rng.torch"] = torch.get_rng_state()
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "config": config,
        "step": int(step),
        "package_version": __version__,
        "optimizers": optim_meta,
        "schedulers": {k: s.state_dict() for k, s in (schedulers or {}).items()},
        **(extra or {}),
    }
    header = {"atelier": json.dumps(meta, default=_jsonable)}
    return atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=header))


def read_header(path: str | os.PathLike, *, expect_kind: str | tuple[str, ...] | None = None) -> dict[str, Any]:
    """A checkpoint's JSON header (kind, config, step, meta) from the file's first bytes, without
    reading its tensors; the same refusals as :func:`load_checkpoint` (pickles, truncated files,
    other safetensors files, another kind)."""
    path = Path(path)
    if not path.is_file():
        raise AtelierError(f"checkpoint {path}: no such file")
    with open(path, "rb") as fh:
        head = fh.read(9)
    # safetensors: an 8-byte little-endian header length, then the JSON header, so byte 8 is "{".
    looks_safetensors = len(head) == 9 and head[8:9] == b"{"
    if not looks_safetensors and head.startswith(_PICKLE_MAGIC):
        raise AtelierError(
            f"checkpoint {path}: this is a pickle/torch.save file; Atelier never unpickles files "
            "(they can run code) and reads only its own .safetensors checkpoints"
        )
    if len(head) < 9:
        raise AtelierError(f"checkpoint {path}: file is empty or truncated ({len(head)} bytes)")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as fh:
            header = fh.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise AtelierError(f"checkpoint {path}: not a readable safetensors file (truncated or corrupt: {exc})") from None
    if "atelier" not in header:
        raise AtelierError(f"checkpoint {path}: a safetensors file but not an Atelier checkpoint (no 'atelier' header)")
    meta = json.loads(header["atelier"])
    if meta.get("format") != FORMAT:
        raise AtelierError(f"checkpoint {path}: unknown format {meta.get('format')!r}")
    kind = meta["kind"]
    if expect_kind is not None:
        allowed = (expect_kind,) if isinstance(expect_kind, str) else expect_kind
        if kind not in allowed:
            raise AtelierError(
                f"checkpoint {path} holds a {kind!r} model; this command needs: {', '.join(allowed)}"
            )
    return meta


def load_checkpoint(path: str | os.PathLike, *, expect_kind: str | tuple[str, ...] | None = None) -> Checkpoint:
    """Read a checkpoint, refusing pickles, truncated files and files of another kind."""
    path = Path(path)
    meta = read_header(path, expect_kind=expect_kind)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise AtelierError(f"checkpoint {path}: not a readable safetensors file (truncated or corrupt: {exc})") from None
    return Checkpoint(kind=meta["kind"], config=meta["config"], step=meta["step"], tensors=tensors, meta=meta, path=path)


def _jsonable(value: Any) -> Any:
    if torch.is_tensor(value):
        return value.tolist()
    if isinstance(value, (set, tuple)):
        return list(value)
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in checkpoint metadata")


def open_checkpoint(ckpt: Checkpoint | str | os.PathLike, *, kind: str, config_type: type) -> tuple[Checkpoint, Any]:
    """A checkpoint of ``kind`` (loaded from a path, or checked if already loaded) and its config
    rebuilt as ``config_type``; another kind, or a config that does not fit, is a one-line error.

    >>> import dataclasses, tempfile, os
    >>> @dataclasses.dataclass(frozen=True)
    ... class Tiny:
    ...     width: int = 4
    >>> p = save_checkpoint(os.path.join(tempfile.mkdtemp(), "m.safetensors"), kind="demo",
    ...                     config={"width": 8}, modules={"net": torch.nn.Linear(8, 2)})
    >>> open_checkpoint(p, kind="demo", config_type=Tiny)[1]
    Tiny(width=8)
    """
    if not isinstance(ckpt, Checkpoint):
        ckpt = load_checkpoint(ckpt, expect_kind=kind)
    elif ckpt.kind != kind:
        raise AtelierError(f"checkpoint {ckpt.path} holds a {ckpt.kind!r} model; this needs: {kind}")
    try:
        config = config_from_dict(config_type, ckpt.config)
    except (TypeError, AtelierError) as exc:
        raise AtelierError(f"checkpoint {ckpt.path}: its config does not fit {config_type.__name__} ({exc})") from None
    return ckpt, config
