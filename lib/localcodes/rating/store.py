"""The rating store: every answer of every rater, person or automated observer, in one SQLite file.

One row per (rater, panel): rater, kind (``human`` or ``observer``), layer, unit, panel, yes/no, the named
object, time and seconds spent. Every answer is committed at once, so a rater who closes the notebook loses
nothing and resumes where they stopped.
"""

from __future__ import annotations

import datetime as _dt
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["KINDS", "RatingStore"]

KINDS = ("human", "observer")


class RatingStore:
    """Answers in one SQLite file, one row per (rater, panel); every answer is committed at once.

    ``panel`` identifies one image panel (its PNG's path, say, which changes when the AM settings do);
    ``layer`` and ``unit`` say which unit it shows. A second answer of the same rater to the same panel is
    ignored (the first one stands), so re-running an interrupted session or an observer panel never duplicates
    answers. Use as a context manager or ``close()``.
    """

    SCHEMA = """
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
        )"""
    COLUMNS = ("rater", "kind", "layer", "unit", "panel", "yes", "named", "time", "seconds")

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = sqlite3.connect(self.path)
        # WAL: a crash between two answers loses nothing that was committed, and readers never block the rater
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute(self.SCHEMA)
        self._con.commit()

    def __enter__(self) -> RatingStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the database (every answer is already committed)."""
        self._con.close()

    @staticmethod
    def _row(rater, layer, unit, panel, yes, named=None, kind="human", when=None, seconds=None) -> tuple:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
        if not str(rater).strip():
            raise ValueError("rater must be a non-empty name")
        if yes not in (0, 1, True, False) and not isinstance(yes, (np.bool_, np.integer)):
            raise ValueError(f"yes must be True/False (or 1/0); got {yes!r}")
        named = (
            None if named is None or (isinstance(named, float) and np.isnan(named)) else str(named).strip()
        )
        when = when or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")
        return (
            str(rater),
            kind,
            str(layer),
            int(unit),
            str(panel),
            int(bool(yes)),
            named or None,
            str(when),
            None if seconds is None else float(seconds),
        )

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
        """Record many answers in one transaction; returns how many were new.

        ``frame`` has columns rater, layer, unit, panel, yes and optionally named, kind, time, seconds.
        """
        missing = [c for c in ("rater", "layer", "unit", "panel", "yes") if c not in frame.columns]
        if missing:
            raise ValueError(f"frame lacks the column(s) {missing}; it needs rater, layer, unit, panel, yes")
        rows = [
            self._row(
                r.rater,
                r.layer,
                r.unit,
                r.panel,
                r.yes,
                getattr(r, "named", None),
                getattr(r, "kind", "human"),
                getattr(r, "time", None),
                getattr(r, "seconds", None),
            )
            for r in frame.itertuples(index=False)
        ]
        before = self.count()
        with self._con:
            self._con.executemany(
                f"INSERT OR IGNORE INTO ratings ({', '.join(self.COLUMNS)}) VALUES ({', '.join('?' * 9)})",
                rows,
            )
        return self.count() - before

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
        """A rater's number, in the order raters gave their first answer (a new rater gets the next number):
        stable across sessions, so a returning rater keeps the list :func:`rater_order` dealt them."""
        rows = self._con.execute(
            "SELECT rater FROM ratings WHERE kind = ? GROUP BY rater ORDER BY MIN(time), rater", (kind,)
        ).fetchall()
        names = [r for (r,) in rows]
        return names.index(rater) if rater in names else len(names)

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

