"""The one-page picture of a picture's analysis: the picture, its saliency with the thirds grid, its
edges, the palette with each colour's share, and the numbers with what their ends mean."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from atelier.analysis.images import (
    LUMA,
    ImageAnalysis,
    Picture,
    analysis_pixels,
    edge_map,
    read_picture,
    saliency_map,
)
from atelier.errors import AtelierError
from atelier.io import figure_format, write_figure


# (number, how to show it, what its range means)
_TABLE = (
    ("colourfulness", "{:.1f}", "0 grey · 33 moderate · 59 quite · 82 highly · 109 extremely colourful"),
    ("brightness", "{:.2f}", "mean luma: 0 black … 1 white"),
    ("contrast", "{:.2f}", "RMS of luma: 0 flat … 0.5 black and white halves"),
    ("saturation", "{:.2f}", "mean HSV saturation: 0 grey … 1 pure hues"),
    ("edge_density", "{:.1%}", "share of pixels on a Canny edge"),
    ("entropy", "{:.2f}", "bits of the luma histogram: 0 one tone … 8 all tones alike"),
    ("symmetry", "{:.2f}", "left-right: 0 no more alike than random pixels … 1 a mirror image"),
    ("balance", "{:.2f}", "centre of the salient parts: 1 in the middle … 0 in a corner"),
    ("thirds", "{:.2f}", "salient parts near the thirds' crossings vs uniform (1); higher: on them"),
    ("fractal_dimension", "{:.2f}", "box counting of the edges: 1 plain lines … 2 filling the plane"),
)


def write_image_report(analysis: ImageAnalysis, picture: Picture, path: str | os.PathLike) -> Path:
    """Draw ``analysis`` of ``picture`` on one page and write it to ``path`` (PNG, PDF or SVG by the
    suffix; written to a temporary file, then renamed). The saliency and edge maps are computed
    again from the picture, as :func:`~atelier.analysis.images.analyze_image` computed them.

    >>> import tempfile
    >>> from atelier.analysis.images import analyze_image
    >>> out = Path(tempfile.mkdtemp()) / "coffee.png"
    >>> write_image_report(analyze_image("coffee"), "coffee", out).stat().st_size > 0
    True
    """
    figure_format(path)  # before drawing
    tensor, _ = read_picture(picture, name=analysis.name)
    if (tensor.shape[-1], tensor.shape[-2]) != (analysis.width, analysis.height):
        raise AtelierError(f"image report: the analysis of {analysis.name!r} is of a {analysis.width}×{analysis.height} "
                           f"picture, not this {tensor.shape[-1]}×{tensor.shape[-2]} one")
    figure = _figure(analysis, analysis_pixels(tensor))
    return write_figure(figure, path)


def _figure(analysis: ImageAnalysis, rgb: np.ndarray):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    luma = rgb @ np.asarray(LUMA)
    h, w = luma.shape
    top = 4.2 * min(max(h / w, 0.5), 1.3)  # inches for the pictures' row, after their shape
    figure = Figure(figsize=(13, top + 4.4), dpi=100)
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(2, 3, height_ratios=[top, 3.3], hspace=0.3, wspace=0.1,
                               left=0.03, right=0.98, top=1 - 0.75 / (top + 4.4), bottom=0.02)
    figure.suptitle(f"{analysis.name}: {analysis.width}×{analysis.height} px", fontsize=13, x=0.03, ha="left")
    extent = (0, w, h, 0)

    # 1. the picture
    ax = figure.add_subplot(grid[0, 0])
    ax.imshow(rgb, extent=extent, interpolation="nearest" if max(h, w) < 128 else "antialiased")
    ax.set_title("picture", fontsize=10, loc="left")
    ax.axis("off")

    # 2. saliency, with the lines of thirds, the centre of mass (●) and the centre (+)
    ax = figure.add_subplot(grid[0, 1])
    ax.imshow(luma, cmap="gray", extent=extent, alpha=0.35, vmin=0, vmax=1)
    ax.imshow(saliency_map(luma), cmap="inferno", extent=extent, alpha=0.75, interpolation="bilinear")
    for f in (1 / 3, 2 / 3):
        ax.axvline(f * w, color="white", linewidth=0.9, linestyle="--")
        ax.axhline(f * h, color="white", linewidth=0.9, linestyle="--")
    cx, cy = analysis.saliency_centre
    ax.plot([cx * w], [cy * h], "o", color="cyan", markersize=9, markeredgecolor="black")
    ax.plot([w / 2], [h / 2], "+", color="white", markersize=12, markeredgewidth=2)
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_title(f"saliency and thirds; salient mass's centre (cyan)\nbalance {analysis.balance:.2f}, "
                 f"thirds {analysis.thirds:.2f}", fontsize=10, loc="left")
    ax.axis("off")

    # 3. edges, dark on white
    ax = figure.add_subplot(grid[0, 2])
    ax.imshow(~edge_map(luma), cmap="gray", extent=extent, interpolation="nearest", vmin=0, vmax=1)
    ax.set_title(f"Canny edges: {analysis.edge_density:.1%} of pixels\nfractal dimension "
                 f"{analysis.fractal_dimension:.2f}", fontsize=10, loc="left")
    ax.axis("off")

    # 4. the palette: one bar, each colour as wide as its share, labelled beneath
    ax = figure.add_subplot(grid[1, 0])
    left = 0.0
    for i, colour in enumerate(analysis.palette):
        ax.barh(0, colour.share, left=left, height=1.0, color=colour.hex, edgecolor="0.3", linewidth=0.6)
        ax.text(left + colour.share / 2, -0.62 - 0.3 * (i % 2 if colour.share < 0.12 else 0),
                f"{colour.hex}\n{colour.share:.0%}", ha="center", va="top", fontsize=8)
        left += colour.share
    ax.set_xlim(0, 1)
    ax.set_ylim(-1.6, 0.55)
    ax.set_title(f"palette (k-means in CIELAB, {len(analysis.palette)} colours)", fontsize=10, loc="left")
    ax.axis("off")

    # 5. the numbers
    ax = figure.add_subplot(grid[1, 1:])
    ax.axis("off")
    numbers = analysis.numbers()
    rows = [[name.replace("_", " "), fmt.format(numbers[name]), meaning] for name, fmt, meaning in _TABLE]
    table = ax.table(cellText=rows, colLabels=["figure", "value", "scale"], colWidths=[0.2, 0.1, 0.7],
                     cellLoc="left", loc="upper left")
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    table.scale(1, 1.3)
    for (row, col), cell in table.get_celld().items():
        cell.set_edgecolor("0.85")
        if row == 0:
            cell.set_text_props(fontweight="bold")
        if col == 1 and row > 0:
            cell.get_text().set_horizontalalignment("right")
    return figure
