"""``make demo``: a static HTML gallery of what the shipped models make.

Each section is a function ``section(out_dir, quick) -> Section`` that writes its pictures (and
sounds) into ``out_dir`` and returns the HTML that shows them: one module each for image
generation, style and music, listed in :data:`SECTIONS`. Progress goes to the terminal, one line a
section, because ``make demo`` is run by a person watching it.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from pathlib import Path

from atelier.gallery.page import PAGE, Section
from atelier.gallery.images import image_generation_section
from atelier.gallery.music import music_section
from atelier.gallery.style import style_section
from atelier.io import write_text

SECTIONS: tuple[Callable[[Path, bool], Section], ...] = (image_generation_section, style_section, music_section)


def build_gallery(out: Path, *, quick: bool = False,
                  sections: tuple[Callable[[Path, bool], Section], ...] = SECTIONS) -> Path:
    """Write every section into ``out`` and ``out/index.html``; return the index path."""
    out.mkdir(parents=True, exist_ok=True)
    parts: list[Section] = []
    for fn in sections:
        start = time.perf_counter()
        section = fn(out, quick)
        parts.append(Section(section.title, section.html, time.perf_counter() - start))
        print(f"  {section.title}: {parts[-1].seconds:.1f} s")
    body = "\n".join(f"<section><h2>{html.escape(s.title)}</h2>\n{s.html}\n</section>" for s in parts)
    page = PAGE.format(body=body)
    return write_text(out / "index.html", page)
