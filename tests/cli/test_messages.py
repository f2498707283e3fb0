"""What the command line says: inputs it used to accept silently, errors in its own words, library
warnings as one line, and help for every argument and preset."""

import argparse
import sys
import warnings

import numpy as np
import pytest
from PIL import Image

from atelier.cli import build_parser, main
from atelier.family import all_presets, families

QUIET = ["--no-progress", "--no-tensorboard", "--sample-every", "0", "--eval-every", "0"]


def _err(capsys):
    """The one line a failed command wrote on stderr."""
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    return err


# ---- item 6: inputs accepted silently ----------------------------------------------------------

@pytest.mark.parametrize("value, shown", [(np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "-inf")])
def test_decode_refuses_latents_that_are_not_finite(tmp_path, capsys, value, shown):
    z = np.zeros((3, 20), dtype=np.float32)
    z[1, 4] = value
    np.savez(tmp_path / "z.npz", z=z)
    assert main(["decode", "mnist-vae", str(tmp_path / "z.npz"), "--out", str(tmp_path / "d.png")]) == 2
    err = _err(capsys)
    assert f"latents {tmp_path / 'z.npz'}: array 'z' holds {shown} in row 1;" in err and "finite" in err
    assert not (tmp_path / "d.png").exists()


@pytest.mark.parametrize("nrow", ["0", "-2"])
def test_sample_refuses_a_grid_row_of_no_images(tmp_path, capsys, nrow):
    assert main(["sample", "mnist-dcgan", "--n", "4", "--nrow", nrow, "--out", str(tmp_path / "g.png")]) == 2
    err = _err(capsys)
    assert f"--nrow must be at least 1 image per row, got {nrow}" in err and "padding" not in err
    assert not (tmp_path / "g.png").exists()


@pytest.mark.parametrize("out", ["painted.jpg", "painted.jpeg"])
def test_keep_alpha_needs_a_format_with_transparency_before_any_work(tmp_path, capsys, out):
    # The photo does not even exist: the output format is checked first.
    assert main(["stylize", str(tmp_path / "missing.png"), "--keep-alpha", "--out", str(tmp_path / out)]) == 2
    assert _err(capsys) == (f"atelier: error: --keep-alpha: {out[out.index('.'):]} files have no transparency; "
                            "write a .png or .webp file, or leave --keep-alpha out")
    assert not any(tmp_path.iterdir())


def test_class_all_needs_a_multiple_of_the_class_count(tmp_path, capsys):
    assert main(["sample", "mnist-cgan", "--n", "5", "--class", "all", "--out", str(tmp_path / "g.png")]) == 2
    assert _err(capsys) == ("atelier: error: --class all shows one row per class: --n must be a multiple of the "
                            "10 classes (e.g. 10, 20, 100), got 5")
    assert main(["sample", "mnist-cgan", "--n", "20", "--class", "all", "--out", str(tmp_path / "g.png")]) == 0
    assert Image.open(tmp_path / "g.png").size == (2 * 28 + 3 * 2, 10 * 28 + 11 * 2)  # every class, 2 each


# ---- item 8: wording -----------------------------------------------------------------------------

def test_a_decompression_bomb_gets_atelier_s_guard_message(tmp_path, capsys):
    from tests.test_imageio import _png_header

    bomb = _png_header(tmp_path / "bomb.png", 30_000, 30_000)
    assert main(["stylize", str(bomb), "--method", "adain", "--style", "starry_night",
                 "--out", str(tmp_path / "o.png")]) == 2
    err = _err(capsys)
    assert f"image {bomb}: 900,000,000 pixels is over the limit of 64,000,000" in err and "--max-pixels" in err
    assert "DOS attack" not in err


def test_negative_style_weights_reach_atelier_s_own_check(tmp_path, capsys):
    assert main(["stylize", "chelsea", "--method", "adain", "--style", "starry_night", "--style", "the_scream",
                 "--weights", "-1,2", "--out", str(tmp_path / "o.png")]) == 2
    assert _err(capsys) == "atelier: error: weights [-1.0, 2.0] must be >= 0 with a positive sum"


def test_an_unknown_style_lists_the_bundled_ones(tmp_path, capsys):
    assert main(["stylize", "chelsea", "--method", "adain", "--style", "mona_lisa",
                 "--out", str(tmp_path / "o.png")]) == 2
    err = _err(capsys)
    assert "image mona_lisa: no such file, nor a bundled picture; bundled paintings: starry_night, the_scream, " \
           "shipwreck; textures: brick" in err
    assert main(["stylize", "mona_lisa.jpg", "--method", "adain", "--style", "starry_night",
                 "--out", str(tmp_path / "o.png")]) == 2
    assert "image mona_lisa.jpg: no such file, nor a bundled picture; bundled paintings:" in _err(capsys)


@pytest.fixture(scope="module")
def cyclegan(tmp_path_factory):
    out = tmp_path_factory.mktemp("cyclegan")
    assert main(["train", "cyclegan-tiny", "--num-steps", "1", "--limit", "8", "--batch-size", "2", "--set",
                 "image_size=16", "--set", "ngf=4", "--set", "n_blocks=1", "--out", str(out), *QUIET]) == 0
    return str(out / "checkpoint.safetensors")


@pytest.mark.parametrize("model, command", [("cyclegan", "atelier translate"), ("fast-paintings", "atelier stylize"),
                                            ("adain-decoder", "atelier stylize"),
                                            ("essen-melody-rnn", "atelier compose")])
def test_sample_on_a_model_that_makes_no_images_names_the_right_command(cyclegan, tmp_path, capsys, model, command):
    model = cyclegan if model == "cyclegan" else model
    assert main(["sample", model, "--out", str(tmp_path / "s.png")]) == 2
    err = _err(capsys)
    assert err.endswith(f"not an image generator (GAN or VAE); use `{command}`"), err


def test_library_warnings_are_one_line_without_a_source_path(tmp_path, capsys):
    data = tmp_path / "pictures"
    data.mkdir()
    for i in range(12):
        Image.new("L", (28, 28), 20 * i).save(data / f"{i}.png")
    (data / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not a picture")
    before = warnings.showwarning
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert main(["train", "mlp-gan", "--data", str(data), "--num-steps", "1", "--batch-size", "4",
                     "--set", "mlp_hidden=8,8", "--out", str(tmp_path / "run"), *QUIET]) == 0
    err = capsys.readouterr().err
    notices = [line for line in err.splitlines() if "skipped" in line]
    assert len(notices) == 1 and notices[0].startswith("atelier: warning: skipped 1 unreadable"), err
    assert "UserWarning" not in err and ".py:" not in err
    assert warnings.showwarning is before  # restored for whoever called main()


def test_export_onnx_without_onnx_names_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now fails as if it were not installed
    assert main(["export-onnx", "fast-paintings", "--out", str(tmp_path / "f.onnx")]) == 2
    assert 'pip install "atelier[onnx]"' in _err(capsys)
    assert not (tmp_path / "f.onnx").exists()


# ---- item 9: help ------------------------------------------------------------------------------

def _commands() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_argument_of_every_command_is_described():
    for name, parser in _commands().items():
        for action in parser._actions:
            if not isinstance(action, argparse._HelpAction):
                assert action.help, f"atelier {name}: {action.dest} has no help"


def test_interpolate_out_describes_the_strip_the_gif_and_the_music_case():
    out = next(a for a in _commands()["interpolate"]._actions if a.dest == "out")
    assert all(word in out.help for word in ("strip", "GIF", "MIDI", "piano rolls"))


def test_every_preset_has_a_note_and_presets_tells_them_apart(capsys):
    for family in families():
        assert set(family.preset_notes) == set(family.presets), family.kind
        assert all(note.strip() and "\n" not in note for note in family.preset_notes.values()), family.kind
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    texts = [line.split(None, 2)[2] for line in lines]
    assert len(set(texts)) == len(texts)  # dcgan-32-rgb, dcgan-64-rgb and beta-vae no longer read alike
    assert {line.split()[0] for line in lines} >= set(all_presets())


# ---- atelier examples ---------------------------------------------------------------------------

def test_examples_writes_the_tour_s_inputs_and_never_overwrites_silently(tmp_path, capsys):
    assert main(["examples", "--out", str(tmp_path)]) == 0
    names = ["a.png", "b.png", "photo.jpg", "my_painting.jpg", "a.mid", "b.mid"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    assert Image.open(tmp_path / "a.png").size == (28, 28) and Image.open(tmp_path / "photo.jpg").mode == "RGB"
    (tmp_path / "a.png").write_bytes(b"mine")
    assert main(["examples", "--out", str(tmp_path)]) == 2
    assert "already holds a.png, b.png" in _err(capsys)
    assert (tmp_path / "a.png").read_bytes() == b"mine"
    assert main(["examples", "--out", str(tmp_path), "--overwrite"]) == 0
    assert Image.open(tmp_path / "a.png").size == (28, 28)
