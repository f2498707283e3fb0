"""A person's taste profile: their answers, kept in one SQLite file on their own machine.

The studio and the command line share it: by default ``taste.sqlite`` in the studio's data folder
(``~/atelier-studio``, or ``$ATELIER_STUDIO_DIR``). One file holds any number of named profiles
(one per person); each answer belongs to one *subject*, the model it was about, because a
preference learned over one model's features says nothing about another's.

An answer stores every item it showed as its recipe (how to make it again: a seed, a blend) and its
features by name, so the preference model can be re-fitted from the answers alone, and an export is
a complete, readable record. Nothing leaves the machine; :meth:`TasteProfile.delete` forgets a
person entirely.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> profile = TasteProfile.open(folder / "taste.sqlite", "ada")
>>> items = [Item({"seed": s}, {"ink": s / 10}) for s in range(3)]
>>> profile.record_pick("mnist-dcgan", items, picked=2)
1
>>> profile.record_rating("mnist-dcgan", items[0], stars=4)
2
>>> [(a.kind, a.picked, a.stars) for a in profile.answers("mnist-dcgan")]
[('pick', 2, None), ('rating', 0, 4)]
>>> profile.subjects()
{'mnist-dcgan': 2}
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atelier.cache import studio_folder
from atelier.errors import AtelierError

SCHEMA_VERSION = 1
PROFILE_FILE = "taste.sqlite"
DEFAULT_PROFILE = "default"
MAX_CHOICES = 4  # "pick the best of 2–4": more than four at once is hard to judge
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

_TABLES = """
CREATE TABLE IF NOT EXISTS atelier_taste (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    profile TEXT NOT NULL,
    subject TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('pick', 'rating')),
    created REAL NOT NULL,
    items TEXT NOT NULL,   -- JSON: [{"recipe": {...}, "features": {name: value}}, ...]
    picked INTEGER,        -- pick: the index of the chosen item in items
    stars INTEGER          -- rating: 1..5 for items[0]
);
CREATE INDEX IF NOT EXISTS answers_by_subject ON answers (profile, subject);
CREATE TABLE IF NOT EXISTS questions (
    id TEXT PRIMARY KEY,
    profile TEXT NOT NULL,
    subject TEXT NOT NULL,
    created REAL NOT NULL,
    items TEXT NOT NULL
);
"""


def default_path() -> Path:
    """The profile file the studio and the command line share unless told otherwise."""
    return studio_folder() / PROFILE_FILE


@dataclass(frozen=True)
class Item:
    """One work shown to the person: how to make it again, and what it is like."""

    recipe: dict[str, Any]
    features: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {"recipe": self.recipe, "features": {k: float(v) for k, v in self.features.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Item:
        return cls(dict(data["recipe"]), {k: float(v) for k, v in data["features"].items()})


@dataclass(frozen=True)
class Answer:
    """A stored answer: the best of ``items`` (``kind == "pick"``, ``picked`` its index) or a
    1–5 rating of ``items[0]`` (``kind == "rating"``, ``picked`` 0)."""

    id: int
    subject: str
    kind: str
    created: float
    items: tuple[Item, ...]
    picked: int
    stars: int | None = None


@dataclass(frozen=True)
class Question:
    """Items shown and not yet answered; answering it turns it into a pick."""

    id: str
    subject: str
    items: tuple[Item, ...]
    extra: dict[str, Any] = field(default_factory=dict)


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise AtelierError(f"profile name {name!r}: use 1–64 letters, digits, '.', '_' or '-', starting with a "
                           "letter or digit")
    return name


class TasteProfile:
    """One person's answers in a profile file. Open with :meth:`open`."""

    def __init__(self, path: Path, name: str, connection: sqlite3.Connection) -> None:
        self.path, self.name, self._db = path, name, connection

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike | None = None, name: str = DEFAULT_PROFILE, *,
             create: bool = True) -> TasteProfile:
        """The profile ``name`` in the file ``path`` (default :func:`default_path`), creating the
        file when ``create``. A file that is not a taste profile is refused, never changed."""
        check_name(name)
        path = Path(path) if path is not None else default_path()
        if path.is_dir():
            raise AtelierError(f"taste profile {path}: a folder; give the profile file (e.g. {path / PROFILE_FILE})")
        exists = path.exists()
        if not exists and not create:
            raise AtelierError(f"taste profile {path}: no such file")
        if exists:
            _check_is_profile(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=10)
        try:
            db.executescript(_TABLES)
            db.execute("INSERT OR IGNORE INTO atelier_taste VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            db.commit()
        except sqlite3.DatabaseError as exc:
            db.close()
            raise AtelierError(f"taste profile {path}: not a usable profile file ({exc})") from None
        return cls(path, name, db)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> TasteProfile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- answers ------------------------------------------------------------------------------

    def record_pick(self, subject: str, items: Sequence[Item], picked: int) -> int:
        """Store "of ``items``, the person liked ``items[picked]`` best"; returns the answer's id."""
        items = tuple(items)
        if not 2 <= len(items) <= MAX_CHOICES:
            raise AtelierError(f"a pick shows 2 to {MAX_CHOICES} items, not {len(items)}")
        if isinstance(picked, bool) or not isinstance(picked, int) or not 0 <= picked < len(items):
            raise AtelierError(f"picked={picked!r}: choose one of the {len(items)} items shown, 1 to {len(items)} "
                               f"(index 0 to {len(items) - 1})")
        return self._insert(subject, "pick", items, picked, None)

    def record_rating(self, subject: str, item: Item, stars: int) -> int:
        """Store a 1–5 rating of one item; returns the answer's id."""
        if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
            raise AtelierError(f"stars={stars!r}: a rating is a whole number from 1 to 5")
        return self._insert(subject, "rating", (item,), 0, stars)

    def _insert(self, subject: str, kind: str, items: tuple[Item, ...], picked: int, stars: int | None) -> int:
        payload = json.dumps([item.to_json() for item in items])
        with self._db:
            cursor = self._db.execute(
                "INSERT INTO answers (profile, subject, kind, created, items, picked, stars) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self.name, subject, kind, time.time(), payload, picked, stars))
        return int(cursor.lastrowid)

    def answers(self, subject: str) -> list[Answer]:
        """This person's answers about ``subject``, oldest first."""
        rows = self._db.execute(
            "SELECT id, subject, kind, created, items, picked, stars FROM answers WHERE profile = ? AND subject = ? "
            "ORDER BY id", (self.name, subject)).fetchall()
        return [Answer(row[0], row[1], row[2], row[3], tuple(Item.from_json(i) for i in json.loads(row[4])),
                       row[5], row[6]) for row in rows]

    def subjects(self) -> dict[str, int]:
        """How many answers this person gave about each subject."""
        rows = self._db.execute("SELECT subject, COUNT(*) FROM answers WHERE profile = ? GROUP BY subject ORDER BY subject",
                                (self.name,)).fetchall()
        return {subject: count for subject, count in rows}

    # -- questions waiting for an answer -------------------------------------------------------

    def save_question(self, subject: str, items: Sequence[Item], extra: dict[str, Any] | None = None) -> Question:
        question = Question(uuid.uuid4().hex[:12], subject, tuple(items), dict(extra or {}))
        payload = json.dumps({"items": [i.to_json() for i in question.items], "extra": question.extra})
        with self._db:
            self._db.execute("INSERT INTO questions VALUES (?, ?, ?, ?, ?)",
                             (question.id, self.name, subject, time.time(), payload))
        return question

    def question(self, question_id: str) -> Question:
        row = self._db.execute("SELECT id, subject, items FROM questions WHERE profile = ? AND id = ?",
                               (self.name, str(question_id))).fetchone()
        if row is None:
            raise AtelierError(f"question {question_id!r}: not an open question of profile {self.name!r} "
                               "(already answered, or asked of another profile)")
        payload = json.loads(row[2])
        return Question(row[0], row[1], tuple(Item.from_json(i) for i in payload["items"]), payload.get("extra", {}))

    def answer_question(self, question_id: str, picked: int) -> int:
        """Turn an open question into a pick; returns the answer's id."""
        question = self.question(question_id)
        answer_id = self.record_pick(question.subject, question.items, picked)
        with self._db:
            self._db.execute("DELETE FROM questions WHERE id = ?", (question.id,))
        return answer_id

    # -- privacy ------------------------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        """Everything stored about this person, as JSON-ready data."""
        return {"format": "atelier-taste-profile", "version": SCHEMA_VERSION, "profile": self.name,
                "answers": [{"id": a.id, "subject": a.subject, "kind": a.kind, "created": a.created,
                             "items": [i.to_json() for i in a.items], "picked": a.picked, "stars": a.stars}
                            for s in self.subjects() for a in self.answers(s)]}

    def delete(self) -> int:
        """Forget this person: every answer and open question. Returns how many answers went."""
        with self._db:
            count = self._db.execute("DELETE FROM answers WHERE profile = ?", (self.name,)).rowcount
            self._db.execute("DELETE FROM questions WHERE profile = ?", (self.name,))
        self._db.execute("VACUUM")  # so the deleted rows do not linger in the file's free pages
        return count


def profile_names(path: str | os.PathLike | None = None) -> list[str]:
    """The profiles a profile file holds (those with at least one answer or open question)."""
    path = Path(path) if path is not None else default_path()
    if not path.exists():
        return []
    _check_is_profile(path)
    with contextlib.closing(sqlite3.connect(path)) as db:  # sqlite3's own `with` commits but does not close
        rows = db.execute("SELECT profile FROM answers UNION SELECT profile FROM questions ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def _check_is_profile(path: Path) -> None:
    """Refuse a file that is not an Atelier taste profile, before anything writes to it."""
    try:
        with open(path, "rb") as f:
            header = f.read(16)
    except OSError as exc:
        raise AtelierError(f"taste profile {path}: cannot be read ({exc.strerror})") from None
    if header and header != b"SQLite format 3\x00":
        raise AtelierError(f"taste profile {path}: not an Atelier taste profile (not an SQLite file)")
    if not header:
        return  # an empty file: sqlite makes it a database
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise AtelierError(f"taste profile {path}: not a readable SQLite file ({exc})") from None
    finally:
        db.close()
    if tables and "atelier_taste" not in tables:
        raise AtelierError(f"taste profile {path}: an SQLite file of something else (tables: "
                           f"{', '.join(sorted(tables)[:5])}); not an Atelier taste profile")
