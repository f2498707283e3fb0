"""atelier.train and `atelier train`: a run folder belongs to one run, and --resume remembers the
run's own config, data, data options and batch size, refusing what contradicts them."""

import pytest

import atelier
from atelier.api.training import saved_run
from atelier.checkpoint import load_checkpoint
from atelier.cli import main

FIRST = ["train", "mlp-gan", "--data", "digits", "--set", "image_size=16", "--set", "mlp_hidden=16", "--limit", "300",
         "--batch-size", "32", "--seed", "3", "--num-steps", "2", "--no-progress", "--no-tensorboard",
         "--sample-every", "0"]


@pytest.fixture
def run(tmp_path, capsys):
    out = tmp_path / "moths"
    assert main([*FIRST, "--out", str(out)]) == 0
    capsys.readouterr()
    return out


def test_resume_keeps_the_runs_config_data_and_loop(run, capsys):
    """The README's resume example: only --out, --resume and a longer --num-steps."""
    assert main(["train", "mlp-gan", "--out", str(run), "--resume", "--num-steps", "4", "--no-progress"]) == 0
    assert "trained mlp-gan to step 4" in capsys.readouterr().out
    ckpt = load_checkpoint(run / "checkpoint.safetensors")
    assert ckpt.config["image_size"] == 16 and ckpt.config["mlp_hidden"] == [16]
    assert ckpt.meta["train_config"]["batch_size"] == 32 and ckpt.meta["train_config"]["seed"] == 3
    saved = saved_run(run)
    assert (saved.data, saved.options.limit, saved.step) == ("digits", 300, 4)


@pytest.mark.parametrize("extra, message", [
    (["--set", "image_size=8"], "image_size=8 (--set image_size=8) contradicts the run's image_size=16; "
                                "a resumed run keeps its model config"),
    (["--batch-size", "16"], "batch_size=16 (--batch-size 16) contradicts the run's batch_size=32"),
    (["--seed", "4"], "seed=4 (--seed 4) contradicts the run's seed=3"),
    (["--limit", "100"], "limit=100 (--limit 100) contradicts the run's limit=300"),
    (["--val-fraction", "0.2"], "val_fraction=0.2 (--val-fraction 0.2) contradicts the run's val_fraction=0.1"),
    (["--data", "mnist"], "data='mnist' (--data) contradicts the run's data 'digits'"),
    (["--overwrite"], "give one of them"),
])
def test_resume_refuses_what_contradicts_the_run(run, capsys, extra, message):
    before = load_checkpoint(run / "checkpoint.safetensors").step
    assert main(["train", "mlp-gan", "--out", str(run), "--resume", "--num-steps", "4", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert load_checkpoint(run / "checkpoint.safetensors").step == before


def test_training_into_a_run_folder_is_refused_unless_overwrite(run, capsys):
    assert main([*FIRST, "--out", str(run), "--num-steps", "1"]) == 2
    assert "already holds a run; continue it with --resume, or start over with --overwrite" in capsys.readouterr().err
    assert load_checkpoint(run / "checkpoint.safetensors").step == 2
    assert main([*FIRST, "--out", str(run), "--num-steps", "1", "--overwrite"]) == 0
    assert load_checkpoint(run / "checkpoint.safetensors").step == 1


def test_resume_with_another_familys_preset_is_refused(run):
    with pytest.raises(atelier.AtelierError, match="holds a gan run; preset mlp-vae is a vae"):
        atelier.train("mlp-vae", out=run, resume=True)


def test_the_python_api_resumes_with_the_preset_left_out(run):
    loop = saved_run(run).train_config
    result = atelier.train(out=run, resume=True, train_config=atelier.TrainConfig(
        **{**loop.__dict__, "num_steps": 3}))
    assert result.step == 3
