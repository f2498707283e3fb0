"""docs/architecture.md, "add a command": a module with add_commands, listed in COMMAND_MODULES,
whose handler parses and calls one library function; user errors exit 2 with one line."""

import sys

from atelier import cli
from atelier.images.gan import PRESETS


def add_commands(sub):
    p = sub.add_parser("count-presets", help="how many presets a family has")
    p.add_argument("kind")
    p.set_defaults(handler=_count)


def _count(args):
    from atelier.family import get_family

    print(f"{args.kind}: {len(get_family(args.kind).presets)} presets")
    return 0


def test_a_new_command_module_is_one_line_in_command_modules(monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, __name__))
    monkeypatch.setitem(sys.modules, __name__, sys.modules[__name__])
    assert cli.main(["count-presets", "gan"]) == 0
    assert capsys.readouterr().out == f"gan: {len(PRESETS)} presets\n"
    assert cli.main(["count-presets", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("atelier: error: unknown model kind 'nope'; choose one of:") and err.count("\n") == 1
