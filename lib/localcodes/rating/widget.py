"""The live rater: an ipywidgets session that shows one panel at a time with paper 001's two questions."""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from .store import RatingStore

__all__ = ["QUESTION", "NAME_QUESTION", "RatingSession"]

QUESTION = "Can you identify multiple examples of an everyday object, place or animal?"
NAME_QUESTION = "Please write which everyday object, place or animal you were referring to:"


class RatingSession:
    """A live rater (ipywidgets): one panel at a time, the paper's two questions, answers stored at once.

    ``order`` has columns ``layer, unit, panel`` (``panel``: the PNG's path); panels the rater has already
    answered are skipped, so closing the notebook and coming back resumes where the rater stopped. Display
    ``session.widget`` in a notebook with a running kernel (a static page cannot record anything).
    """

    def __init__(
        self,
        store: RatingStore,
        rater: str,
        order: pd.DataFrame,
        image_bytes: Callable[[str], bytes] | None = None,
    ) -> None:
        if not {"layer", "unit", "panel"} <= set(order.columns):
            raise ValueError(f"order needs the columns layer, unit and panel; got {list(order.columns)}")
        if not isinstance(rater, str) or not rater.strip():
            raise ValueError(f"rater must be a non-empty string; got {rater!r}")
        self.store, self.rater = store, str(rater).strip()
        self.order = order.reset_index(drop=True)
        self._read = image_bytes or (lambda path: Path(path).read_bytes())
        done = store.answered(self.rater)
        self._todo = [i for i, panel in enumerate(self.order["panel"].astype(str)) if panel not in done]
        self._shown_at = time.monotonic()
        self._widget = None

    @property
    def remaining(self) -> int:
        """Panels still to rate."""
        return len(self._todo)

    @property
    def current(self) -> pd.Series | None:
        """The panel on screen (None when the list is finished)."""
        return self.order.loc[self._todo[0]] if self._todo else None

    def submit(self, yes: bool, named: str | None = None) -> bool:
        """Record the answer to the current panel and move on; returns whether it was stored as new."""
        row = self.current
        if row is None:
            raise ValueError("this rater's list is finished; there is no panel to answer")
        named = (named or "").strip() or None
        if yes and named is None:
            raise ValueError("a 'yes' needs the object, place or animal named (the second question)")
        new = self.store.add(
            self.rater,
            row.layer,
            int(row.unit),
            str(row.panel),
            bool(yes),
            named if yes else None,
            "human",
            seconds=time.monotonic() - self._shown_at,
        )
        self._todo.pop(0)
        self._shown_at = time.monotonic()
        if self._widget is not None:
            self._refresh()
        return new

    @property
    def widget(self):
        """The ipywidgets box (built on first use)."""
        if self._widget is None:
            self._build()
        return self._widget

    @property
    def controls(self) -> dict:
        """The widget's parts by name — ``progress, image, answer, name, button, message`` — to drive the session
        as a rater's clicks would (built on first use)."""
        if self._widget is None:
            self._build()
        return {"progress": self._progress, "image": self._image, "answer": self._answer, "name": self._name,
                "button": self._button, "message": self._message}

    def _build(self) -> None:
        import ipywidgets as w  # the "book" extra: only a live rater needs it

        self._progress = w.HTML()
        self._image = w.Image(format="png", layout=w.Layout(max_width="520px"))
        self._answer = w.ToggleButtons(options=["yes", "no"], value=None, description="")
        self._name = w.Text(
            placeholder="e.g. dog, shoe, beach", description="", layout=w.Layout(width="320px")
        )
        self._button = w.Button(description="next panel", button_style="primary")
        self._message = w.HTML()
        self._button.on_click(self._on_click)
        self._widget = w.VBox(
            [
                self._progress,
                self._image,
                w.HTML(f"<b>{QUESTION}</b>"),
                self._answer,
                w.HTML(NAME_QUESTION),
                self._name,
                self._button,
                self._message,
            ]
        )
        self._refresh()

    def _refresh(self) -> None:
        total = len(self.order)
        row = self.current
        name = html.escape(self.rater)  # typed by the rater: shown as text, never run as HTML
        if row is None:
            self._progress.value = f"<b>{name}</b>: all {total} panels rated — thank you."
            self._button.disabled = True
            return
        self._progress.value = f"<b>{name}</b>: panel {total - self.remaining + 1} of {total}"
        self._image.value = self._read(str(row.panel))
        self._answer.value = None
        self._name.value = ""

    def _on_click(self, _button) -> None:
        if self._answer.value is None:
            self._message.value = "Please answer yes or no."
            return
        try:
            self.submit(self._answer.value == "yes", self._name.value)
            self._message.value = ""
        except ValueError as err:
            self._message.value = html.escape(str(err))

