"""The rating store: every answer of every rater, person or automated observer, in one SQLite file.

One row per (rater, panel): rater, kind (``human`` or ``observer``), layer, unit, panel, yes/no, the named
object, time and seconds spent. Every answer is committed at once, so a rater who closes the notebook loses
nothing and resumes where they stopped.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import math
import numbers
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["KINDS", "RatingStore"]

KINDS = ("human", "observer")


def _text(name: str, value) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string; got {value!r}")
    return value


def _missing(value) -> bool:
    """A frame's empty cell (None, NaN, NaT, pd.NA): an optional field left out."""
    return value is None or (np.ndim(value) == 0 and not isinstance(value, str) and bool(pd.isna(value)))


class RatingStore:
    """Answers in one SQLite file, one row per (rater, panel); every answer is committed at once.

    ``panel`` identifies one image panel (its PNG's path, say, which changes when the AM settings do);
    ``layer`` and ``unit`` say which unit it shows. A second answer of the same rater to the same panel is
    ignored (the first one stands), so re-running an interrupted session or an observer panel never duplicates
    answers. Raters are numbered in one transaction (:meth:`rater_index`), so raters who start at the same
    moment, in other processes, get different numbers. Use as a context manager or ``close()``.
    """

    SCHEMA = (
        """
        CREATE TABLE IF NOT EXISTS ratings (
            rater   TEXT    NOT NULL,
            kind    TEXT    NOT NULL CHECK (kind IN ('human', 'observer')),
            layer   TEXT    NOT NULL,
            unit    INTEGER NOT NULL,
            panel   TEXT    NOT NULL,
            yes     INTEGER NOT NULL CHECK (yes IN (0, 1)),
            named   TEXT,
            time    TEXT    NOT NULL,
            seconds REAL,
            PRIMARY KEY (rater, panel)
        )""",
        """
        CREATE TABLE IF NOT EXISTS raters (
            kind   TEXT    NOT NULL,
            rater  TEXT    NOT NULL,
            number INTEGER NOT NULL,
            PRIMARY KEY (kind, rater),
            UNIQUE (kind, number)
        )""",
    )
    COLUMNS = ("rater", "kind", "layer", "unit", "panel", "yes", "named", "time", "seconds")

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # a generous busy timeout: raters and observers in other kernels write to the same file
        self._con = sqlite3.connect(self.path, timeout=60)
        try:
            # WAL: a crash between two answers loses nothing that was committed, and readers never block the rater
            self._con.execute("PRAGMA journal_mode=WAL")
            with self._transaction():
                for statement in self.SCHEMA:
                    self._con.execute(statement)
        except sqlite3.DatabaseError as err:
            self._con.close()
            if isinstance(err, sqlite3.OperationalError) and "locked" in str(err):
                raise
            raise OSError(f"{self.path} is not a readable rating store ({err}); "
                          "restore it or use another path") from err

    def __enter__(self) -> RatingStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the database (every answer is already committed)."""
        self._con.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction that holds the database's write lock from its first read (BEGIN IMMEDIATE), so
        what it reads cannot change before it writes."""
        self._con.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._con.rollback()
            raise
        self._con.commit()

    @staticmethod
    def _row(rater, layer, unit, panel, yes, named=None, kind="human", when=None, seconds=None) -> tuple:
        if not isinstance(kind, str) or kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
        rater, layer, panel = _text("rater", rater), _text("layer", layer), _text("panel", panel)
        if isinstance(unit, (bool, np.bool_)) or not isinstance(unit, numbers.Integral) or unit < 0:
            raise ValueError(f"unit must be an integer >= 0 (int or numpy integer); got {unit!r} "
                             f"({type(unit).__name__})")
        if not (isinstance(yes, (bool, np.bool_)) or (isinstance(yes, numbers.Integral) and yes in (0, 1))):
            raise ValueError(f"yes must be True or False (or 1/0); got {yes!r}")
        if named is not None and not isinstance(named, str):
            raise ValueError(f"named must be a string or None; got {named!r} ({type(named).__name__})")
        if when is None:
            when = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")
        elif isinstance(when, _dt.datetime):
            when = when.isoformat(timespec="milliseconds")
        else:
            try:
                _dt.datetime.fromisoformat(when)
            except (TypeError, ValueError) as err:
                raise ValueError(f"when must be an ISO time string, a datetime or None; got {when!r}") from err
        if seconds is not None:
            ok = isinstance(seconds, numbers.Real) and not isinstance(seconds, (bool, np.bool_))
            if not ok or not math.isfinite(seconds) or seconds < 0:
                raise ValueError(f"seconds must be a finite number >= 0 or None; got {seconds!r}")
            seconds = float(seconds)
        return (rater, kind, layer, int(unit), panel, int(bool(yes)), (named or "").strip() or None, when, seconds)

    def add(
        self,
        rater: str,
        layer: str,
        unit: int,
        panel: str,
        yes: bool,
        named: str | None = None,
        kind: str = "human",
        when: str | None = None,
        seconds: float | None = None,
    ) -> bool:
        """Record one answer; ``True`` if it is new, ``False`` if this rater had already rated this panel."""
        row = self._row(rater, layer, unit, panel, yes, named, kind, when, seconds)
        with self._con:  # one transaction per answer: committed before the next panel is shown
            cur = self._con.execute(
                f"INSERT OR IGNORE INTO ratings ({', '.join(self.COLUMNS)}) VALUES ({', '.join('?' * 9)})",
                row,
            )
        return cur.rowcount == 1

    def add_many(self, frame: pd.DataFrame) -> int:
        """Record many answers in one transaction; returns how many of them were new.

        ``frame`` has columns rater, layer, unit, panel, yes and optionally named, kind, time, seconds (empty
        cells of the optional ones count as left out). The count is this call's own inserts, whatever other
        writers add meanwhile.
        """
        missing = [c for c in ("rater", "layer", "unit", "panel", "yes") if c not in frame.columns]
        if missing:
            raise ValueError(f"frame lacks the column(s) {missing}; it needs rater, layer, unit, panel, yes")
        optional = {"named": None, "kind": "human", "time": None, "seconds": None}
        rows = []
        for i, r in enumerate(frame.itertuples(index=False)):
            extra = {}
            for col, default in optional.items():
                value = getattr(r, col, default)
                extra[col] = default if _missing(value) else value
            try:
                rows.append(self._row(r.rater, r.layer, r.unit, r.panel, r.yes, extra["named"], extra["kind"],
                                      extra["time"], extra["seconds"]))
            except ValueError as err:
                raise ValueError(f"frame row {i}: {err}") from err
        with self._con:
            cur = self._con.executemany(
                f"INSERT OR IGNORE INTO ratings ({', '.join(self.COLUMNS)}) VALUES ({', '.join('?' * 9)})",
                rows,
            )
        # rowcount sums this statement's inserts (ignored duplicates add 0): others' rows are not counted
        return max(cur.rowcount, 0)

    def count(self, kind: str | None = None) -> int:
        """Number of answers (of one kind of rater, or all)."""
        if kind is None:
            return self._con.execute("SELECT COUNT(*) FROM ratings").fetchone()[0]
        return self._con.execute("SELECT COUNT(*) FROM ratings WHERE kind = ?", (kind,)).fetchone()[0]

    def answered(self, rater: str) -> set[str]:
        """The panels this rater has answered."""
        rows = self._con.execute("SELECT panel FROM ratings WHERE rater = ?", (rater,)).fetchall()
        return {panel for (panel,) in rows}

    def rater_index(self, rater: str, kind: str = "human") -> int:
        """A rater's number, given on first asking (a new rater gets the next number) in one transaction, so two
        raters who start at the same moment never share a number; stable across sessions, so a returning rater
        keeps the list :func:`rater_order` dealt them. Raters who answered without asking are numbered first, in
        the order of their first answer."""
        rater = _text("rater", rater)
        if not isinstance(kind, str) or kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
        con = self._con
        with self._transaction():
            unnumbered = con.execute(
                "SELECT rater FROM ratings WHERE kind = ? AND rater NOT IN (SELECT rater FROM raters WHERE kind = ?)"
                " GROUP BY rater ORDER BY MIN(time), rater",
                (kind, kind),
            ).fetchall()
            for name in [r for (r,) in unnumbered] + [rater]:
                con.execute(
                    "INSERT OR IGNORE INTO raters (kind, rater, number) "
                    "SELECT ?, ?, COALESCE(MAX(number) + 1, 0) FROM raters WHERE kind = ?",
                    (kind, name, kind),
                )
            (number,) = con.execute("SELECT number FROM raters WHERE kind = ? AND rater = ?", (kind, rater)).fetchone()
        return int(number)

    def frame(self, kind: str | None = None) -> pd.DataFrame:
        """All answers (of one kind of rater, or all) as a DataFrame, in a stable order."""
        query = f"SELECT {', '.join(self.COLUMNS)} FROM ratings"
        params: tuple = ()
        if kind is not None:
            query += " WHERE kind = ?"
            params = (kind,)
        out = pd.read_sql_query(query + " ORDER BY kind, rater, layer, unit, panel", self._con, params=params)
        out["yes"] = out["yes"].astype(bool)
        return out

