"""The one exception type a user sees.

Every check of user input raises :class:`AtelierError` with a single line that names the input,
says what is wrong and, where there is a fixed set of choices, lists what is allowed. The CLI prints
that line and exits with status 2, without a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable


class AtelierError(Exception):
    """A problem with the user's input or files, explained in one line."""


def choose_one(what: str, value: object, allowed: Iterable[object]) -> AtelierError:
    """Build the standard "unknown X 'v'; choose one of: a, b, c" error.

    >>> str(choose_one("preset", "dcgan64", ["mnist-dcgan", "mnist-vae"]))
    "unknown preset 'dcgan64'; choose one of: mnist-dcgan, mnist-vae"
    """
    names = ", ".join(str(a) for a in sorted(allowed, key=str))
    return AtelierError(f"unknown {what} {value!r}; choose one of: {names}")
