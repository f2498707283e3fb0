"""``atelier taste``: teach Atelier what you like, and ``--taste PROFILE`` on sample, compose and stylize.

    atelier taste ask mnist-dcgan            # shows 4 works, you pick the best; repeat
    atelier sample mnist-dcgan --taste default --n 16 --out for-me.png
    atelier taste why mnist-dcgan            # which features your picks favour
    atelier taste export --out me.json       # everything stored about you
    atelier taste delete --yes               # forget it
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from atelier.errors import AtelierError
from atelier.io import write_text
from atelier.provenance import make_recipe, make_sequence, with_output
from atelier.taste.profile import DEFAULT_PROFILE, MAX_CHOICES, default_path


def add_profile_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default=DEFAULT_PROFILE, help=f"whose taste (default: {DEFAULT_PROFILE})")
    p.add_argument("--profile-file", default=None, metavar="PATH",
                   help=f"the taste profile file, shared with the studio (default: {default_path()})")


def add_taste_option(p: argparse.ArgumentParser, chooses: str) -> None:
    """``--taste PROFILE`` (and its ``--profile-file``) on a command that makes works; ``chooses``
    completes "choose …", e.g. "the images this person is predicted to like most"."""
    p.add_argument("--taste", default=None, metavar="PROFILE", help=f"choose {chooses} (see `atelier taste`)")
    p.add_argument("--profile-file", default=None, metavar="PATH", help="with --taste: the taste profile file")


def _subject_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="a shipped model's name or a checkpoint (GAN, VAE, melody model, fast style network)")
    p.add_argument("--photo", default=None, help="fast style networks: the photo the taste is about (a file or a "
                                                 "bundled photo's name)")
    p.add_argument("--class", dest="label", type=int, default=None, help="conditional models: one class only")
    p.add_argument("--bars", type=int, default=4, help="melody RNNs: the length of each tune (default: 4)")


def add_commands(sub: argparse._SubParsersAction) -> None:
    taste = sub.add_parser("taste", help="teach Atelier what you like: answer questions, rate works, see why")
    verbs = taste.add_subparsers(dest="verb", metavar="VERB", required=True,
                                 help="ask, answer, rate, why, profiles, export or delete")

    p = verbs.add_parser("ask", help="show a few works and ask which you like best (repeats until you stop)")
    _subject_options(p)
    add_profile_options(p)
    p.add_argument("--k", type=int, default=MAX_CHOICES, help=f"works per question, 2 to {MAX_CHOICES} (default: 4)")
    p.add_argument("--rounds", type=int, default=0, help="stop after this many questions (default: until you stop)")
    p.add_argument("--out", default="taste-questions", help="folder the questions' works are written to")
    p.add_argument("--seed", type=int, default=None, help="fix the questions (default: new each time)")
    p.set_defaults(handler=_ask)

    p = verbs.add_parser("answer", help="answer a question `taste ask` left open (when it could not ask you)")
    p.add_argument("question", help="the question's id, as `taste ask` printed it")
    p.add_argument("pick", type=int, help="the number of the work you like best (1 = the first)")
    add_profile_options(p)
    p.set_defaults(handler=_answer)

    p = verbs.add_parser("rate", help="rate a work Atelier made, 1 to 5 stars (its recipe says what it is)")
    p.add_argument("file", help="a picture, MIDI file or score written by sample --n 1, compose --n 1, stylize --method "
                                "fast, or by taste itself")
    p.add_argument("stars", type=int, help="1 (not for me) to 5 (love it)")
    add_profile_options(p)
    p.set_defaults(handler=_rate)

    p = verbs.add_parser("why", help="which features your answers favour, for one model")
    _subject_options(p)
    add_profile_options(p)
    p.set_defaults(handler=_why)

    p = verbs.add_parser("profiles", help="the profiles in the profile file, with their answers per model")
    p.add_argument("--profile-file", default=None, metavar="PATH", help=f"default: {default_path()}")
    p.set_defaults(handler=_profiles)

    p = verbs.add_parser("export", help="write everything stored about a profile to a JSON file")
    add_profile_options(p)
    p.add_argument("--out", required=True, help="the .json file")
    p.set_defaults(handler=_export)

    p = verbs.add_parser("delete", help="forget a profile: every answer and open question")
    add_profile_options(p)
    p.add_argument("--yes", action="store_true", help="really delete (required)")
    p.set_defaults(handler=_delete)


def _subject(args: argparse.Namespace) -> Any:
    from atelier.api.taste import subject

    return subject(args.model, photo=args.photo, label=args.label, bars=args.bars)


# ---- writing works -----------------------------------------------------------------------------------


def write_works(about: Any, items: Any, works: Any, out: Path, *, stem: str, nrow: int | None = None,
                **music: bool) -> list[Path]:
    """Write ``works`` of ``items`` (each with its own recipe, so each can be rated and reproduced):
    pictures as one grid ``out/STEM.png`` (or ``out`` itself when it has a suffix), melodies as a
    folder of MIDI files, piano rolls and scores (``music``: ``wav``, ``musicxml``, ``piano_roll``)."""
    parts = [make_recipe(*about.call(item.recipe), model=about.name) for item in items]
    if about.outputs == "melodies":
        from atelier.music.compose import write_outputs

        return write_outputs(works, out, recipe=parts, prefix=stem, **music)
    import torch

    from atelier.data.photos import to_tensor
    from atelier.images.grid import to_pil, write_grid
    from atelier.imageio import write_image

    path = out if out.suffix else out / f"{stem}.png"
    if len(items) == 1:  # the picture itself, as its own call writes it (no grid border), so it reproduces
        picture = to_pil(works[0]) if about.outputs == "images" else works[0]
        write_image(picture, path, metadata=with_output(parts[0], index=0))
        return [path]
    images = works if about.outputs == "images" else torch.cat([to_tensor(w) * 2 - 1 for w in works])  # (n, 3, H, W)
    nrow = nrow or (len(items) if len(items) <= 8 else math.ceil(math.sqrt(len(items))))  # a question: one row
    recipe = make_sequence([with_output(p, index=0) for p in parts], assemble="grid", nrow=nrow)
    write_grid(images, path, nrow=nrow, metadata=recipe)
    return [path]


# ---- verbs --------------------------------------------------------------------------------------------


def _ask(args: argparse.Namespace) -> int:
    from atelier.api.taste import answer, ask

    about = _subject(args)
    out, asked = Path(args.out), 0
    while not args.rounds or asked < args.rounds:
        seed = None if args.seed is None else args.seed + asked
        question, works = ask(about, profile=args.profile, path=args.profile_file, k=args.k, seed=seed)
        asked += 1
        paths = write_works(about, question.items, works, out, stem=f"question-{question.id}")
        shown = paths[0] if about.outputs != "melodies" else out
        where = "left to right" if about.outputs != "melodies" else f"{Path(args.out)}/question-{question.id}_00N.mid"
        print(f"question {question.id}: {len(question.items)} works in {shown} ({where}, numbered 1–{len(question.items)})")
        if not sys.stdin.isatty():
            print(f"answer with: atelier taste answer {question.id} N --profile {args.profile}")
            return 0
        reply = input(f"which do you like best? 1–{len(question.items)} (q to stop): ").strip().lower()
        if reply in ("q", "quit", ""):
            print(f"stopped; question {question.id} is still open (atelier taste answer {question.id} N)")
            return 0
        if not reply.isdigit():
            raise AtelierError(f"answer {reply!r}: type the number of a work, 1 to {len(question.items)}, or q")
        answer(question.id, int(reply) - 1, profile=args.profile, path=args.profile_file)
    print(f"asked {asked} questions; see `atelier taste why {args.model}`")
    return 0


def _answer(args: argparse.Namespace) -> int:
    from atelier.api.taste import answer

    answer_id = answer(args.question, args.pick - 1, profile=args.profile, path=args.profile_file)
    print(f"recorded answer {answer_id} for profile {args.profile}")
    return 0


def _rate(args: argparse.Namespace) -> int:
    from atelier.api.taste import rate

    answer_id = rate(args.file, args.stars, profile=args.profile, path=args.profile_file)
    print(f"recorded {args.stars} stars for {args.file} (answer {answer_id}, profile {args.profile})")
    return 0


def _why(args: argparse.Namespace) -> int:
    from atelier.api.taste import why

    effects = why(_subject(args), profile=args.profile, path=args.profile_file)
    print(f"what {args.profile}'s answers about {args.model} favour (+) and avoid (−), strongest first:")
    for name, effect in effects:
        print(f"  {name.replace('_', ' '):<28} {effect:+.2f}")
    return 0


def _profiles(args: argparse.Namespace) -> int:
    from atelier.api.taste import profiles

    found = profiles(args.profile_file)
    if not found:
        print(f"no profiles yet in {args.profile_file or default_path()}")
    for name, subjects in found.items():
        counts = ", ".join(f"{s}: {c}" for s, c in subjects.items()) or "no answers"
        print(f"{name}: {counts}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from atelier.api.taste import export_profile

    data = export_profile(args.profile, args.profile_file)
    write_text(Path(args.out), json.dumps(data, indent=1))
    print(f"wrote {len(data['answers'])} answers of profile {args.profile} to {args.out}")
    return 0


def _delete(args: argparse.Namespace) -> int:
    from atelier.api.taste import delete_profile

    if not args.yes:
        raise AtelierError(f"deleting profile {args.profile} cannot be undone; add --yes to confirm "
                           "(export it first with `atelier taste export`)")
    count = delete_profile(args.profile, args.profile_file)
    print(f"deleted profile {args.profile}: {count} answers")
    return 0


# ---- --taste on sample, compose and stylize ------------------------------------------------------------


def for_me_command(args: argparse.Namespace, *, n: int, photo: Any = None, label: int | None = None,
                   bars: int | None = None) -> int:
    """Write ``n`` works of ``args.model`` chosen for the profile ``args.taste``."""
    from atelier.api.taste import for_me, subject

    about = subject(args.model, photo=photo, label=label, bars=bars or 4)
    mine = for_me(about, n, profile=args.taste, path=getattr(args, "profile_file", None), seed=args.seed)
    out = Path(args.out)
    music = {k: getattr(args, k) for k in ("wav", "musicxml", "piano_roll") if about.outputs == "melodies"}
    paths = write_works(about, mine.items, mine.works, out, stem="for-me" if about.outputs != "melodies" else "melody",
                        nrow=getattr(args, "nrow", None), **music)
    told = "" if any(mine.scores) else f" (profile {args.taste} has no answers about {args.model} yet: a plain sample)"
    count = f"{len(mine.items)} work{'s' * (len(mine.items) != 1)}"
    print(f"wrote {count} chosen for {args.taste}: {out}{told}")
    return 0 if paths else 1
