"""Every style command end to end through `atelier.cli.main`, on tiny models trained here."""

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from atelier.cli import main
from atelier.imageio import read_metadata

LOOP = ["--batch-size", "2", "--no-progress", "--no-tensorboard", "--sample-every", "0", "--eval-every", "0",
        "--log-every", "1"]
FAST = ["--set", "width=4", "--set", "num_residual=1", "--set", "image_size=32", "--set", "photo_size=48",
        "--set", "style_size=32", "--set", "num_crops=16", "--set", "backbone=random-multiscale",
        "--set", "content_layers=scale4"]
ADAIN = ["--set", "encoder_layer=block3_expand", "--set", "style_layers=stem,block1_expand", "--set", "decoder_width=0.125",
         "--set", "image_size=32", "--set", "photo_size=48", "--set", "num_crops=16"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("style-cli")
    g = np.random.default_rng(0)
    (root / "photos").mkdir()
    for i in range(3):
        Image.fromarray(g.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(root / "photos" / f"p{i}.png")
    stripes = np.zeros((40, 40, 3), dtype=np.uint8)
    stripes[:, ::4] = (240, 200, 30)
    Image.fromarray(stripes).save(root / "stripes.png")
    Image.fromarray(255 - stripes).save(root / "dots.png")
    return root


@pytest.fixture(scope="module")
def models(files):
    fast, ada = files / "fast", files / "adain"
    assert main(["train", "fast", "--set", f"styles={files / 'stripes.png'},{files / 'dots.png'}", "--data",
                 str(files / "photos"), "--num-steps", "2", "--out", str(fast), *FAST, *LOOP]) == 0
    assert main(["train", "adain", "--set", f"styles={files / 'stripes.png'}", "--data",
                 str(files / "photos"), "--num-steps", "2", "--out", str(ada), *ADAIN, *LOOP]) == 0
    return {"fast": str(fast / "checkpoint.safetensors"), "adain": str(ada / "checkpoint.safetensors")}


def _err(capsys):
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    return err


def test_train_writes_a_style_run_and_resumes(files, models, capsys):
    out = files / "fast"
    assert (out / "checkpoint.safetensors").exists() and (out / "losses.csv").exists()
    args = ["train", "fast", "--set", f"styles={files / 'stripes.png'},{files / 'dots.png'}", "--data",
            str(files / "photos"), "--out", str(out), *FAST, *LOOP]
    assert main([*args, "--num-steps", "3", "--resume"]) == 0
    assert "to step 3" in capsys.readouterr().out


def test_stylize_fast_blend_writes_metadata(files, models, tmp_path):
    out = tmp_path / "out.png"
    assert main(["stylize", str(files / "photos" / "p0.png"), "--style", "stripes", "--style", "dots",
                 "--weights", "0.7,0.3", "--method", "fast", "--model", models["fast"], "--seed", "4",
                 "--out", str(out)]) == 0
    assert Image.open(out).size == (64, 48)
    meta = read_metadata(out)
    assert meta["params"]["seed"] == 4 and meta["weights"] == [0.7, 0.3] and len(meta["model_sha256"]) == 64
    assert meta["command"] == "stylize" and meta["method"] == "fast"


@pytest.mark.parametrize("suffix", [".jpg", ".webp"])
def test_stylize_adain_any_painting_and_format(files, models, tmp_path, suffix):
    out = tmp_path / f"out{suffix}"
    assert main(["stylize", str(files / "photos" / "p1.png"), "--style", "the_scream", "--method", "adain",
                 "--model", models["adain"], "--strength", "0.5", "--preserve-color", "--size", "40",
                 "--out", str(out)]) == 0
    assert Image.open(out).size == (40, 30)
    assert read_metadata(out)["preserve_color"] == "luminance"


def test_stylize_gatys_with_a_mask(files, tmp_path):
    mask = np.zeros((48, 64), dtype=np.uint8)
    mask[:, 32:] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "gatys.png"
    assert main(["stylize", str(files / "photos" / "p2.png"), "--style", str(files / "stripes.png"), "--style",
                 "shipwreck", "--mask", str(tmp_path / "mask.png"), "--method", "gatys", "--backbone",
                 "random-multiscale", "--size", "32", "--num-steps", "2", "--no-progress", "--out", str(out)]) == 0
    assert Image.open(out).size == (32, 24)


def test_stylize_keep_alpha(files, models, tmp_path):
    rgba = np.zeros((20, 24, 4), dtype=np.uint8)
    rgba[:, :12, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cut.png")
    assert main(["stylize", str(tmp_path / "cut.png"), "--style", "dots", "--model", models["fast"], "--keep-alpha",
                 "--out", str(tmp_path / "kept.png")]) == 0
    assert Image.open(tmp_path / "kept.png").mode == "RGBA"


def test_export_onnx(models, tmp_path, capsys):
    pytest.importorskip("onnx")
    assert main(["export-onnx", models["fast"], "--out", str(tmp_path / "fast.onnx"), "--size", "32"]) == 0
    assert (tmp_path / "fast.onnx").stat().st_size > 0 and "stripes, dots" in capsys.readouterr().out


def _vgg_wrong_shape(path):
    save_file({"features.0.weight": torch.zeros(64, 1, 3, 3), "features.0.bias": torch.zeros(64)}, str(path))
    return path


@pytest.fixture
def bad(files, tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    (tmp_path / "notes.txt").write_text("hi")
    Image.new("L", (10, 10)).save(tmp_path / "small_mask.png")
    Image.new("RGB", (200, 200)).save(tmp_path / "big.png")
    _vgg_wrong_shape(tmp_path / "vgg.safetensors")
    return tmp_path


CASES = {
    "missing content": (["{bad}/missing.png", "--style", "stripes"], "missing.png: no such file"),
    "empty file": (["{bad}/empty.png", "--style", "stripes"], "cannot be read"),
    "corrupt file": (["{bad}/broken.jpg", "--style", "stripes"], "cannot be read"),
    "unsupported type": (["{bad}/notes.txt", "--style", "stripes"], "unsupported file type '.txt'"),
    "missing style": (["{photo}", "--method", "adain", "--style", "{bad}/nope.jpg"], "nope.jpg: no such file"),
    "corrupt style": (["{photo}", "--method", "adain", "--style", "{bad}/broken.jpg"], "cannot be read"),
    "zero size": (["{photo}", "--style", "stripes", "--size", "0"], "size is 0"),
    "absurd size": (["{photo}", "--style", "stripes", "--size", "99999"], "size is 99999"),
    "bomb guard": (["{bad}/big.png", "--style", "stripes", "--max-pixels", "1000"], "over the limit of 1,000"),
    "weights count": (["{photo}", "--style", "stripes", "--weights", "0.5,0.5"], "2 weights for 1 styles"),
    "weights text": (["{photo}", "--style", "stripes", "--weights", "a,b"], "--weights 'a,b': expected numbers"),
    "negative weights": (["{photo}", "--style", "stripes", "--style", "dots", "--weights", "1,-1"], "must be >= 0"),
    "mask size": (["{photo}", "--style", "stripes", "--style", "dots", "--mask", "{bad}/small_mask.png"],
                  "is 10×10 px but the content is 64×48"),
    "mask levels": (["{photo}", "--style", "stripes", "--style", "dots", "--mask", "{photo}"], "distinct grey levels"),
    "vgg shape": (["{photo}", "--method", "gatys", "--style", "the_scream", "--backbone", "vgg19", "--vgg-weights",
                   "{bad}/vgg.safetensors"], "layer conv1_1 (features.0.weight) has shape (64, 1, 3, 3)"),
    "unknown method": (["{photo}", "--style", "stripes", "--method", "neural"], "unknown method 'neural'"),
    "strength": (["{photo}", "--style", "stripes", "--strength", "1.5"], "strength is 1.5"),
    "output type": (["{photo}", "--style", "stripes"], "unsupported extension '.gif'"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_with_one_line_and_no_output(files, models, bad, capsys, case):
    args, message = CASES[case]
    out = bad / ("out.gif" if case == "output type" else "out.png")
    args = [a.format(bad=bad, photo=files / "photos" / "p0.png") for a in args]
    if "--method" not in args or args[args.index("--method") + 1] == "fast":
        args += ["--model", models["fast"]]
    elif args[args.index("--method") + 1] == "adain":
        args += ["--model", models["adain"]]
    before = set(bad.iterdir())
    assert main(["stylize", *args, "--out", str(out)]) == 2
    assert message in _err(capsys)
    assert set(bad.iterdir()) == before


def test_train_style_bad_inputs(files, tmp_path, capsys):
    base = ["--out", str(tmp_path / "run"), "--num-steps", "1", *FAST, *LOOP]
    assert main(["train", "fast", *base, "--set", f"styles={tmp_path / 'nope.png'}", "--data",
                 str(files / "photos")]) == 2
    assert "nope.png: no such file" in _err(capsys)
    assert main(["train", "adain", *base[:4], *LOOP, "--set", f"styles={tmp_path / 'nope.png'}", "--data",
                 str(files / "photos")]) == 2
    assert "nope.png: no such file" in _err(capsys)
    assert main(["train", "fast", *base, "--set", "styles=stripes_missing", "--data", str(tmp_path / "nowhere")]) == 2
    _err(capsys)
    assert main(["train", "fast-gan", *base, "--set", f"styles={files / 'stripes.png'}"]) == 2
    assert "unknown preset 'fast-gan'" in _err(capsys)
    assert not (tmp_path / "run").exists()


def test_train_style_is_gone_and_train_uses_the_familys_batch(files, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train-style", "--styles", str(files / "stripes.png")])
    capsys.readouterr()
    out = tmp_path / "run"
    assert main(["train", "fast", "--set", f"styles={files / 'stripes.png'}", "--data", str(files / "photos"),
                 "--num-steps", "1", "--out", str(out), *FAST, *LOOP[2:]]) == 0
    from atelier.checkpoint import load_checkpoint

    assert load_checkpoint(out / "checkpoint.safetensors").meta["train_config"]["batch_size"] == 4


def test_export_onnx_refuses_other_models(models, tmp_path, capsys):
    assert main(["export-onnx", models["adain"], "--out", str(tmp_path / "x.onnx")]) == 2
    assert "holds a 'adain' model; this command needs: fast_style" in _err(capsys)
    assert not (tmp_path / "x.onnx").exists()
