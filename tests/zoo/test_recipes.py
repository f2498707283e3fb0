"""The one recipe registry: every shipped model has a recipe, and a recipe trains, ships and records a model."""

import json
from dataclasses import replace

import pytest

from atelier import zoo
from atelier.checkpoint import load_checkpoint
from atelier.zoo.recipes import CLASSIFIER, RECIPES, main, run_recipe, ship, train_classifier_recipe

TINY_FAST = ("width=4", "num_residual=1", "image_size=32", "photo_size=48", "num_crops=8",
             "backbone=random-multiscale", "content_layers=scale4")


def test_every_shipped_model_has_a_recipe():
    assert set(zoo.available_models()) <= {CLASSIFIER, *RECIPES}
    assert {"fast-paintings", "adain-decoder", "mnist-dcgan", "essen-melody-rnn"} <= set(RECIPES)


def test_the_classifier_recipe_trains_through_fit_and_ships_only_the_network(tmp_path):
    zoo_dir = tmp_path / "zoo"
    zoo_dir.mkdir()
    entry = train_classifier_recipe(tmp_path / "runs", num_steps=3, zoo_dir=zoo_dir)
    run = load_checkpoint(tmp_path / "runs" / CLASSIFIER / "checkpoint.safetensors")
    assert (run.kind, run.step) == ("classifier", 3) and run.optimizer_state("classifier") is not None
    shipped = load_checkpoint(zoo_dir / entry["file"])
    assert (shipped.kind, shipped.step) == ("classifier", 3) and not shipped.meta.get("optimizers")
    assert {k.split(".")[1] for k in shipped.tensors if k.startswith("model.")} == {"classifier"}
    assert 0.0 <= entry["metrics"]["held_out_accuracy"] <= 1.0 and entry["recipe"]["num_steps"] == 3
    manifest = json.loads((zoo_dir / "manifest.json").read_text())["models"]
    assert manifest[CLASSIFIER]["sha256"] == zoo.sha256_file(zoo_dir / entry["file"])


def test_a_style_recipe_trains_with_atelier_train_and_is_evaluated(tmp_path):
    zoo_dir = tmp_path / "zoo"
    zoo_dir.mkdir()
    recipe = replace(RECIPES["fast-paintings"], overrides=TINY_FAST, batch_size=2)
    entry = run_recipe("fast-paintings", recipe, tmp_path / "runs", num_steps=2, zoo_dir=zoo_dir)
    shipped = load_checkpoint(zoo_dir / "fast-paintings.safetensors")
    assert shipped.kind == "fast_style"
    assert {k.split(".")[1] for k in shipped.tensors if k.startswith("model.")} == {"net"}
    assert shipped.meta["train_config"]["batch_size"] == 2 and shipped.meta["provenance"]["preset"] == "fast-cin"
    metrics = entry["metrics"]
    assert metrics["photo_style_distance_random_vgg19"] > 0 and "held-out photos" in metrics["measured_on"]
    assert entry["recipe"]["command"] == "python -m atelier.zoo.recipes fast-paintings --device cpu"
    again = run_recipe("fast-paintings", recipe, tmp_path / "runs", ship_only=True, train_seconds=5.0,
                       zoo_dir=zoo_dir)
    assert again["recipe"]["train_seconds"] == 5.0
    assert list(json.loads((zoo_dir / "manifest.json").read_text())["models"]) == ["fast-paintings"]


def test_ship_names_a_module_the_run_lacks(tmp_path):
    from atelier.errors import AtelierError

    train_classifier_recipe(tmp_path / "runs", num_steps=1, zoo_dir=tmp_path)
    with pytest.raises(AtelierError, match="no module 'G_ema'; it holds: classifier"):
        ship("x", tmp_path / "runs" / CLASSIFIER / "checkpoint.safetensors", description="", recipe={},
             keep=("G_ema",), metrics={}, zoo_dir=tmp_path)


def test_an_unknown_recipe_is_named(capsys):
    assert main(["mnist-gun"]) == 2
    assert "unknown recipe 'mnist-gun'" in capsys.readouterr().err
