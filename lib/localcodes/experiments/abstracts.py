"""A chapter's paragraph in the book's abstract (``results/<scale>/<chapter>/abstract.md``, gathered by
``book.write_abstract`` onto the index page and by ``localcodes readme`` into the README), computed from the
chapter's verdicts: nothing in it is typed, so it never says more than they do."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .. import verdicts
from ..store import atomic_path, results_dir

__all__ = ["LIST_AT_MOST", "outcome_of", "paragraph", "save"]

#: Claims are listed one by one up to this many; beyond it the paragraph gives the counts only.
LIST_AT_MOST = 8


def outcome_of(text: str) -> str:
    """The outcome a verdict's text starts with (``"inconclusive, n = 3, …"`` → ``"inconclusive"``)."""
    for outcome in sorted(verdicts.OUTCOMES, key=len, reverse=True):  # "not reproduced" before "reproduced"
        if str(text).strip().lower().startswith(outcome):
            return outcome
    raise ValueError(f"a verdict must start with one of {verdicts.OUTCOMES}; got {text!r}")


def paragraph(heading: str, claims: Sequence[tuple[str, str]]) -> str:
    """``* **heading**: n claims judged — counts per outcome`` and, for a few claims, each with its verdict.
    ``claims``: (claim, verdict text or outcome) pairs."""
    if not claims:
        return f"* **{heading}**: no claim was judged at this scale (*not run*).\n"
    counts = verdicts.count_outcomes([outcome_of(v) for _, v in claims])
    text = (f"* **{heading}**: {len(claims)} claim{'s' if len(claims) > 1 else ''} judged — "
            + ", ".join(f"{o} {n}" for o, n in counts.items() if n) + ".")
    if len(claims) <= LIST_AT_MOST:
        text += " " + "; ".join(f"{c.rstrip('.')}: *{v}*" for c, v in claims) + "."
    return text + "\n"


def save(scale: str, chapter: str, text: str) -> Path:
    """Write the chapter's abstract paragraph atomically."""
    path = results_dir(scale, chapter) / "abstract.md"
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path
