"""The picture of ``atelier compare``: the two works side by side, where each figure of each lies in
the reference (a percentile strip per figure), and the critique's sentences under them."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

from PIL import Image

from atelier.io import figure_format, write_figure

COLOURS = ("tab:blue", "tab:orange")


def write_comparison_report(path: str | os.PathLike, *, names: Sequence[str], pictures: Sequence[Image.Image],
                            percentiles: Sequence[Mapping[str, float]], sentences: Sequence[str],
                            reference_name: str) -> Path:
    """Write the report at ``path`` (atomically; PNG, PDF or SVG by the suffix). ``pictures``: the two works as pictures
    (a picture itself, a melody's piano roll); ``percentiles``: each work's figures placed in the
    reference, 0..100."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure_format(path)  # before drawing
    figures = [n for n in percentiles[0] if n in percentiles[1]]
    wrapped = [textwrap.fill(f"• {s}", 110) for s in sentences]
    text_lines = sum(w.count("\n") + 1 for w in wrapped)
    # the works' row is as tall as the taller of them needs at half the page's width (piano rolls are wide)
    works_height = min(3.6, max(1.6, 5.2 * max(p.size[1] / p.size[0] for p in pictures)))
    height = works_height + 0.6 + 0.28 * len(figures) + 0.2 * text_lines
    figure = Figure(figsize=(11, height), dpi=100)
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(3, 2, height_ratios=[works_height, 0.28 * len(figures) + 0.6, 0.2 * text_lines + 0.4])
    # 1. the two works
    for i, (name, picture) in enumerate(zip(names, pictures)):
        ax = figure.add_subplot(grid[0, i])
        ax.imshow(picture.convert("RGB"), interpolation="nearest" if max(picture.size) < 128 else "antialiased")
        ax.set_title(name, color=COLOURS[i], fontsize=11)
        ax.axis("off")
    # 2. each figure's percentile in the reference, both works on one strip
    ax = figure.add_subplot(grid[1, :])
    for row, name in enumerate(figures):
        y = len(figures) - 1 - row
        ax.plot([0, 100], [y, y], color="0.85", linewidth=4, solid_capstyle="butt", zorder=0)
        ax.plot([25, 75], [y, y], color="0.65", linewidth=4, solid_capstyle="butt", zorder=0)
        for i in (0, 1):
            ax.scatter([percentiles[i][name]], [y], s=46, color=COLOURS[i], zorder=2, label=names[i] if row == 0 else None)
    ax.set_yticks(range(len(figures)), [n.replace("_", " ") for n in reversed(figures)], fontsize=8)
    ax.set_xlim(-2, 102)
    ax.set_xlabel(f"percentile in {reference_name} (grey band: its middle half)", fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(loc="upper right", fontsize=8, ncol=2, frameon=False, bbox_to_anchor=(1, 1.12))
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    # 3. the critique
    ax = figure.add_subplot(grid[2, :])
    ax.axis("off")
    ax.text(0, 1, "\n".join(wrapped), va="top", ha="left", fontsize=9, transform=ax.transAxes)
    figure.tight_layout()
    return write_figure(figure, path)
