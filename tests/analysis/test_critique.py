"""The critique says only what follows from the figures it cites."""

from __future__ import annotations

import re

import pytest

from atelier.analysis.critique import critique, standings
from atelier.errors import AtelierError

REFERENCE = [{"brightness": b / 10, "symmetry": 0.5, "edge_density": 0.1 + b / 100} for b in range(11)]


def test_the_largest_difference_is_told_with_its_numbers():
    lines = critique({"brightness": 0.9, "symmetry": 0.5, "edge_density": 0.15},
                     {"brightness": 0.2, "symmetry": 0.5, "edge_density": 0.16}, REFERENCE, names=("A", "B"))
    assert lines[0].startswith("A is brighter than B: brightness 0.9 against 0.2")
    assert not any("edge" in line for line in lines)  # 0.01 apart: under half the reference's spread


def test_an_outlier_is_told_with_its_percentile():
    lines = critique({"brightness": 5.0, "symmetry": 0.5}, None, REFERENCE, reference_name="the paintings")
    assert lines == ["A stands out as brighter: brightness 5, above every one of the paintings (median 0.5)."]
    low = critique({"brightness": 0.0}, None, REFERENCE + [{"brightness": 0.5}] * 9)
    assert low == ["A stands out as darker: brightness 0, below 97% of the reference (median 0.5)."]


def test_every_number_cited_is_a_figure_of_the_works_or_the_reference():
    a, b = {"brightness": 0.85, "edge_density": 0.3}, {"brightness": 0.1, "edge_density": 0.12}
    for line in critique(a, b, REFERENCE):
        for number in re.findall(r"\d+\.\d+", line):
            assert float(number) in {0.85, 0.1, 0.3, 0.12, 0.25, 0.75, 0.125, 0.175, 0.15}, line


def test_a_figure_told_as_a_difference_is_not_told_again_as_an_outlier():
    lines = critique({"brightness": 3.0}, {"brightness": 0.5}, REFERENCE)
    assert len(lines) == 1 and lines[0].startswith("A is brighter than B")


def test_nothing_to_say_is_said_plainly():
    lines = critique({"brightness": 0.5}, {"brightness": 0.52}, REFERENCE)
    assert lines == ["A and B differ by less than half the spread of the reference on every figure, and no figure "
                     "of either lies outside its middle 90%."]


def test_a_reference_too_small_is_refused_and_standings_place_values():
    with pytest.raises(AtelierError, match="at least 3"):
        critique({"brightness": 1.0}, None, REFERENCE[:2])
    s = standings({"brightness": 0.5}, REFERENCE)["brightness"]
    assert s.percentile == 50 and s.median == 0.5
