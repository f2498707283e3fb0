import os
import signal

import pytest
import torch

from atelier.checkpoint import load_checkpoint
from atelier.errors import AtelierError
from atelier.training import TrainConfig, fit
from atelier.training.loop import TrainingInterrupted, batch_indices

from .toy import ToyConfig, ToyData, ToyTask

QUIET = dict(tensorboard=False, progress=False, sample_every=0, eval_every=0, log_every=1)


def _params(task):
    return torch.cat([p.detach().flatten() for p in task.modules["net"].parameters()])


def test_loss_falls(tmp_path):
    result = fit(ToyTask(ToyConfig()), ToyData(), config=TrainConfig(num_steps=60, batch_size=16, **QUIET), out_dir=tmp_path)
    first = sum(h["loss"] for h in result.history[:5]) / 5
    last = sum(h["loss"] for h in result.history[-5:]) / 5
    assert last < 0.5 * first
    assert (tmp_path / "losses.png").exists() and (tmp_path / "losses.csv").exists()


def test_resume_matches_uninterrupted_run(tmp_path):
    cfg = TrainConfig(num_steps=30, batch_size=16, checkpoint_every=0, **QUIET)
    full_task = ToyTask(ToyConfig())
    full = fit(full_task, ToyData(), config=cfg, out_dir=tmp_path / "full")

    half = TrainConfig(num_steps=13, batch_size=16, checkpoint_every=0, **QUIET)
    fit(ToyTask(ToyConfig()), ToyData(), config=half, out_dir=tmp_path / "split")
    resumed_task = ToyTask(ToyConfig())
    resumed = fit(resumed_task, ToyData(), config=cfg, out_dir=tmp_path / "split", resume=True)

    assert [h["step"] for h in resumed.history] == [h["step"] for h in full.history]
    torch.testing.assert_close(torch.tensor([h["loss"] for h in resumed.history]),
                               torch.tensor([h["loss"] for h in full.history]), rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(_params(resumed_task), _params(full_task), rtol=1e-6, atol=1e-7)


def test_checkpoint_describes_itself(tmp_path):
    fit(ToyTask(ToyConfig()), ToyData(), config=TrainConfig(num_steps=5, batch_size=16, seed=7, **QUIET),
        out_dir=tmp_path, data_fingerprint="abc123", provenance={"preset": "toy"})
    ckpt = load_checkpoint(tmp_path / "checkpoint.safetensors")
    assert ckpt.kind == "toy" and ckpt.step == 5 and ckpt.config == {"width": 8, "lr": 0.05, "blow_up_at": -1}
    assert ckpt.meta["data_fingerprint"] == "abc123"
    assert ckpt.meta["train_config"]["seed"] == 7
    assert ckpt.meta["package_version"]
    assert "rng.torch" in ckpt.tensors and ckpt.meta["rng_numpy"]["name"] == "MT19937"
    assert ckpt.optimizer_state("net")["state"][0]["exp_avg"].shape == (8, 4)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    cfg = TrainConfig(num_steps=20, batch_size=16, checkpoint_every=5, **QUIET)
    with pytest.raises(AtelierError, match=r"step 13: loss loss is nan.*step 10"):
        fit(ToyTask(ToyConfig(blow_up_at=12)), ToyData(), config=cfg, out_dir=tmp_path)
    ckpt = load_checkpoint(tmp_path / "checkpoint.safetensors")
    assert ckpt.step == 10
    assert all(torch.isfinite(t).all() for k, t in ckpt.tensors.items() if k.startswith("model."))


def test_ctrl_c_writes_a_checkpoint_then_resume_finishes(tmp_path):
    class SlowToy(ToyTask):
        def train_step(self, batch, ctx):
            if ctx.step == 7:
                os.kill(os.getpid(), signal.SIGINT)  # as if the user pressed Ctrl-C mid-step
            return super().train_step(batch, ctx)

    cfg = TrainConfig(num_steps=20, batch_size=16, checkpoint_every=0, **QUIET)
    with pytest.raises(TrainingInterrupted) as info:
        fit(SlowToy(ToyConfig()), ToyData(), config=cfg, out_dir=tmp_path)
    assert info.value.step == 8  # the step in flight finished before stopping
    assert load_checkpoint(tmp_path / "checkpoint.safetensors").step == 8
    result = fit(ToyTask(ToyConfig()), ToyData(), config=cfg, out_dir=tmp_path, resume=True)
    assert result.step == 20


def test_resume_refuses_a_different_config(tmp_path):
    cfg = TrainConfig(num_steps=4, batch_size=16, **QUIET)
    fit(ToyTask(ToyConfig()), ToyData(), config=cfg, out_dir=tmp_path)
    with pytest.raises(AtelierError, match="different model config"):
        fit(ToyTask(ToyConfig(width=16)), ToyData(), config=TrainConfig(num_steps=8, batch_size=16, **QUIET),
            out_dir=tmp_path, resume=True)


def test_resume_without_checkpoint_is_an_error(tmp_path):
    with pytest.raises(AtelierError, match="no checkpoint"):
        fit(ToyTask(ToyConfig()), ToyData(), config=TrainConfig(num_steps=4, **QUIET), out_dir=tmp_path, resume=True)


def test_batch_larger_than_data_is_an_error(tmp_path):
    with pytest.raises(AtelierError, match="larger than the training set"):
        fit(ToyTask(ToyConfig()), ToyData(10), config=TrainConfig(num_steps=4, batch_size=16, **QUIET), out_dir=tmp_path)


@pytest.mark.parametrize("field,value", [("num_steps", 0), ("batch_size", -1), ("sample_every", -5)])
def test_impossible_train_settings(field, value):
    with pytest.raises(AtelierError, match=field.replace("_", "-")):
        TrainConfig(**{field: value})


def test_unknown_device_lists_choices():
    with pytest.raises(AtelierError, match="choose one of: auto, cpu, cuda, mps"):
        TrainConfig(device="tpu")


def test_batches_cover_each_epoch_once():
    seen = torch.cat([batch_indices(50, 10, seed=3, step=s) for s in range(5)])
    assert sorted(seen.tolist()) == list(range(50))
    assert not torch.equal(batch_indices(50, 10, seed=3, step=0), batch_indices(50, 10, seed=3, step=5))
