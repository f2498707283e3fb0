"""Music commands: ``compose``, ``respond``, and ``interpolate`` for music models (``atelier interpolate`` in
:mod:`atelier.cli.images` hands music models to :func:`interpolate_command`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from atelier.cli.taste import add_taste_option
from atelier.errors import AtelierError
from atelier.provenance import make_recipe


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compose", help="write new melodies with a melody RNN, a melody transformer or a MusicVAE")
    p.add_argument("model", help="checkpoint path or shipped model name (see `atelier models`)")
    p.add_argument("--bars", type=int, default=None,
                   help="length in bars (default: 16, or a MusicVAE's own length)")
    p.add_argument("--n", type=int, default=1, help="number of melodies, generated together (default: 1)")
    p.add_argument("--temperature", type=float, default=1.0, help="< 1 safer, > 1 wilder (default: 1.0)")
    primer = p.add_mutually_exclusive_group()
    primer.add_argument("--primer", default=None, metavar="MIDI", help="a MIDI file whose melody opens every output")
    primer.add_argument("--primer-pitches", default=None, metavar="P,P,…",
                        help="quarter notes that open every output, e.g. 60,62,64 (-1 = a quarter rest)")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same melodies (default: 0)")
    p.add_argument("--qpm", type=float, default=120.0, help="tempo in quarter notes per minute (default: 120)")
    p.add_argument("--program", type=int, default=0, help="General MIDI instrument, 0..127 (default: 0, piano)")
    p.add_argument("--beam-size", type=int, default=1, help="melody RNN beam search: candidates kept (default: 1)")
    p.add_argument("--branch-factor", type=int, default=1, help="melody RNN beam search: branches per candidate")
    p.add_argument("--top-p", type=float, default=1.0,
                   help="draw only from the likeliest notes making up this much probability (default: 1, all)")
    p.add_argument("--in-key", action="store_true", help="keep every note in the tune's key")
    p.add_argument("--end-on-tonic", action="store_true", help="end every tune on a held tonic")
    p.add_argument("--style", default=None, help="melody transformer: essen, irish or bach (default: its first)")
    p.add_argument("--meter", default=None, help="melody transformer: 4/4, 3/4, 6/8 or 2/4 (default: drawn)")
    p.add_argument("--key", default=None, help='melody transformer: e.g. "D major", "E minor" (default: drawn)')
    p.add_argument("--out", required=True, help="output folder: melody_001.mid, .png, .musicxml (and .wav)")
    p.add_argument("--wav", action="store_true", help="also render WAV audio (General MIDI soundfont)")
    p.add_argument("--musicxml", action=argparse.BooleanOptionalAction, default=True, help="write notation")
    p.add_argument("--piano-roll", action=argparse.BooleanOptionalAction, default=True, help="write piano rolls")
    add_taste_option(p, "the tunes this person is predicted to like most")
    p.set_defaults(handler=_compose)

    p = sub.add_parser("respond", help="call and response: bars that answer a phrase, in its key and meter")
    p.add_argument("model", help="a melody RNN or melody transformer: checkpoint path or shipped model name")
    p.add_argument("call", nargs="?", default=None, metavar="CALL.mid", help="a MIDI file whose melody is the call")
    p.add_argument("--call-pitches", default=None, metavar="P,P,…",
                   help="the call as quarter notes instead of a file, e.g. 67,64,62 (-1 = a quarter rest; write "
                        "--call-pitches=-1,67 when it starts with a rest)")
    p.add_argument("--bars", type=int, default=2, help="length of the answer in bars (default: 2)")
    p.add_argument("--temperature", type=float, default=1.0, help="< 1 safer, > 1 wilder (default: 1.0)")
    p.add_argument("--top-p", type=float, default=0.95,
                   help="draw only from the likeliest notes making up this much probability; 1 = all (default: 0.95)")
    p.add_argument("--in-key", action=argparse.BooleanOptionalAction, default=True,
                   help="keep every note of the answer in the call's key (default: on)")
    p.add_argument("--end-on-tonic", action=argparse.BooleanOptionalAction, default=True,
                   help="end the answer on a held tonic (default: on)")
    p.add_argument("--style", default=None, help="a melody transformer's style: essen, irish or bach")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same answer (default: 0)")
    p.add_argument("--out", required=True, help="output folder: melody_001.mid, .png, .musicxml (and .wav)")
    p.add_argument("--wav", action="store_true", help="also render WAV audio (General MIDI soundfont)")
    p.set_defaults(handler=_respond)


def _compose(args: argparse.Namespace) -> int:
    from atelier.api.music import compose
    from atelier.music.compose import parse_pitches, write_outputs

    if args.taste is not None:
        from atelier.cli.taste import for_me_command

        if (args.primer or args.primer_pitches or args.beam_size != 1 or args.branch_factor != 1 or args.top_p != 1
                or args.in_key or args.end_on_tonic or args.style or args.meter or args.key):
            raise AtelierError("--taste chooses among the model's own tunes (temperature and seed); leave out "
                               "--primer, --primer-pitches, beam search, --top-p, --in-key, --end-on-tonic, --style, "
                               "--meter and --key")
        return for_me_command(args, n=args.n, bars=args.bars)
    pitches = None if args.primer_pitches is None else parse_pitches(args.primer_pitches)
    params = {"bars": args.bars, "n": args.n, "temperature": args.temperature, "primer": args.primer,
              "primer_pitches": pitches, "seed": args.seed, "qpm": args.qpm, "program": args.program,
              "beam_size": args.beam_size, "branch_factor": args.branch_factor, "top_p": args.top_p,
              "in_key": args.in_key, "end_on_tonic": args.end_on_tonic, "style": args.style, "meter": args.meter,
              "key": args.key}
    melodies = compose(args.model, **params)
    recipe = make_recipe("compose", params, model=args.model, input_params=["primer"])
    paths = write_outputs(melodies, args.out, wav=args.wav, musicxml=args.musicxml, piano_roll=args.piano_roll,
                          recipe=recipe)
    bars = melodies[0].num_steps // melodies[0].steps_per_bar
    print(f"wrote {len(melodies)} melodies of {bars} bars at {args.qpm:g} qpm ({len(paths)} files) to {args.out}")
    return 0


def _respond(args: argparse.Namespace) -> int:
    from atelier.api.music import respond
    from atelier.music.compose import parse_pitches, write_outputs

    if (args.call is None) == (args.call_pitches is None):
        raise AtelierError("give the call as a MIDI file (CALL.mid) or as --call-pitches, one of them")
    pitches = None if args.call_pitches is None else parse_pitches(args.call_pitches)
    params = {"phrase": args.call, "phrase_pitches": pitches, "bars": args.bars, "temperature": args.temperature,
              "top_p": args.top_p, "in_key": args.in_key, "end_on_tonic": args.end_on_tonic, "seed": args.seed,
              "style": args.style}
    answer = respond(args.model, **params)
    recipe = make_recipe("respond", params, model=args.model, input_params=["phrase"] if args.call else [])
    paths = write_outputs([answer], args.out, wav=args.wav, recipe=recipe)
    print(f"wrote a {args.bars}-bar answer of {len(answer.notes)} notes ({len(paths)} files) to {args.out}")
    return 0


def interpolate_command(model, args: argparse.Namespace) -> int:
    """``atelier interpolate MODEL a.mid b.mid --steps N --out FOLDER`` for a MusicVAE."""
    from atelier.api import interpolate
    from atelier.music.compose import read_primer, require_music_vae, write_interpolation

    require_music_vae(model)
    if len(args.inputs) != 2:
        raise AtelierError(f"interpolate with a music model takes two MIDI files, got {len(args.inputs)}")
    a, b = (read_primer(path) for path in args.inputs)
    melodies = interpolate(model, a, b, steps=args.steps, seed=0)
    recipe = make_recipe("interpolate", {"melodies": args.inputs, "steps": args.steps, "seed": 0},
                         model=args.model, input_params=["melodies"])
    paths = write_interpolation(melodies, args.out, recipe=recipe)
    print(f"wrote {args.steps} steps from {Path(args.inputs[0]).name} to {Path(args.inputs[1]).name} "
          f"({len(paths)} files) to {args.out}")
    return 0
