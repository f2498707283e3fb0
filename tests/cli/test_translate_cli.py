"""`atelier train cyclegan-…` and `atelier translate`, end to end through `atelier.cli.main`, on a tiny
CycleGAN trained here on two folders of red and blue squares."""

import numpy as np
import pytest
import torch
from PIL import Image

from atelier.checkpoint import save_checkpoint
from atelier.cli import main
from atelier.imageio import read_metadata
from atelier.data.unpaired import synthetic_domains

SMALL = ["--set", "image_size=16", "--set", "ngf=4", "--set", "n_blocks=1", "--batch-size", "2",
         "--no-progress", "--no-tensorboard", "--eval-every", "0", "--log-every", "1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cyclegan")
    a, b = synthetic_domains("red-blue", size=20, n=8)
    for name, ds in (("A", a), ("B", b)):
        (root / name).mkdir()
        for i, img in enumerate(ds.images.numpy()):
            Image.fromarray(img.transpose(1, 2, 0)).save(root / name / f"{name.lower()}{i}.png")
    assert main(["train", "cyclegan-tiny", "--data", f"{root / 'A'}:{root / 'B'}", "--num-steps", "2",
                 "--sample-every", "2", "--out", str(root / "run"), *SMALL]) == 0
    photo = root / "photo.png"
    Image.new("RGB", (40, 30), (200, 30, 30)).save(photo)
    return {"root": root, "ckpt": str(root / "run" / "checkpoint.safetensors"), "photo": str(photo)}


def _err(capsys):
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    return err


def test_train_on_two_folders_writes_checkpoint_and_preview(trained):
    run = trained["root"] / "run"
    assert (run / "checkpoint.safetensors").exists() and (run / "losses.csv").exists()
    preview = Image.open(run / "samples" / "step_000002.png")
    assert preview.size == (6 * 16 + 7 * 2, 1 * 16 + 2 * 2)  # one held-out image per domain: a, G(a), F(G(a)) | b, …


def test_train_out_of_the_box_on_built_in_synthetic_domains(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "cyclegan-tiny", "--num-steps", "1", "--limit", "20", "--sample-every", "0",
                 "--out", str(out), *SMALL]) == 0
    assert "trained cyclegan-tiny to step 1" in capsys.readouterr().out
    assert main(["train", "cyclegan-tiny", "--num-steps", "2", "--limit", "20", "--sample-every", "0",
                 "--out", str(out), "--resume", *SMALL]) == 0


def test_translate_one_file_keeps_aspect_and_records_provenance(trained, tmp_path, capsys):
    out = tmp_path / "blue.png"
    assert main(["translate", trained["ckpt"], trained["photo"], "--size", "16", "--direction", "b2a",
                 "--out", str(out), "--no-progress"]) == 0
    assert Image.open(out).size == (20, 16)  # 40×30 → short side 16, long side 21 → 20 (a multiple of 4)
    meta = read_metadata(out)
    assert meta["params"]["direction"] == "b2a" and meta["direction"] == "b2a" and meta["input"] == trained["photo"]
    assert len(meta["model_sha256"]) == 64 and meta["size"] == [20, 16]
    assert "translated 1 image b2a" in capsys.readouterr().out


def test_translate_matches_the_library_model(trained, tmp_path):
    import atelier

    out = tmp_path / "x.png"
    assert main(["translate", trained["ckpt"], trained["photo"], "--size", "16", "--out", str(out),
                 "--no-progress"]) == 0
    model = atelier.load(trained["ckpt"])
    x = torch.from_numpy(np.array(Image.open(trained["photo"]).resize((20, 16), Image.Resampling.LANCZOS)))
    expected = model.translate(x.permute(2, 0, 1)[None].float() / 127.5 - 1)[0]
    written = torch.from_numpy(np.array(Image.open(out))).permute(2, 0, 1).float() / 127.5 - 1
    assert (written - expected).abs().max() <= 1 / 127.5 + 1e-6  # equal up to 8-bit rounding


def test_translate_a_folder_with_compare(trained, tmp_path):
    out = tmp_path / "out"
    assert main(["translate", trained["ckpt"], str(trained["root"] / "A"), "--compare", "--out", str(out),
                 "--no-progress"]) == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == [f"a{i}.png" for i in range(8)]
    assert Image.open(out / "a0.png").size == (2 * 16, 16)  # the input beside its translation


@pytest.fixture
def bad_inputs(trained, tmp_path):
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "empty").mkdir()
    gan = save_checkpoint(tmp_path / "gan.safetensors", kind="gan", config={}, modules={"G": torch.nn.Linear(2, 2)})
    (tmp_path / "pickle.pt").write_bytes(b"\x80\x04\x95 pickled")
    return {"tmp": tmp_path, "gan": str(gan)}


@pytest.mark.parametrize("case, message", [
    ("missing", "no such file or folder"),
    ("corrupt", "cannot be read (corrupt or truncated"),
    ("unsupported", "unsupported file type '.txt'"),
    ("empty", "the folder holds no images"),
    ("size_small", "size=4: must be a multiple of 4 from 8 to 1024"),
    ("size_odd", "size=30: must be a multiple of 4"),
    ("size_huge", "size=100000: must be a multiple of 4 from 8 to 1024"),
    ("direction", "unknown direction 'sideways'; choose one of: a2b, b2a"),
    ("wrong_kind", "holds a 'gan' model; this command needs: cyclegan"),
    ("pickle", "Atelier never unpickles files"),
    ("missing_model", "no such checkpoint file and not a shipped model"),
    ("two_into_one", "names one file, but there are 2 inputs"),
    ("bad_extension", "unsupported extension '.gif'"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(trained, bad_inputs, case, message, capsys):
    tmp, ckpt, photo = bad_inputs["tmp"], trained["ckpt"], trained["photo"]
    out = tmp / "result.png"
    args = {
        "missing": [ckpt, str(tmp / "nope.png")],
        "corrupt": [ckpt, photo, str(tmp / "corrupt.png")],
        "unsupported": [ckpt, str(tmp / "notes.txt")],
        "empty": [ckpt, str(tmp / "empty")],
        "size_small": [ckpt, photo, "--size", "4"],
        "size_odd": [ckpt, photo, "--size", "30"],
        "size_huge": [ckpt, photo, "--size", "100000"],
        "direction": [ckpt, photo, "--direction", "sideways"],
        "wrong_kind": [bad_inputs["gan"], photo],
        "pickle": [str(tmp / "pickle.pt"), photo],
        "missing_model": [str(tmp / "nope"), photo],
        "two_into_one": [ckpt, photo, photo],
        "bad_extension": [ckpt, photo, "--out", str(tmp / "result.gif")],
    }[case]
    if "--out" not in args:
        args += ["--out", str(out) if case != "corrupt" else str(tmp / "folder")]
    assert main(["translate", *args, "--no-progress"]) == 2
    assert message in _err(capsys)
    assert not out.exists() and not (tmp / "folder").exists() and not (tmp / "result.gif").exists()


@pytest.mark.parametrize("data, message", [
    ("{A}", "CycleGAN trains on two domains; give FOLDER_A:FOLDER_B"),
    ("{A}:{empty}", "the folder is empty"),
    ("{A}:{missing}", "no such file or folder"),
    ("synthetic:zebras", "unknown synthetic domain pair 'synthetic:zebras'"),
])
def test_train_with_bad_data_is_one_line_exit_2_and_writes_nothing(trained, tmp_path, data, message, capsys):
    (tmp_path / "empty").mkdir()
    spec = data.format(A=trained["root"] / "A", empty=tmp_path / "empty", missing=tmp_path / "missing")
    out = tmp_path / "run"
    assert main(["train", "cyclegan-tiny", "--data", spec, "--num-steps", "1", "--out", str(out), *SMALL]) == 2
    assert message in _err(capsys)
    assert not out.exists()
