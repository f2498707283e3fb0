"""The README's tour runs as written: every line of its command blocks, in an empty folder, through
``atelier.cli.main``, the first line writing the inputs the others read."""

import re
import shlex
from pathlib import Path

import pytest

from atelier.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"
TOUR_SECTIONS = ("## A tour of the command line", "## Style transfer and music", "## Analysis, critique and taste")

# Options appended to a line so that it runs in seconds (argparse keeps the last value given): the
# command, its inputs and its outputs stay the README's.
QUIET = ["--no-progress", "--no-tensorboard", "--sample-every", "0", "--eval-every", "0"]
TINY = {
    "atelier evaluate mnist-dcgan": ["--num-samples", "100"],
    "atelier stylize photo.jpg --method gatys": ["--size", "32", "--num-steps", "2", "--no-progress"],
    "atelier train fast": ["--num-steps", "1", "--batch-size", "1", "--set", "image_size=64", *QUIET],
    "atelier train cyclegan-tiny": ["--num-steps", "2", "--limit", "16", "--batch-size", "4", *QUIET],
}
SLOW = ("atelier evaluate essen-melody-rnn",)  # parses the Essen corpus on first use: minutes


def tour_lines() -> list[str]:
    """The command lines of the first ```bash block of each tour section, without their comments."""
    text = README.read_text()
    lines = []
    for heading in TOUR_SECTIONS:
        assert heading in text, f"README has no section {heading!r}"
        block = re.search(r"```bash\n(.*?)```", text[text.index(heading):], re.S)
        lines += [line.split("  #")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    return lines


def _run(line: str, capsys) -> None:
    """Every command of ``line`` (joined by &&) exits 0, and every file it names with --out or --json exists."""
    for command in line.split("&&"):
        argv = shlex.split(command)
        assert argv[0] == "atelier", line
        extra = next((options for start, options in TINY.items() if command.strip().startswith(start)), [])
        status = main(argv[1:] + extra)
        assert status == 0, f"{command.strip()}: {capsys.readouterr().err.strip()}"
        for flag in ("--out", "--json"):
            if flag in argv:
                out = Path(argv[argv.index(flag) + 1])
                assert out.exists() and (out.is_file() or any(out.iterdir())), f"{command.strip()}: wrote no {out}"


def test_the_tour_starts_by_writing_its_inputs():
    lines = tour_lines()
    assert lines[0] == "atelier examples --out ."
    assert len(lines) >= 20 and set(TINY) | set(SLOW) <= {w for line in lines for w in _prefixes(line)}


def _prefixes(line: str) -> list[str]:
    words = line.split()
    return [" ".join(words[:k]) for k in range(1, len(words) + 1)]


def test_every_line_of_the_tour_runs_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for line in tour_lines():
        if line not in SLOW:
            _run(line, capsys)
    written = {p.name for p in tmp_path.iterdir()}
    assert {"a.png", "photo.jpg", "my_painting.jpg", "a.mid", "digits.png", "decoded.png", "blend.png"} <= written
    assert sorted(p.name for p in (tmp_path / "translated").iterdir()) == ["a.png", "b.png"]


@pytest.mark.slow
def test_the_tours_slow_lines_run_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for line in SLOW:
        assert line in tour_lines()
        _run(line, capsys)
