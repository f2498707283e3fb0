"""The HTML pieces of the gallery page: a section, a figure, a table, and the page around them."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from atelier import zoo
from atelier.errors import AtelierError


@dataclass(frozen=True)
class Section:
    title: str
    html: str
    seconds: float = 0.0


def shipped_models(*needed: str) -> dict[str, Any]:
    """The zoo's manifest, after checking that the models a section shows are installed."""
    shipped = zoo.read_manifest()
    missing = [n for n in needed if n not in shipped]
    if missing:
        raise AtelierError(f"the gallery needs the shipped models {', '.join(missing)}; run `make zoo`")
    return shipped


def figure(src: str, caption: str, *, width: int | None = None) -> str:
    w = f' width="{width}"' if width else ""
    return (f'<figure><img src="{html.escape(src)}"{w} style="image-rendering:pixelated">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def table(rows: list[dict[str, object]], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt(r.get(c, ''))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return html.escape(str(v))


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Atelier gallery</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }}
h1 {{ font-weight: 600; }} section {{ margin-bottom: 3rem; }}
figure {{ display: inline-block; margin: 0 1rem 1rem 0; vertical-align: top; }}
figcaption {{ font-size: .85rem; color: #555; max-width: 560px; }}
table {{ border-collapse: collapse; font-size: .9rem; }} td, th {{ border-bottom: 1px solid #ddd; padding: .3rem .6rem; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }} .note {{ font-size: .85rem; color: #555; }}
</style></head><body>
<h1>Atelier gallery</h1>
<p>Everything on this page was made just now by the models shipped with Atelier, on this machine.</p>
{body}
</body></html>
"""
