"""The family contract: a new family is its own module and one registration, and then trains,
samples and evaluates through `atelier.train/sample/evaluate` and the CLI, with no change to the
API or the CLI. docs/architecture.md walks through this same toy family."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest
import torch
from torch import nn

import atelier
from atelier.checkpoint import open_checkpoint
from atelier.cli import main
from atelier.data.images import load_images
from atelier.family import (
    DataOptions,
    EvalOptions,
    EvaluationReport,
    Family,
    TrainData,
    TrainedModel,
    all_presets,
    get_family,
    kinds,
    register,
    unregister,
)


# ---- the toy family: the whole of it ------------------------------------------------------------

@dataclass(frozen=True)
class MeanConfig:
    size: int = 8  # pixels per side
    lr: float = 0.1


class MeanTask:
    """Learns the mean picture: minimise |m − x|² over the data."""

    kind = "mean"

    def __init__(self, config: MeanConfig):
        self.config = config
        self.mean = nn.Parameter(torch.zeros(1, 1, config.size, config.size))
        self.modules = {"mean": nn.ParameterList([self.mean])}
        self.optimizers = {"mean": torch.optim.Adam([self.mean], lr=config.lr)}

    def train_step(self, batch, ctx):
        loss = (self.mean - batch[0]).pow(2).mean()
        ctx.optimize("mean", loss)
        return {"loss": loss.detach()}


class MeanModel(TrainedModel):
    kind, outputs, sample_options = "mean", "images", ("noise",)

    def __init__(self, config: MeanConfig, mean: torch.Tensor):
        self.config, self.mean = config, mean

    @classmethod
    def from_checkpoint(cls, ckpt):
        ckpt, config = open_checkpoint(ckpt, kind="mean", config_type=MeanConfig)
        return cls(config, ckpt.module_state("mean")["0"])

    def sample(self, n, *, seed=0, noise=0.0):
        g = torch.Generator().manual_seed(seed)
        return (self.mean + noise * torch.randn(n, 1, self.config.size, self.config.size, generator=g)).clamp(-1, 1)


class MeanFamily(Family):
    kind, description, default_data = "mean", "the mean picture of a dataset (a toy)", "digits"
    config_type, model_type, presets = MeanConfig, MeanModel, {"toy-mean": MeanConfig()}

    def prepare_data(self, config, data, options):
        ds = load_images(data, size=config.size, channels=1, limit=options.limit)
        return TrainData(train=ds, fingerprint=ds.fingerprint())

    def build_task(self, config, data, *, seed):
        return MeanTask(config)

    def evaluate(self, model, *, name, options):
        real = load_images(options.data or self.default_data, size=model.config.size, channels=1).all()[0]
        error = float((model.mean - real.mean(0)).abs().mean())
        return EvaluationReport(model=name, kind=self.kind, data=str(options.data), num_samples=len(real),
                                metrics={"mean_abs_error": error})


# ---- the tests -----------------------------------------------------------------------------------

@pytest.fixture
def toy_family():
    register(MeanFamily())
    yield
    unregister("mean")


QUIET = atelier.TrainConfig(num_steps=60, batch_size=64, progress=False, tensorboard=False, sample_every=0,
                            eval_every=0, checkpoint_every=0)


def test_a_registered_family_trains_samples_and_evaluates_through_the_api(toy_family, tmp_path):
    result = atelier.train("toy-mean", out=tmp_path, train_config=QUIET)
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    model = atelier.load(result.checkpoint)
    assert isinstance(model, MeanModel)
    images = atelier.sample(model, 3, seed=1, noise=0.1)
    assert images.shape == (3, 1, 8, 8)
    with pytest.raises(atelier.AtelierError, match="truncation: not a sampling option of a mean model; "
                                                   "its sampling options: noise"):
        atelier.sample(model, 3, truncation=0.5)
    report = atelier.evaluate(result.checkpoint)
    assert report.kind == "mean" and report.metrics["mean_abs_error"] < 0.2  # 60 steps of Adam near the mean
    with pytest.raises(atelier.AtelierError, match="a mean model cannot interpolate; GANs, VAEs and MusicVAEs can"):
        atelier.interpolate(model, 0, 1)


def test_a_registered_family_is_reached_by_the_cli(toy_family, tmp_path, capsys):
    assert main(["presets"]) == 0
    assert "toy-mean" in capsys.readouterr().out
    out = tmp_path / "run"
    assert main(["train", "toy-mean", "--out", str(out), "--num-steps", "5", "--no-progress", "--no-tensorboard",
                 "--limit", "200"]) == 0
    assert "trained toy-mean to step 5" in capsys.readouterr().out
    checkpoint = out / "checkpoint.safetensors"
    assert main(["sample", str(checkpoint), "--n", "4", "--out", str(tmp_path / "grid.png")]) == 0
    assert (tmp_path / "grid.png").exists()
    assert main(["evaluate", str(checkpoint), "--json", str(tmp_path / "r.json")]) == 0
    assert "mean_abs_error" in (tmp_path / "r.json").read_text()


def test_registration_refuses_an_existing_kind_and_registry_lists_every_family():
    with pytest.raises(atelier.AtelierError, match="a family of kind 'gan' already exists"):
        register(get_family("gan"))
    assert kinds() == ["adain", "cyclegan", "fast_style", "gan", "melody_rnn", "melody_transformer", "music_vae", "vae"]
    with pytest.raises(atelier.AtelierError, match="unknown model kind 'nope'; choose one of: adain, cyclegan"):
        get_family("nope")


def test_every_family_implements_the_whole_contract():
    for kind in kinds():
        family = get_family(kind)
        assert family.kind == kind and family.description and family.presets and family.default_data is not None
        assert issubclass(family.model_type, TrainedModel) and family.model_type.kind == kind
        assert family.model_type.outputs in ("images", "melodies", "pictures")
        for config in family.presets.values():
            assert isinstance(config, family.config_type) and dataclasses.is_dataclass(config)
    names = [name for family in map(get_family, kinds()) for name in family.presets]
    assert len(names) == len(set(names)) == len(all_presets())  # one name, one preset


def test_options_check_themselves():
    with pytest.raises(atelier.AtelierError, match=r"val_fraction=1.5 \(--val-fraction\): must be in \[0, 1\)"):
        DataOptions(val_fraction=1.5)
    with pytest.raises(atelier.AtelierError, match=r"num_samples=1 \(--num-samples\): must be at least 2"):
        EvalOptions(num_samples=1)
    with pytest.raises(atelier.AtelierError, match="unknown evaluate option 'samples'"):
        atelier.evaluate("mnist-dcgan", samples=10)
