"""benchmarks/run.py: re-measuring some sections keeps the rest of the page."""

import importlib.util
from pathlib import Path

RUN = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


def _run_module():
    spec = importlib.util.spec_from_file_location("bench_run", RUN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_splice_replaces_only_the_remeasured_sections():
    run = _run_module()
    page = "# Benchmarks\n\nDate: then\n\n## Images\nimg 1\n\n## Style\nold style\n| a |\n\n## Music\nmusic 1\n"
    out = run.splice(page, [run._stamped("## Style\nnew style", "> Re-measured now.")])
    assert out == ("# Benchmarks\n\nDate: then\n\n## Images\nimg 1\n\n## Style\n\n> Re-measured now.\nnew style\n\n"
                   "## Music\nmusic 1\n")


def test_splice_appends_a_section_the_page_lacks():
    run = _run_module()
    assert run.splice("# B\n\n## A\na\n", ["## New\nn"]) == "# B\n\n## A\na\n\n## New\nn\n"
