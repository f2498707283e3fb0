"""``atelier analyze FILE…`` and ``atelier compare A B``: figures, a picture report, a critique."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from atelier.errors import AtelierError
from atelier.io import write_text


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="figures about pictures and melodies: colour, composition, key, form…")
    p.add_argument("files", nargs="+", help="pictures (png, jpg, webp…) and melodies (MIDI, MusicXML, ABC)")
    p.add_argument("--json", default=None, metavar="FILE", help="also write every figure as JSON ('-': to stdout "
                                                                 "instead of the table)")
    p.add_argument("--report", default=None, metavar="FOLDER", help="write a one-page picture report per file here")
    p.add_argument("--gallery", default=None, metavar="FOLDER",
                   help="pictures: also find the nearest works among your own pictures in this folder")
    p.add_argument("--style", dest="styles", action="append", default=None, metavar="STYLE",
                   help="pictures: a candidate style (a bundled painting's name or a file), repeatable; the likely "
                        "style is picked among these (default: the bundled paintings)")
    p.add_argument("--similar", action=argparse.BooleanOptionalAction, default=True,
                   help="pictures: the nearest works and the likely style (default: on)")
    p.set_defaults(handler=_analyze)

    p = sub.add_parser("compare", help="two works side by side, with a short critique against a reference")
    p.add_argument("a", help="a picture or a melody")
    p.add_argument("b", help="another of the same kind")
    p.add_argument("--reference", default=None,
                   help="what is usual: pictures — a folder of your pictures (default: the bundled paintings and "
                        "photos); melodies — a corpus name (default: essen) or a folder of MIDI files")
    p.add_argument("--json", default=None, metavar="FILE", help="also write the comparison as JSON ('-': stdout)")
    p.add_argument("--report", default=None, metavar="PNG", help="write the two side by side as a picture")
    p.set_defaults(handler=_compare)


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)


def _value(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.3g}"
    return str(x)


def _analyze(args: argparse.Namespace) -> int:
    from atelier.api.analysis import analyze, kind_of, similar_works, which_style

    results: list[dict[str, Any]] = []
    texts = []
    for file in args.files:
        kind = kind_of(file)
        analysis = analyze(file)
        record: dict[str, Any] = {"file": file, "kind": kind, **analysis.to_json()}
        lines = [(name.replace("_", " "), _value(v)) for name, v in analysis.numbers().items()]
        if kind == "melody":
            lines.insert(0, ("key", f"{analysis.key.name} (confidence {analysis.key.confidence:.2f})"))
            lines.insert(1, ("form", analysis.form))
        else:
            lines.insert(0, ("palette", ", ".join(f"{c.hex} {c.share:.0%}" for c in analysis.palette)))
            if args.similar:
                near = similar_works(file, gallery=args.gallery)
                style = which_style(file, args.styles)
                record["nearest"] = [{"work": w, "similarity": s} for w, s in near]
                record["style"] = [{"painting": w, "score": s} for w, s in style]
                lines.append(("nearest works", ", ".join(f"{Path(w).stem} {s:.2f}" for w, s in near)))
                lines.append(("style, if stylised", f"{style[0][0]} (score {style[0][1]:.2f}; next "
                                              f"{style[1][0]} {style[1][1]:.2f})" if len(style) > 1 else style[0][0]))
        if args.report:
            record["report"] = str(_report(file, kind, analysis, Path(args.report)))
        results.append(record)
        texts.append(f"{file} ({kind})\n{_table(lines)}" + (f"\n  report: {record['report']}" if args.report else ""))
    _write_json(args.json, results if len(results) > 1 else results[0])
    if args.json != "-":
        print("\n\n".join(texts))
    return 0


def _report(file: str, kind: str, analysis: Any, folder: Path) -> Path:
    path = folder / f"{Path(file).stem}-report.png"
    if kind == "melody":
        from atelier.analysis.melody_report import write_melody_report
        from atelier.api.analysis import read_melody

        write_melody_report(analysis, read_melody(file), path)
    else:
        from atelier.analysis.image_report import write_image_report

        write_image_report(analysis, file, path)
    return path


def _compare(args: argparse.Namespace) -> int:
    from atelier.api.analysis import compare

    result = compare(args.a, args.b, reference=args.reference)
    a, b = result.a.numbers(), result.b.numbers()
    names = [n for n in a if n in b]
    rows = [(n.replace("_", " "), f"{_value(a[n]):>10}  {_value(b[n]):>10}") for n in names]
    header = [("", f"{result.names[0][:10]:>10}  {result.names[1][:10]:>10}")]
    if args.report:
        from atelier.analysis.compare_report import write_comparison_report

        write_comparison_report(args.report, names=result.names, pictures=[_picture(f) for f in (args.a, args.b)],
                                percentiles=result.percentiles, sentences=result.critique,
                                reference_name=result.reference)
    _write_json(args.json, result.to_json())
    if args.json != "-":
        print(_table(header + rows))
        print(f"\nAgainst {result.reference}:")
        for sentence in result.critique:
            print(f"- {sentence}")
        if args.report:
            print(f"\nreport: {args.report}")
    return 0


def _picture(file: str) -> Any:
    """A work as a picture for the report: itself, or a melody's piano roll."""
    from atelier.api.analysis import kind_of, read_melody

    if kind_of(file) == "melody":
        from atelier.music.audio import piano_roll_image

        return piano_roll_image(read_melody(file))
    from atelier.data.photos import load_image, to_image

    return to_image(load_image(file, what="picture"))


def _write_json(target: str | None, data: Any) -> None:
    if target is None:
        return
    text = json.dumps(data, indent=1)
    if target == "-":
        sys.stdout.write(text + "\n")
    else:
        if Path(target).is_dir():
            raise AtelierError(f"--json {target}: a folder; give a file name")
        write_text(Path(target), text)
