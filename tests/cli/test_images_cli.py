"""Every image command, end to end through `atelier.cli.main`, on tiny models trained here."""

import numpy as np
import pytest
from PIL import Image

from atelier.cli import main
from atelier.imageio import read_metadata

TINY = ["--data", "digits", "--limit", "240", "--batch-size", "16", "--no-progress", "--no-tensorboard",
        "--sample-every", "0", "--eval-every", "0", "--log-every", "1"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    assert main(["train", "mlp-cgan", "--num-steps", "4", "--set", "mlp_hidden=32,32", "--set", "z_dim=8",
                 "--out", str(root / "cgan"), *TINY]) == 0
    assert main(["train", "mlp-vae", "--num-steps", "4", "--set", "hidden=32,16", "--set", "z_dim=4",
                 "--out", str(root / "vae"), *TINY]) == 0
    return {"cgan": str(root / "cgan" / "checkpoint.safetensors"), "vae": str(root / "vae" / "checkpoint.safetensors")}


def _err(capsys):
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    return err


def test_train_writes_run_folder_and_resumes(models, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "mlp-vae", "--set", "hidden=16,8", "--out", str(out), *TINY]
    assert main([*args, "--num-steps", "3"]) == 0
    assert (out / "checkpoint.safetensors").exists() and (out / "losses.png").exists()
    assert main([*args, "--num-steps", "5", "--resume"]) == 0
    assert "to step 5" in capsys.readouterr().out


def test_sample_grid_with_class_and_metadata(models, tmp_path):
    out = tmp_path / "grid.png"
    assert main(["sample", models["cgan"], "--n", "9", "--class", "3", "--seed", "1", "--truncation", "0.7",
                 "--out", str(out)]) == 0
    assert Image.open(out).size == (3 * 28 + 4 * 2, 3 * 28 + 4 * 2)
    meta = read_metadata(out)
    assert meta["params"]["seed"] == 1 and meta["params"]["labels"] == [3] * 9 and len(meta["model_sha256"]) == 64


def test_sample_one_row_per_class(models, tmp_path):
    out = tmp_path / "rows.png"
    assert main(["sample", models["cgan"], "--n", "20", "--class", "all", "--out", str(out)]) == 0
    assert Image.open(out).size == (2 * 28 + 3 * 2, 10 * 28 + 11 * 2)  # 10 rows of 2


def test_sample_one_file_per_image(models, tmp_path):
    assert main(["sample", models["vae"], "--n", "3", "--temperature", "0.5", "--out", str(tmp_path / "imgs")]) == 0
    assert sorted(p.name for p in (tmp_path / "imgs").iterdir()) == [f"sample_000{i}.png" for i in range(3)]


def test_same_seed_same_images(models, tmp_path):
    for name in ("a.png", "b.png"):
        main(["sample", models["cgan"], "--n", "4", "--class", "1", "--seed", "5", "--out", str(tmp_path / name)])
    assert np.array_equal(np.asarray(Image.open(tmp_path / "a.png")), np.asarray(Image.open(tmp_path / "b.png")))


def test_interpolate_seeds_writes_strip_and_gif(models, tmp_path):
    assert main(["interpolate", models["cgan"], "--seeds", "0,7", "--steps", "5", "--class", "2",
                 "--out", str(tmp_path / "s.png")]) == 0
    assert Image.open(tmp_path / "s.png").size[0] == 5 * 28 + 6 * 2
    gif = Image.open(tmp_path / "s.gif")
    assert gif.n_frames == 8  # 5 forward, 3 back


def test_vae_image_commands(models, tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    Image.new("L", (28, 28), 0).save(a)
    Image.new("L", (40, 40), 255).save(b)
    assert main(["interpolate", models["vae"], str(a), str(b), "--steps", "4", "--out", str(tmp_path / "i.png")]) == 0
    assert main(["reconstruct", models["vae"], "--data", "digits", "--n", "4", "--out", str(tmp_path / "r.png")]) == 0
    assert main(["encode", models["vae"], str(a), str(b), "--out", str(tmp_path / "z.npz")]) == 0
    z = np.load(tmp_path / "z.npz")
    assert z["mu"].shape == (2, 4)
    assert main(["decode", models["vae"], str(tmp_path / "z.npz"), "--out", str(tmp_path / "d.png")]) == 0
    assert Image.open(tmp_path / "d.png").size == (2 * 28 + 3 * 2, 28 + 2 * 2)


def test_evaluate_prints_table_and_json(models, tmp_path, capsys):
    assert main(["evaluate", models["vae"], "--data", "digits", "--num-samples", "40", "--iwae-k", "4",
                 "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "fd" in out and "iwae_nll_nats_k4" in out and "not comparable with Inception" in out
    import json

    report = json.loads((tmp_path / "r.json").read_text())
    assert report["metrics"]["iwae_nll_nats_k4"] <= report["metrics"]["neg_elbo_nats"] * 1.05


@pytest.mark.parametrize("argv,message", [
    (["sample", "no-such-model", "--out", "x.png"], "not a shipped model; shipped models: "),
    (["sample", "{vae}", "--class", "3", "--out", "x.png"], "class"),
    (["sample", "{cgan}", "--class", "12", "--out", "x.png"], "12"),
    (["sample", "{cgan}", "--n", "-4", "--out", "x.png"], "--n must be a positive"),
    (["sample", "{vae}", "--class", "all", "--out", "x.png"], "needs a class-conditional model"),
    (["sample", "{cgan}", "--class", "seven", "--out", "x.png"], "expected a class number or 'all'"),
    (["sample", "{cgan}", "--truncation", "-1", "--out", "x.png"], "truncation"),
    (["sample", "{cgan}", "--out", "x.bmp"], "unsupported extension '.bmp'"),
    (["encode", "{cgan}", "a.png", "--out", "z.npz"], "need a VAE, this is a GAN"),
    (["interpolate", "{cgan}", "--steps", "1", "--out", "x.png"], "--steps must be at least 2"),
    (["train", "dcgan64"], "unknown preset 'dcgan64'; choose one of: "),
    (["train", "mlp-gan", "--set", "colour=red"], "unknown GANConfig field 'colour'"),
    (["train", "mlp-gan", "--batch-size", "-2"], "--batch-size must be a positive"),
    (["train", "mlp-gan", "--data", "nowhere/"], "no such file or folder"),
    (["train", "cgan", "--data", "{empty}"], "folder is empty"),
])
def test_bad_input_is_one_line_and_exit_2(models, tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    argv = [a.format(empty=tmp_path / "empty", **models) for a in argv]
    assert main(argv) == 2
    err = _err(capsys)
    assert err.startswith("atelier: error: ") and message in err
    assert not (tmp_path / "x.png").exists()


def test_pickle_checkpoint_is_refused(tmp_path, capsys):
    import torch

    torch.save({"G": torch.zeros(3)}, tmp_path / "model.pt")
    assert main(["sample", str(tmp_path / "model.pt"), "--out", str(tmp_path / "x.png")]) == 2
    assert "never unpickles" in _err(capsys)


def test_presets_and_models_list(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "dcgan" in out and "mlp-vae" in out
    assert main(["models"]) == 0
