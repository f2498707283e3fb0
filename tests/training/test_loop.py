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


def test_unknown_precision_lists_choices():
    with pytest.raises(AtelierError, match="choose one of: auto, fp32, bf16"):
        TrainConfig(precision="fp16")


def test_auto_precision_is_bf16_only_for_a_fast_path_on_native_bf16(monkeypatch):
    from atelier.training import loop

    cpu, plain, fast = torch.device("cpu"), ToyTask(ToyConfig()), ToyTask(ToyConfig())
    fast.fast_path = True
    monkeypatch.setattr(loop, "native_bf16", lambda device: True)
    assert loop.resolve_precision("auto", cpu, fast) is torch.bfloat16
    assert loop.resolve_precision("auto", cpu, plain) is None
    assert loop.resolve_precision("fp32", cpu, fast) is None
    assert loop.resolve_precision("bf16", cpu, plain) is torch.bfloat16
    monkeypatch.setattr(loop, "native_bf16", lambda device: False)
    assert loop.resolve_precision("auto", cpu, fast) is None


class ConvToy(ToyTask):
    """A fast-path task: a convolution, so channels-last and bf16 autocast apply to it."""

    fast_path = True

    def __init__(self):
        super().__init__(ToyConfig())
        self.net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.Flatten(), torch.nn.Linear(64, 1))
        self.modules = {"net": self.net}
        self.optimizers = {"net": torch.optim.Adam(self.net.parameters(), lr=0.01)}
        self.dtypes = []

    def train_step(self, batch, ctx):
        x, y = batch
        images = x[:, :4].repeat(1, 4).view(-1, 1, 4, 4)  # (B, 1, 4, 4)
        images = images.contiguous(memory_format=torch.channels_last)
        out = self.net(images).squeeze(1)
        self.dtypes.append(out.dtype)
        loss = ((out.float().view_as(y) - y) ** 2).mean()
        ctx.optimize("net", loss)
        return {"loss": loss.detach()}


def test_bf16_fast_path_trains_channels_last_and_saves_a_loadable_checkpoint(tmp_path):
    task = ConvToy()
    result = fit(task, ToyData(), config=TrainConfig(num_steps=40, batch_size=16, precision="bf16", **QUIET),
                 out_dir=tmp_path)
    assert set(task.dtypes) == {torch.bfloat16}  # the forward pass ran under autocast
    assert task.net[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert task.net[0].weight.dtype == torch.float32  # the weights themselves stay float32
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    ckpt = load_checkpoint(tmp_path / "checkpoint.safetensors")
    fresh = ConvToy().net
    fresh.load_state_dict(ckpt.module_state("net"))
    torch.testing.assert_close(fresh[0].weight, task.net[0].weight)


def test_fp32_runs_without_autocast():
    task = ConvToy()
    import tempfile

    fit(task, ToyData(), config=TrainConfig(num_steps=3, batch_size=16, precision="fp32", **QUIET),
        out_dir=tempfile.mkdtemp())
    assert set(task.dtypes) == {torch.float32}


def test_a_field_added_after_a_checkpoint_counts_as_its_default_when_resuming():
    from atelier.training.loop import _config_changes

    saved = {"width": 8, "lr": 0.05}  # written before blow_up_at existed
    assert _config_changes(saved, ToyConfig()) == []
    assert _config_changes(saved, ToyConfig(blow_up_at=3)) == ["blow_up_at"]
    assert _config_changes({**saved, "blow_up_at": -1, "gone": 1}, ToyConfig(width=4)) == ["gone", "width"]
