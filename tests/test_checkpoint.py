import pickle

import pytest
import torch

from atelier.checkpoint import load_checkpoint, save_checkpoint
from atelier.errors import AtelierError


def _save(path, kind="gan"):
    return save_checkpoint(path, kind=kind, config={"z_dim": 4}, modules={"G": torch.nn.Linear(4, 3)}, step=3)


def test_round_trip(tmp_path):
    net = torch.nn.Linear(4, 3)
    save_checkpoint(tmp_path / "c.safetensors", kind="gan", config={"z_dim": 4}, modules={"G": net}, step=3)
    ckpt = load_checkpoint(tmp_path / "c.safetensors", expect_kind="gan")
    assert ckpt.step == 3 and ckpt.config == {"z_dim": 4}
    torch.testing.assert_close(ckpt.module_state("G")["weight"], net.weight.detach())


def test_truncated_checkpoint(tmp_path):
    path = _save(tmp_path / "c.safetensors")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AtelierError, match="truncated or corrupt"):
        load_checkpoint(path)


def test_empty_file(tmp_path):
    (tmp_path / "e.safetensors").write_bytes(b"")
    with pytest.raises(AtelierError, match="empty or truncated"):
        load_checkpoint(tmp_path / "e.safetensors")


def test_checkpoint_of_another_kind(tmp_path):
    path = _save(tmp_path / "c.safetensors", kind="vae")
    with pytest.raises(AtelierError, match="holds a 'vae' model; this command needs: gan"):
        load_checkpoint(path, expect_kind="gan")


@pytest.mark.parametrize("writer", ["pickle", "torch"])
def test_pickle_is_refused_and_never_unpickled(tmp_path, writer):
    path = tmp_path / "evil.safetensors"

    class Boom:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    if writer == "pickle":
        path.write_bytes(pickle.dumps(Boom()))
    else:
        torch.save({"w": torch.zeros(2)}, path)
    with pytest.raises(AtelierError, match="never unpickles"):
        load_checkpoint(path)
    assert not (tmp_path / "pwned").exists()


def test_missing_module_lists_what_is_there(tmp_path):
    ckpt = load_checkpoint(_save(tmp_path / "c.safetensors"))
    with pytest.raises(AtelierError, match="no module 'D'; it holds: G"):
        ckpt.module_state("D")


def test_failed_write_leaves_old_checkpoint_intact(tmp_path):
    path = _save(tmp_path / "c.safetensors")
    before = path.read_bytes()
    with pytest.raises(TypeError):
        save_checkpoint(path, kind="gan", config={"bad": object()}, modules={"G": torch.nn.Linear(4, 3)})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]
