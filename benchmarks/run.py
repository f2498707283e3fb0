"""``make bench``: run every ``benchmarks/bench_*.py`` and write ``docs/benchmarks.md``.

Each module has ``run(quick: bool) -> str`` returning a Markdown section. Numbers are measured on
the machine that runs this, which the page names with the date and the command.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import os
import platform
import re
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{cpu}; {os.cpu_count()} cores, torch {torch.__version__} with {torch.get_num_threads()} threads; "
            f"{gpu}; Python {platform.python_version()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="docs/benchmarks.md")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument("--only", nargs="*", default=None, help="names of bench modules to run, e.g. images")
    args = parser.parse_args(argv)
    sections = []
    for path in sorted(HERE.glob("bench_*.py")):
        name = path.stem.removeprefix("bench_")
        if args.only and name not in args.only:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses in a bench module look their module up by name
        spec.loader.exec_module(module)
        start = time.perf_counter()
        print(f"running {path.name} …", flush=True)
        sections.append(module.run(quick=args.quick))
        print(f"  {time.perf_counter() - start:.0f} s", flush=True)
    command = f"python benchmarks/run.py{' --quick' if args.quick else ''}"
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.only and out.exists():  # re-measure some sections, keep the others as they were
        stamp = (f"> Re-measured on {datetime.date.today().isoformat()} with `{command} --only {' '.join(args.only)}` "
                 f"on {machine()}.")
        out.write_text(splice(out.read_text(), [_stamped(s, stamp) for s in sections]))
    else:
        header = (f"# Benchmarks\n\nCommand: `make bench` (`{command}`)  \n"
                  f"Machine: {machine()}  \nDate: {datetime.date.today().isoformat()}\n\n"
                  "Speed and memory are measured here, never asserted in tests. Peak memory is the process's "
                  "peak resident set size (ru_maxrss) after the measured work.\n")
        out.write_text(header + "\n" + "\n\n".join(sections) + "\n")
    print(f"wrote {out}")
    return 0


def _stamped(section: str, stamp: str) -> str:
    """``section`` with ``stamp`` as a paragraph under its ``## `` title."""
    title, _, body = section.partition("\n")
    return f"{title}\n\n{stamp}\n{body}"


def splice(page: str, sections: list[str]) -> str:
    """``page`` with each of its ``## `` sections that ``sections`` re-measured replaced in place;
    sections new to the page go at the end.

    >>> page = "# B\\n\\nhead\\n\\n## A\\nold a\\n\\n## C\\nold c\\n"
    >>> print(splice(page, ["## C\\nnew c", "## D\\nnew d"]))
    # B
    <BLANKLINE>
    head
    <BLANKLINE>
    ## A
    old a
    <BLANKLINE>
    ## C
    new c
    <BLANKLINE>
    ## D
    new d
    <BLANKLINE>
    """
    parts = re.split(r"(?m)^(?=## )", page)  # [header, "## A…", "## C…"]
    new = {s.split("\n", 1)[0]: s for s in sections}
    kept = [new.pop(p.split("\n", 1)[0], p) if p.startswith("## ") else p for p in parts]
    return "\n\n".join(p.strip("\n") for p in [*kept, *new.values()]) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
