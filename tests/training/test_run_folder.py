"""A run folder belongs to one run: no silent overwrite, a lock, the newest K checkpoints, a loss
log written as training goes, and kills at any moment that lose at most the steps since the last
checkpoint."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from atelier.checkpoint import load_checkpoint
from atelier.errors import AtelierError
from atelier.training import TrainConfig, fit
from atelier.training.run_folder import RunLock, newest_checkpoint
from tests.training import killable
from tests.training.toy import ToyConfig, ToyData, ToyTask

ROOT = Path(__file__).resolve().parents[2]
QUIET = dict(batch_size=16, log_every=1, sample_every=0, eval_every=0, checkpoint_minutes=0, tensorboard=False,
             progress=False)


def _fit(out, num_steps, *, resume=False, overwrite=False, **changes):
    task = ToyTask(ToyConfig())
    config = TrainConfig(**{**QUIET, "num_steps": num_steps, "checkpoint_every": 1, **changes})
    return task, fit(task, ToyData(), config=config, out_dir=out, resume=resume, overwrite=overwrite)


def _weights(task):
    return torch.cat([p.detach().flatten() for p in task.modules["net"].parameters()])


def _start(out, num_steps, *extra):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "tests.training.killable", str(out), str(num_steps), *extra],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    return proc


def test_a_folder_with_a_run_needs_resume_or_overwrite(tmp_path):
    _fit(tmp_path, 6)
    with pytest.raises(AtelierError, match="already holds a run; continue it with --resume, or start over with "
                                           "--overwrite"):
        _fit(tmp_path, 2)
    assert load_checkpoint(tmp_path / "checkpoint.safetensors").step == 6  # nothing was lost
    _, result = _fit(tmp_path, 2, overwrite=True)
    assert result.step == 2 and newest_checkpoint(tmp_path).step == 2
    assert not (tmp_path / "checkpoint-2.safetensors").exists()  # the old run's checkpoints went with it
    with pytest.raises(AtelierError, match="give one of them"):
        _fit(tmp_path, 4, resume=True, overwrite=True)


def test_the_newest_k_checkpoints_are_kept_and_resume_skips_a_damaged_newest(tmp_path):
    full, _ = _fit(tmp_path / "full", 8)
    _fit(tmp_path / "cut", 6)
    steps = [load_checkpoint(tmp_path / "cut" / name).step
             for name in ("checkpoint.safetensors", "checkpoint-1.safetensors", "checkpoint-2.safetensors")]
    assert steps == [6, 5, 4] and not (tmp_path / "cut" / "checkpoint-3.safetensors").exists()
    (tmp_path / "cut" / "checkpoint.safetensors").write_bytes(b"\x00" * 100)  # a full disk, say
    with pytest.warns(UserWarning, match="skipped the unreadable checkpoint"):
        resumed, result = _fit(tmp_path / "cut", 8, resume=True)
    assert result.step == 8
    torch.testing.assert_close(_weights(resumed), _weights(full), rtol=0, atol=0)


def test_losses_csv_grows_as_training_goes_and_a_resume_drops_rows_past_its_checkpoint(tmp_path):
    seen = []
    task = ToyTask(ToyConfig())

    def on_log(step, _):
        seen.append(len((tmp_path / "losses.csv").read_text().splitlines()) - 1)  # rows, without the header

    fit(task, ToyData(), config=TrainConfig(**{**QUIET, "num_steps": 5, "checkpoint_every": 2}), out_dir=tmp_path,
        on_log=on_log)
    assert seen == [1, 2, 3, 4, 5]
    (tmp_path / "checkpoint.safetensors").unlink()  # back to the step-4 checkpoint, as after a kill at step 5
    _fit(tmp_path, 6, resume=True, checkpoint_every=2)
    steps = [int(float(line.split(",")[0])) for line in (tmp_path / "losses.csv").read_text().splitlines()[1:]]
    assert steps == [1, 2, 3, 4, 5, 6]


def test_checkpoints_come_by_steps_never_fewer_than_four_a_run_and_by_time():
    assert TrainConfig(num_steps=400, checkpoint_every=500).checkpoint_interval() == 100
    assert TrainConfig(num_steps=2000, checkpoint_every=500).checkpoint_interval() == 500
    assert TrainConfig(num_steps=3, checkpoint_every=500).checkpoint_interval() == 1
    with pytest.raises(AtelierError, match="--log-every must be a positive integer"):
        TrainConfig(log_every=0)


def test_checkpoints_by_time(tmp_path):
    task = ToyTask(ToyConfig())
    config = TrainConfig(**{**QUIET, "num_steps": 5, "checkpoint_every": 0, "checkpoint_minutes": 1e-9})
    fit(task, ToyData(), config=config, out_dir=tmp_path)
    assert [load_checkpoint(tmp_path / n).step for n in ("checkpoint-1.safetensors", "checkpoint-2.safetensors")] \
        == [4, 3]


def test_a_second_trainer_is_refused_and_a_killed_ones_lock_is_taken_over(tmp_path):
    first = _start(tmp_path, 100_000)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "checkpoint.safetensors").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(AtelierError, match=f"is in use by another training \\(PID {first.pid}\\)"):
            _fit(tmp_path, 4, resume=True)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    with RunLock(tmp_path):  # the dead process's lock is free again
        pass
    step = newest_checkpoint(tmp_path).step
    killable.run(str(tmp_path), step + 2, resume=True)
    assert newest_checkpoint(tmp_path).step == step + 2


def test_twenty_kills_at_random_moments_all_resume_to_the_uninterrupted_weights(tmp_path):
    """Fault injection: SIGKILL at a random moment (often inside a checkpoint write); every run
    resumes from its newest readable checkpoint and ends with the weights of a run never killed."""
    steps = killable.LOOP.num_steps
    reference = killable.run(str(tmp_path / "reference"), steps, resume=False)
    rng = random.Random(0)
    killed, in_write = 0, 0
    for i in range(20):
        out = tmp_path / f"run{i}"
        proc = _start(out, steps)
        time.sleep(rng.uniform(0.0, 1.6))  # from its first step; its 40 steps take about 1.4 s here
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if proc.returncode == 0:  # it finished before the kill: nothing to resume
            continue
        killed += 1
        files = list(out.iterdir()) if out.exists() else []
        in_write += any(p.name.startswith((".checkpoint-new", "checkpoint-new")) for p in files)
        if any(p.name.startswith("checkpoint") for p in files):
            newest = newest_checkpoint(out)  # never unreadable: a kill cannot damage the newest
            if newest.step == steps:  # killed while finishing up, after its last checkpoint
                weights = killable.weights(newest.module_state("net"))
            else:
                weights = killable.run(str(out), steps, resume=True)
        else:  # killed before its first checkpoint: a fresh start is all there is
            weights = killable.run(str(out), steps, resume=False)
        torch.testing.assert_close(weights, reference, rtol=0, atol=0)
        shutil.rmtree(out)  # 3 checkpoints of 32 MB each
    assert killed >= 15 and in_write >= 3, (killed, in_write)  # the kills did land mid-run, and inside writes


def test_a_long_run_says_how_long_it_will_take():
    from atelier.training.loop import _estimate

    lines = []

    class Bar:
        def write(self, text):
            lines.append(text)

    _estimate(Bar(), seconds=14.4, steps=3, remaining=1997)  # 4.8 s a step, as fast style on this CPU
    _estimate(Bar(), seconds=0.3, steps=3, remaining=1997)  # 0.1 s a step: 3 min
    _estimate(Bar(), seconds=0.03, steps=3, remaining=1997)  # 20 s in all: no line
    assert lines == ["about 4.8 s a step: 2 h 40 min for the remaining 1,997 steps (Ctrl-C saves a checkpoint; "
                     "--resume continues)",
                     "about 0.1 s a step: 3 min for the remaining 1,997 steps (Ctrl-C saves a checkpoint; "
                     "--resume continues)"]
