"""The one-page picture of a melody's analysis: piano roll with the form per bar, the key over
windows, the bar-by-bar self-similarity matrix, the interval histogram and the numbers."""

from __future__ import annotations

import colorsys
import os
from pathlib import Path

import numpy as np

from atelier.analysis.melodies import KeyEstimate, MelodyAnalysis
from atelier.errors import AtelierError
from atelier.io import figure_format, write_figure
from atelier.music.events import Melody

_PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

# (label, numbers() key, how to show it)
_TABLE = (
    ("key confidence", "key_confidence", "{:.2f}"),
    ("key changes (windows)", "window_key_changes", "{:.0f}"),
    ("in the key's scale", "key_scale_consistency", "{:.0%}"),
    ("range (semitones)", "pitch_range", "{:.0f}"),
    ("mean |interval|", "mean_interval", "{:.2f}"),
    ("repeat / step / leap", None, ""),
    ("largest interval", "largest_interval", "{:.0f}"),
    ("notes per bar", "note_density", "{:.2f}"),
    ("syncopation (LHL)/bar", "syncopation", "{:.2f}"),
    ("bars repeating earlier", "repeated_bar_share", "{:.0%}"),
    ("mean bar similarity", "mean_bar_similarity", "{:.2f}"),
    ("pitch-class entropy", "pitch_class_entropy", "{:.2f}"),
    ("groove consistency", "groove_consistency", "{:.2f}"),
)


def write_melody_report(analysis: MelodyAnalysis, melody: Melody, path: str | os.PathLike) -> Path:
    """Draw ``analysis`` of ``melody`` on one page and write it to ``path`` (PNG, PDF or SVG by the
    suffix; written to a temporary file, then renamed).

    >>> import tempfile
    >>> from atelier.analysis.melodies import analyze_melody
    >>> from atelier.music.events import Note
    >>> m = Melody(tuple(Note(60 + (i % 5), 4 * i, 4 * i + 4) for i in range(16)), num_steps=64, name="demo")
    >>> write_melody_report(analyze_melody(m), m, Path(tempfile.mkdtemp()) / "demo.png").stat().st_size > 0
    True
    """
    figure_format(path)  # before drawing
    if analysis.num_notes != len(melody.notes) or analysis.time_signature != tuple(melody.time_signature):
        raise AtelierError(f"melody report: the analysis of {analysis.name!r} is not of melody {melody.name!r}")
    figure = _figure(analysis, melody)
    return write_figure(figure, path)


def _key_colour(key: KeyEstimate) -> tuple[float, float, float]:
    """Neighbouring keys on the circle of fifths get neighbouring hues; minor keys darker."""
    fifths = (key.tonic * 7) % 12 if key.mode == "major" else ((key.tonic + 3) * 7) % 12  # minor: its relative
    return colorsys.hls_to_rgb(fifths / 12, 0.72 if key.mode == "major" else 0.55, 0.55)


def _figure(analysis: MelodyAnalysis, melody: Melody):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import PatchCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    spb, bars = melody.steps_per_bar, analysis.num_bars
    figure = Figure(figsize=(13, 9), dpi=100)
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(3, 3, height_ratios=[2.3, 0.45, 2.9], width_ratios=[1.05, 1.0, 1.0],
                               hspace=0.45, wspace=0.35, left=0.06, right=0.98, top=0.9, bottom=0.07)
    numerator, denominator = analysis.time_signature
    title = (f"{analysis.name or 'melody'}: {analysis.key.name} (confidence {analysis.key.confidence:.2f}), "
             f"{numerator}/{denominator}, {bars} bars, {analysis.num_notes} notes, form {analysis.form or '-'} "
             f"({analysis.phrase_bars}-bar phrases)")
    figure.suptitle(title, fontsize=12, x=0.06, ha="left")

    # 1. piano roll, in bars, with each bar's form letter above it
    roll = figure.add_subplot(grid[0, :])
    scale = analysis.key.scale
    boxes = [Rectangle((n.start_step / spb, n.pitch - 0.4), n.duration / spb, 0.8) for n in melody.notes]
    colours = ["tab:blue" if n.pitch % 12 in scale else "tab:red" for n in melody.notes]
    roll.add_collection(PatchCollection(boxes, facecolor=colours, edgecolor="black", linewidth=0.4))
    low, high = analysis.lowest, analysis.highest
    roll.set_xlim(0, bars)
    roll.set_ylim(low - 1.5, high + 1.5)
    for bar in range(bars + 1):
        roll.axvline(bar, color="0.8", linewidth=0.6, zorder=0)
    # every pitch of the key's scale named when the range is small, else every C and G
    named = [p for p in range(low, high + 1) if (p % 12 in scale if high - low <= 19 else p % 12 in (0, 7))]
    roll.set_yticks(named, [_name(p) for p in named], fontsize=8)
    for p in named:
        roll.axhline(p, color="0.93", linewidth=0.6, zorder=0)
    for bar, letter in enumerate(analysis.bar_form):
        roll.text(bar + 0.5, high + 1.3, letter, ha="center", va="top", fontsize=8, color="0.35")
    every = max(1, bars // 24)
    roll.set_xticks(np.arange(0, bars, every) + 0.5, [str(b + 1) for b in range(0, bars, every)])
    roll.tick_params(axis="x", length=0)
    roll.set_title(f"piano roll (red: outside {analysis.key.name}; letters: bars alike share one)", fontsize=10,
                   loc="left")

    # 2. the key of each window, from its start to the next window's start
    strip = figure.add_subplot(grid[1, :], sharex=roll)
    windows = analysis.key_windows
    for i, (start, key) in enumerate(windows):
        end = windows[i + 1][0] if i + 1 < len(windows) else bars
        strip.axvspan(start, end, color=_key_colour(key), linewidth=0)
        strip.axvline(start, color="white", linewidth=1.5)
        strip.text((start + end) / 2, 0.5, key.name.replace(" major", "").replace(" minor", "m"),
                   ha="center", va="center", fontsize=8)
    strip.set_yticks([])
    strip.set_xlabel("bar", fontsize=9)
    strip.set_title(f"key over {analysis.window_bars}-bar windows (m = minor)", fontsize=10, loc="left")

    # 3. the self-similarity matrix
    sim = figure.add_subplot(grid[2, 0])
    image = sim.imshow(analysis.self_similarity, cmap="magma", vmin=0, vmax=1, origin="upper",
                       extent=(0.5, bars + 0.5, bars + 0.5, 0.5), interpolation="nearest")
    figure.colorbar(image, ax=sim, fraction=0.046, pad=0.03)
    step = max(1, bars // 8)
    sim.set_xticks(range(1, bars + 1, step))
    sim.set_yticks(range(1, bars + 1, step))
    sim.set_xlabel("bar")
    sim.set_ylabel("bar")
    sim.set_title("bar-by-bar similarity (rhythm + contour)", fontsize=10, loc="left")

    # 4. interval histogram, signed; wider leaps gathered at ±13
    hist = figure.add_subplot(grid[2, 1])
    counts = dict(analysis.interval_counts)
    xs = np.arange(-13, 14)
    ys = np.zeros(xs.size)
    for interval, count in counts.items():
        ys[int(np.clip(interval, -13, 13)) + 13] += count
    hist.bar(xs, ys, color=["tab:orange" if abs(x) >= 3 else "tab:blue" for x in xs], width=0.8)
    hist.set_xticks(range(-12, 13, 3))
    hist.set_xlabel("interval (semitones; + up, ±13: wider)")
    hist.set_ylabel("count")
    hist.set_title("intervals (blue: steps and repeats, orange: leaps)", fontsize=10, loc="left")

    # 5. the numbers
    table = figure.add_subplot(grid[2, 2])
    table.axis("off")
    numbers = analysis.numbers()
    rows = []
    for label, name, fmt in _TABLE:
        if name is None:  # three shares in one row
            value = " / ".join(f"{numbers[k]:.0%}" if np.isfinite(numbers[k]) else "-"
                               for k in ("repeat_share", "step_share", "leap_share"))
        else:
            value = fmt.format(numbers[name]) if np.isfinite(numbers.get(name, np.nan)) else "-"
        rows.append([label, value])
    rows.insert(3, ["lowest - highest", f"{_name(analysis.lowest)} - {_name(analysis.highest)}"])
    drawn = table.table(cellText=rows, colLabels=["feature", "value"], cellLoc="left", colWidths=[0.62, 0.38],
                        bbox=(0.0, 0.0, 1.0, 1.0))  # the table fills its axes, never past them
    drawn.auto_set_font_size(False)
    drawn.set_fontsize(9)
    table.set_title("numbers", fontsize=10, loc="left")
    return figure


def _name(pitch: int) -> str:
    return f"{_PITCH_NAMES[pitch % 12]}{pitch // 12 - 1}"
