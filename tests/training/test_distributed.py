"""Two CPU processes under torchrun reproduce the single-process run with the same global batch."""

import os
import subprocess
import sys
from pathlib import Path

import torch

from atelier.checkpoint import load_checkpoint

ARGS = ["mlp-vae", "--data", "digits", "--limit", "300", "--num-steps", "6", "--batch-size", "32",
        "--set", "hidden=64,32", "--set", "z_dim=4", "--no-tensorboard", "--no-progress",
        "--sample-every", "0", "--eval-every", "0", "--log-every", "1"]


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.pop("WORLD_SIZE", None)
    return env


def test_two_processes_match_one(tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    single = subprocess.run([sys.executable, "-m", "atelier", "train", *ARGS, "--out", str(tmp_path / "one")],
                            env=_env(), capture_output=True, text=True, timeout=240)
    assert single.returncode == 0, single.stderr
    multi = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node=2", "-m", "atelier", "train", *ARGS,
                            "--out", str(tmp_path / "two")], env=_env(), capture_output=True, text=True, timeout=240)
    assert multi.returncode == 0, multi.stderr[-3000:]

    a = load_checkpoint(tmp_path / "one" / "checkpoint.safetensors")
    b = load_checkpoint(tmp_path / "two" / "checkpoint.safetensors")
    assert a.step == b.step == 6
    for key, value in a.module_state("vae").items():
        torch.testing.assert_close(b.module_state("vae")[key], value, rtol=1e-4, atol=1e-5, msg=key)
    # The training actually moved the weights (the comparison is not between two initialisations).
    assert a.meta["history"][-1]["loss"] != a.meta["history"][0]["loss"]
    assert [round(h["loss"], 3) for h in a.meta["history"]] == [round(h["loss"], 3) for h in b.meta["history"]]
