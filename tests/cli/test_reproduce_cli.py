"""`atelier reproduce FILE` on every kind of artefact the CLI writes: each is regenerated from its
recipe alone and reported identical; a file without a recipe, a changed input: one line, exit 2."""

import pytest
from PIL import Image

from atelier.cli import main
from atelier.data.unpaired import synthetic_domains


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("reproduce")
    assert main(["examples", "--out", str(root / "ex")]) == 0  # a.png, b.png, photo.jpg, a.mid, b.mid …
    return root


def _reproduce(path, capsys):
    capsys.readouterr()
    assert main(["reproduce", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("identical: ") and out.strip().endswith(".reproduced" + path.suffix), out
    return out


@pytest.mark.parametrize("command, artefact", [
    (["sample", "mnist-cgan", "--n", "20", "--class", "all", "--seed", "2"], "grid.png"),
    (["sample", "mnist-vae", "--n", "3", "--temperature", "0.5"], "folder/sample_0002.png"),
    (["interpolate", "mnist-dcgan", "--seeds", "0,5", "--steps", "4"], "strip.jpg"),
    (["interpolate", "mnist-vae", "{ex}/a.png", "{ex}/b.png", "--steps", "3"], "morph.png"),
    (["reconstruct", "mnist-vae", "--data", "digits", "--n", "4"], "recon.webp"),
    (["reconstruct", "mnist-vae", "{ex}/a.png", "{ex}/b.png"], "recon_files.png"),
    (["stylize", "{ex}/photo.jpg", "--style", "starry_night", "--style", "the_scream", "--weights", "0.6,0.4",
      "--size", "64"], "fast.png"),
    (["stylize", "{ex}/photo.jpg", "--method", "adain", "--style", "{ex}/my_painting.jpg", "--size", "64",
      "--preserve-color"], "adain.jpg"),
    (["stylize", "{ex}/photo.jpg", "--method", "gatys", "--style", "the_scream", "--preset", "fast", "--size", "32",
      "--num-steps", "2", "--no-progress"], "gatys.png"),
    (["compose", "essen-melody-rnn", "--bars", "8", "--n", "2", "--primer", "{ex}/a.mid", "--wav", "--seed", "3"],
     "songs/melody_002.mid"),
    (["compose", "essen-musicvae-2bar", "--n", "2", "--wav", "--temperature", "0.8"], "vae/melody_001.wav"),
    (["interpolate", "essen-musicvae-2bar", "{ex}/a.mid", "{ex}/b.mid", "--steps", "3"], "mm/interpolation.wav"),
    (["compose", "essen-melody-rnn", "--bars", "4", "--n", "2", "--seed", "5", "--no-piano-roll"],
     "xml/melody_002.musicxml"),
    (["encode", "mnist-vae", "{ex}/a.png", "{ex}/b.png"], "z.npz"),
], ids=["sample-grid", "sample-folder", "interpolate-strip", "interpolate-images", "reconstruct-data",
        "reconstruct-files", "stylize-fast", "stylize-adain", "stylize-gatys", "compose-midi", "compose-wav",
        "interpolate-melodies", "compose-musicxml", "encode-npz"])
def test_each_artefact_reproduces_identically(files, tmp_path, capsys, command, artefact):
    target = tmp_path / artefact
    out = target.parent if "/" in artefact else target  # a folder of outputs, or the one file
    assert main([c.format(ex=files / "ex") for c in command] + ["--out", str(out)]) == 0
    _reproduce(target, capsys)


def test_the_gif_beside_an_interpolation_strip_reproduces_identically(files, tmp_path, capsys):
    assert main(["interpolate", "mnist-vae", str(files / "ex" / "a.png"), str(files / "ex" / "b.png"),
                 "--steps", "4", "--out", str(tmp_path / "strip.png"), "--gif", str(tmp_path / "anim.gif")]) == 0
    _reproduce(tmp_path / "anim.gif", capsys)
    with Image.open(tmp_path / "anim.reproduced.gif") as gif:
        assert gif.n_frames == 6  # 4 forward, 2 back


def test_a_studio_style_grid_of_one_seed_samples_reproduces_identically(tmp_path, capsys):
    import torch

    import atelier
    from atelier.images.grid import write_grid
    from atelier.provenance import make_recipe, make_sequence

    seeds = [11, 12, 13, 14]
    parts = [make_recipe("sample", {"n": 1, "seed": s, "labels": None}, model="mnist-dcgan", output={"index": 0})
             for s in seeds]
    pictures = torch.cat([atelier.sample("mnist-dcgan", 1, seed=s) for s in seeds])
    path = write_grid(pictures, tmp_path / "grid.png", nrow=4, metadata=make_sequence(parts, assemble="grid", nrow=4))
    _reproduce(path, capsys)


def test_compose_writes_a_recipe_into_the_piano_roll_too(files, tmp_path, capsys):
    assert main(["compose", "essen-melody-rnn", "--bars", "4", "--primer-pitches", "60,62", "--beam-size", "2",
                 "--branch-factor", "2", "--out", str(tmp_path / "beam")]) == 0
    _reproduce(tmp_path / "beam" / "melody_001.png", capsys)


def test_translate_reproduces_identically(tmp_path, capsys):
    a, b = synthetic_domains("red-blue", size=20, n=4)
    for name, ds in (("A", a), ("B", b)):
        (tmp_path / name).mkdir()
        for i, img in enumerate(ds.images.numpy()):
            Image.fromarray(img.transpose(1, 2, 0)).save(tmp_path / name / f"{name.lower()}{i}.png")
    assert main(["train", "cyclegan-tiny", "--data", f"{tmp_path / 'A'}:{tmp_path / 'B'}", "--num-steps", "1",
                 "--set", "image_size=16", "--set", "ngf=4", "--set", "n_blocks=1", "--batch-size", "2",
                 "--no-progress", "--no-tensorboard", "--eval-every", "0", "--sample-every", "0",
                 "--out", str(tmp_path / "run")]) == 0
    ckpt = str(tmp_path / "run" / "checkpoint.safetensors")
    assert main(["translate", ckpt, str(tmp_path / "A"), "--size", "16", "--compare", "--no-progress",
                 "--out", str(tmp_path / "out")]) == 0
    _reproduce(tmp_path / "out" / "a2.png", capsys)
    assert main(["translate", ckpt, str(tmp_path / "B" / "b0.png"), "--direction", "b2a", "--no-progress",
                 "--out", str(tmp_path / "one.png")]) == 0
    _reproduce(tmp_path / "one.png", capsys)


def test_a_file_without_a_recipe_and_a_changed_input_are_one_line(files, tmp_path, capsys):
    photo = tmp_path / "photo.png"
    Image.new("RGB", (40, 30), "red").save(photo)
    capsys.readouterr()
    assert main(["reproduce", str(photo)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"atelier: error: {photo}: no Atelier recipe inside; only files Atelier wrote carry one"
    assert main(["stylize", str(photo), "--method", "adain", "--style", "the_scream", "--size", "32",
                 "--out", str(tmp_path / "s.png")]) == 0
    Image.new("RGB", (40, 30), "blue").save(photo)
    capsys.readouterr()
    assert main(["reproduce", str(tmp_path / "s.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"its input {photo.resolve()} has changed" in err
    assert not (tmp_path / "s.reproduced.png").exists()
