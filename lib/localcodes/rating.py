"""Rating activation-maximisation panels, and paper 001's Table 2 analysis of the ratings.

Paper 001 (§3.3, App. A1) showed 10 x 10 AM panels to 333 people, each rating a counterbalanced list of about
52 panels: "Can you identify multiple examples of an everyday object, place or animal?", and if so, "which".
Here two kinds of raters write to one SQLite store (:class:`RatingStore`: rater, kind, layer, unit, panel,
yes/no, the named object, time):

1. **people** — :class:`RatingSession`, an ipywidgets rater that shows a rater's list in its counterbalanced
   order (:func:`counterbalanced_lists`, :func:`rater_order`), records every answer at once and resumes where
   the rater stopped (it needs a live kernel);
2. **automated observers** — small classifiers trained independently on the network's data
   (:class:`ObserverEnsemble`, :func:`train_observers`); observer *k* says "yes" to a panel when most of its
   images fall, with confidence, into one class, and names that class (:func:`observer_ratings`).

:func:`unit_summary` and :func:`table2` turn the ratings into Table 2: per layer the share of "yes" answers,
the share of units with at least 80% "yes", the agreement among raters on what they saw, and how often the
agreed object is the unit's top class / CCMAS class; :func:`interpretable_selectivity` asks whether
interpretable units are more selective than the rest. ``PAPER_TABLE2`` holds the paper's numbers.
"""

from __future__ import annotations

import datetime as _dt
import json
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .store import atomic_path, pick_device, write_json

__all__ = [
    "QUESTION",
    "NAME_QUESTION",
    "KINDS",
    "PAPER_TABLE2",
    "RatingStore",
    "counterbalanced_lists",
    "rater_order",
    "RatingSession",
    "OBSERVER_ARCHS",
    "ObserverEnsemble",
    "train_observers",
    "observer_predictions",
    "phase_scrambled",
    "observer_ratings",
    "canonical_name",
    "unit_summary",
    "table2",
    "interpretable_selectivity",
]

QUESTION = "Can you identify multiple examples of an everyday object, place or animal?"
NAME_QUESTION = "Please write which everyday object, place or animal you were referring to:"
KINDS = ("human", "observer")

# Paper 001, Table 2 (percentages; ± as printed, which are binomial standard errors: e.g. conv5's 21.7% of
# 1332 judgments gives sqrt(.217 * .783 / 1332) = 1.1%)
PAPER_TABLE2 = pd.DataFrame(
    {
        "n_judgments": [1332, 10656, 5181],
        "n_units": [256, 2048, 995],
        "yes_share": [21.7, 21.0, 71.2],
        "yes_share_se": [1.1, 0.4, 0.6],
        "consistent_share": [4.3, 3.1, 59.3],
        "consistent_share_se": [1.3, 0.4, 1.6],
        "agreement": [89.5, 80.4, 96.5],
        "agreement_se": [5.7, 4.1, 0.4],
        "top_class_overlap": [34.1, 23.3, 95.4],
        "top_class_overlap_se": [14.4, 5.9, 0.6],
        "ccmas_overlap": [0.0, 18.9, 94.6],
        "ccmas_overlap_se": [np.nan, 5.9, 0.7],
    },
    index=pd.Index(["conv5", "fc6", "fc8"], name="layer"),
)


# --------------------------------------------------------------------------------------------- the store
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


# ----------------------------------------------------------------------------------------- counterbalancing
def counterbalanced_lists(panels: pd.DataFrame, n_lists: int, seed: int = 0) -> pd.DataFrame:
    """Split panels (columns ``layer, unit``, any others kept) into ``n_lists`` lists, as paper 001 did.

    Every list gets the same share of each layer (within one panel: conv5, fc6 and fc8 panels are dealt out
    round-robin after a seeded shuffle, each layer starting where the previous one stopped, so list lengths
    differ by at most one), and the panels of a list are shuffled so layers interleave. Returns the panels
    with columns ``list`` and ``position`` (0-based), sorted by list and position.
    """
    if not {"layer", "unit"} <= set(panels.columns):
        raise ValueError(f"panels needs the columns layer and unit; got {list(panels.columns)}")
    if n_lists < 1:
        raise ValueError(f"n_lists must be >= 1; got {n_lists}")
    if panels.duplicated(["layer", "unit"]).any():
        raise ValueError("panels lists some (layer, unit) more than once")
    rng = np.random.default_rng(seed)
    parts, offset = [], 0
    for layer in sorted(panels["layer"].unique()):
        part = panels[panels["layer"] == layer]
        part = part.iloc[rng.permutation(len(part))].copy()
        part["list"] = (offset + np.arange(len(part))) % n_lists
        offset = (offset + len(part)) % n_lists
        parts.append(part)
    dealt = pd.concat(parts, ignore_index=True)
    dealt["position"] = -1
    for idx in dealt.groupby("list").groups.values():
        dealt.loc[idx, "position"] = rng.permutation(len(idx))
    dealt["position"] = dealt["position"].astype(int)
    return dealt.sort_values(["list", "position"], ignore_index=True)


def rater_order(plan: pd.DataFrame, rater_index: int) -> pd.DataFrame:
    """The panels rater number ``rater_index`` sees, in order.

    Raters are dealt to lists in turn (rater i gets list i mod L); the j-th rater of a list (j = i div L) sees
    it rotated by j * (n // 5) positions (about five starting points, as the paper had 5-6 raters per list)
    and, for odd j, reversed, so no panel is always early or always late in a session.
    """
    if rater_index < 0:
        raise ValueError(f"rater_index must be >= 0; got {rater_index}")
    n_lists = int(plan["list"].max()) + 1
    lst, j = rater_index % n_lists, rater_index // n_lists
    rows = plan[plan["list"] == lst].sort_values("position", ignore_index=True)
    n = len(rows)
    shift = (j * max(1, n // 5)) % max(n, 1)  # about five distinct starting points per list
    order = np.roll(np.arange(n), -shift)
    if j % 2 == 1:
        order = order[::-1]
    return rows.iloc[order].reset_index(drop=True)


# --------------------------------------------------------------------------------------------------- people
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
        if not str(rater).strip():
            raise ValueError("rater must be a non-empty name")
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

    def _build(self) -> None:
        import ipywidgets as w

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
        if row is None:
            self._progress.value = f"<b>{self.rater}</b>: all {total} panels rated — thank you."
            self._button.disabled = True
            return
        self._progress.value = f"<b>{self.rater}</b>: panel {total - self.remaining + 1} of {total}"
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
            self._message.value = str(err)


# ------------------------------------------------------------------------------------------------ observers
OBSERVER_ARCHS = ("mlp", "cnn")


class ObserverEnsemble(nn.Module):
    """``k`` independent classifiers of one architecture evaluated as one batched module.

    Input (B, k, h, w): member j sees channel j (its own image while training; the same image, expanded, while
    rating). Output (B, k, classes), plus a "no object" class with ``reject``. ``cnn``: two strided conv
    layers (5x5, 3x3) and a hidden layer, as grouped convolutions (groups = k) so members share no weights;
    ``mlp``: one hidden layer, as batched matrix products. Members differ by their random start and their own
    shuffled order of the training data.
    """

    def __init__(
        self,
        k: int,
        arch: str = "cnn",
        n_classes: int = 10,
        size: int = 28,
        hidden: int = 64,
        channels: tuple[int, int] = (8, 16),
        reject: bool = False,
    ) -> None:
        super().__init__()
        if arch not in OBSERVER_ARCHS:
            raise ValueError(f"arch must be one of {OBSERVER_ARCHS}; got {arch!r}")
        if k < 1 or n_classes < 2 or size < 8:
            raise ValueError(f"need k >= 1, n_classes >= 2, size >= 8; got {k}, {n_classes}, {size}")
        self.k, self.arch, self.n_classes, self.size = k, arch, n_classes, size
        # with ``reject``, one more output: "no object" (trained on phase-scrambled images)
        self.register_buffer("n_real", torch.tensor(n_classes))
        n_out = n_classes + int(reject)
        c1, c2 = channels
        if arch == "cnn":
            # strided convolutions and no pooling: grouped convolutions are slow on CPUs, so keep them small
            self.conv = nn.Sequential(
                nn.Conv2d(k, k * c1, 5, stride=2, padding=2, groups=k),
                nn.ReLU(),
                nn.Conv2d(k * c1, k * c2, 3, stride=2, padding=1, groups=k),
                nn.ReLU(),
            )
            side = ((size - 1) // 2 + 1 - 1) // 2 + 1
            d = c2 * side**2
        else:
            self.conv = None
            d = size * size
        # the input standardisation (the training images' pixel mean and std) travels with the weights
        self.register_buffer("mean", torch.tensor(0.0))
        self.register_buffer("std", torch.tensor(1.0))
        self.w1 = nn.Parameter(torch.randn(k, d, hidden) / d**0.5)
        self.b1 = nn.Parameter(torch.zeros(k, hidden))
        self.w2 = nn.Parameter(torch.randn(k, hidden, n_out) / hidden**0.5)
        self.b2 = nn.Parameter(torch.zeros(k, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        if self.conv is not None:
            x = self.conv(x)  # (B, k*c2, s, s); member j owns channels j*c2 … (j+1)*c2
        h = torch.relu(torch.einsum("bkd,kdh->bkh", x.reshape(b, self.k, -1), self.w1) + self.b1)
        return torch.einsum("bkh,khc->bkc", h, self.w2) + self.b2


def phase_scrambled(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each image's amplitude spectrum with random phases: the same "texture statistics", no shape.

    uint8 (N, h, w) in, uint8 out. The scrambled image then takes the original's own pixel values in its rank
    order, so every image keeps its histogram (brightness and contrast) exactly.
    """
    x = images.to(torch.float64)
    noise = torch.rand(x.shape, generator=generator, dtype=torch.float64)
    phase = torch.angle(torch.fft.fft2(noise))  # the phase of real noise keeps the result real
    out = torch.fft.ifft2(torch.fft.fft2(x).abs() * torch.exp(1j * phase)).real
    flat = out.flatten(1)
    ranks = flat.argsort(1).argsort(1)
    values = images.flatten(1).sort(1).values
    return values.gather(1, ranks).reshape(images.shape).to(torch.uint8)


def _standardise(raw: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """uint8 (..., h, w) or float in [0, 1] → standardised float32."""
    x = raw.to(torch.float32)
    if raw.dtype == torch.uint8:
        x = x / 255.0
    return (x - mean) / std


def train_observers(
    images: torch.Tensor,
    labels: torch.Tensor,
    archs: Sequence[str] = OBSERVER_ARCHS,
    per_arch: int = 3,
    epochs: int = 1,
    batch_size: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
    device: torch.device | str | None = None,
    test: tuple[torch.Tensor, torch.Tensor] | None = None,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    reject: bool = True,
) -> tuple[list[ObserverEnsemble], pd.DataFrame]:
    """Train ``per_arch`` independent observers per architecture on grey images (N, h, w), uint8 0..255.

    Each member walks through the data in its own random order. With ``reject`` (default) the observers also
    learn a "no object" class from phase-scrambled training images (:func:`phase_scrambled`: the images'
    spectra, no shapes), so that, like a person, they can answer "nothing" to texture. With ``cache_dir`` the
    trained ensembles are saved there (atomically) and loaded on the next call with the same settings. Returns
    the ensembles and a table of the observers (``rater, arch, seed, train_accuracy, test_accuracy``).
    """
    if images.ndim != 3 or labels.shape != images.shape[:1]:
        raise ValueError(
            f"images must be (N, h, w) with labels (N,); got {tuple(images.shape)}, {tuple(labels.shape)}"
        )
    bad = [a for a in archs if a not in OBSERVER_ARCHS]
    if bad or per_arch < 1 or epochs < 1:
        raise ValueError(
            f"archs must come from {OBSERVER_ARCHS}, per_arch and epochs >= 1; got {archs}, "
            f"{per_arch}, {epochs}"
        )
    dev = pick_device(None if device is None else str(device))
    x_all = images.to(torch.uint8)
    y_all = labels.to(torch.int64)
    mean = float(x_all.float().mean() / 255)
    std = float(x_all.float().std() / 255)
    n_classes = int(y_all.max()) + 1
    size = int(images.shape[-1])
    x_fit, y_fit = x_all, y_all
    if reject:
        # as many "no object" images as an average class has
        g = torch.Generator().manual_seed(seed + 12345)
        src = torch.randperm(len(x_all), generator=g)[: max(1, len(x_all) // n_classes)]
        x_fit = torch.cat([x_all, phase_scrambled(x_all[src], g)])
        y_fit = torch.cat([y_all, torch.full((len(src),), n_classes)])
    settings = {
        "archs": list(archs),
        "per_arch": per_arch,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "seed": seed,
        "n": len(y_all),
        "size": size,
        "n_classes": n_classes,
        "reject": reject,
    }
    folder = Path(cache_dir) if cache_dir is not None else None
    if folder is not None and (folder / "observers.json").exists():
        saved = json.loads((folder / "observers.json").read_text())
        if saved.get("settings") == settings:
            ensembles = []
            for arch in archs:
                ens = ObserverEnsemble(per_arch, arch, n_classes, size, reject=reject)
                ens.load_state_dict(torch.load(folder / f"observers_{arch}.pt", weights_only=True))
                ensembles.append(ens.to(dev).eval())
            return ensembles, pd.DataFrame(saved["table"])[saved["columns"]]

    ensembles, rows = [], []
    for a_i, arch in enumerate(archs):
        torch.manual_seed(seed * 1000 + a_i)
        ens = ObserverEnsemble(per_arch, arch, n_classes, size, reject=reject).to(dev)
        ens.mean.fill_(mean)
        ens.std.fill_(std)
        opt = torch.optim.Adam(ens.parameters(), lr=lr)
        gen = torch.Generator().manual_seed(seed * 1000 + a_i)
        n = len(y_fit)
        steps = epochs * (n // batch_size)
        bar = None
        if progress:
            from .store import progress_bar as tqdm

            bar = tqdm(total=steps, desc=f"observers ({arch} x {per_arch})", leave=False)
        ens.train()
        for _ in range(epochs):
            # each member its own permutation of the training set
            perms = torch.stack([torch.randperm(n, generator=gen) for _ in range(per_arch)], 1)
            for i in range(0, n - batch_size + 1, batch_size):
                idx = perms[i : i + batch_size]  # (B, k)
                x = _standardise(x_fit[idx], mean, std).to(dev)  # (B, k, h, w)
                y = y_fit[idx].to(dev)
                # sum over members: each member's gradient is the mean over its own batch
                out = ens(x)
                loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1)) * per_arch
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if bar is not None:
                    bar.update(1)
        if bar is not None:
            bar.close()
        ens.eval()
        train_acc = _accuracy(ens, x_all, y_all)
        test_acc = _accuracy(ens, *test) if test is not None else [float("nan")] * per_arch
        rows += [
            {
                "rater": f"{arch}-{j}",
                "arch": arch,
                "seed": seed * 1000 + a_i,
                "member": j,
                "train_accuracy": train_acc[j],
                "test_accuracy": test_acc[j],
            }
            for j in range(per_arch)
        ]
        ensembles.append(ens)
    table = pd.DataFrame(rows)
    if folder is not None:
        for ens in ensembles:
            with atomic_path(folder / f"observers_{ens.arch}.pt") as tmp:
                torch.save(ens.state_dict(), tmp)
        write_json(
            folder / "observers.json",
            {"settings": settings, "table": table.to_dict(orient="list"), "columns": list(table.columns)},
        )
    return ensembles, table


@torch.no_grad()
def observer_predictions(
    ensemble: ObserverEnsemble, images: torch.Tensor, batch_size: int = 1024
) -> torch.Tensor:
    """Class probabilities of every member for grey images (N, h, w) or (N, 1, h, w): (N, k, classes)."""
    if images.ndim == 4:
        if images.shape[1] != 1:
            raise ValueError(f"observers rate grey images; got {images.shape[1]} channels")
        images = images[:, 0]
    if images.shape[-1] != ensemble.size or images.shape[-2] != ensemble.size:
        x = images.float() / (255.0 if images.dtype == torch.uint8 else 1.0)
        images = F.interpolate(
            x[:, None],
            size=(ensemble.size, ensemble.size),
            mode="bilinear",
            align_corners=False,
            antialias=True,
        )[:, 0]
    dev = next(ensemble.parameters()).device
    out = []
    for i in range(0, len(images), batch_size):
        x = _standardise(images[i : i + batch_size], float(ensemble.mean), float(ensemble.std)).to(dev)
        x = x[:, None].expand(-1, ensemble.k, -1, -1)  # every member sees the same image
        out.append(torch.softmax(ensemble(x), -1).cpu())
    return torch.cat(out)


def _accuracy(ens: ObserverEnsemble, images: torch.Tensor, labels: torch.Tensor) -> list[float]:
    probs = observer_predictions(ens, images)
    return (probs.argmax(-1) == labels[:, None]).float().mean(0).tolist()


def observer_ratings(
    ensembles: Sequence[ObserverEnsemble],
    panels: Mapping[tuple[str, int], torch.Tensor],
    class_names: Sequence[str],
    panel_ids: Mapping[tuple[str, int], str] | None = None,
    min_confidence: float = 0.5,
    min_share: float = 0.5,
) -> pd.DataFrame:
    """Every observer's answer to every panel, as rows for :meth:`RatingStore.add_many`.

    ``panels`` maps ``(layer, unit)`` to that unit's images, (n, 1, h, w) or (n, h, w), uint8 or float in
    [0, 1]. Observer j says "yes" to a panel when more than ``min_share`` of its images are put in one class
    with probability at least ``min_confidence`` ("most images fall in one class with confidence"), and names
    that class; images it puts in its "no object" class count for no class. Extra columns: ``share`` (the
    winning class's share of the panel) and ``cls`` (its id).
    """
    if not 0 <= min_confidence <= 1 or not 0 <= min_share < 1:
        raise ValueError(
            f"need 0 <= min_confidence <= 1 and 0 <= min_share < 1; got {min_confidence}, {min_share}"
        )
    keys = list(panels)
    if not keys:
        raise ValueError("panels is empty")
    sizes = {int(panels[key].shape[0]) for key in keys}
    if len(sizes) != 1:
        raise ValueError(f"every panel must hold the same number of images; got {sorted(sizes)}")
    n = sizes.pop()
    stacked = torch.cat([panels[key] for key in keys])
    frames = []
    for ens in ensembles:
        probs = observer_predictions(ens, stacked).reshape(len(keys), n, ens.k, -1)  # (P, n, k, C)
        conf, cls = probs.max(-1)
        n_real = int(ens.n_real)
        # an image counts for a class if the observer puts it there with confidence; "no object" never counts
        confident = F.one_hot(cls, probs.shape[-1])[..., :n_real] * (conf >= min_confidence)[..., None]
        counts = confident.sum(1)  # (P, k, C)
        best, best_cls = counts.max(-1)  # ties go to the smaller class id
        share = best.float() / n
        yes = share > min_share
        p_idx, member = np.meshgrid(np.arange(len(keys)), np.arange(ens.k), indexing="ij")
        frames.append(
            pd.DataFrame(
                {
                    "rater": [f"{ens.arch}-{j}" for j in member.ravel()],
                    "kind": "observer",
                    "layer": [keys[p][0] for p in p_idx.ravel()],
                    "unit": [int(keys[p][1]) for p in p_idx.ravel()],
                    "yes": yes.numpy().ravel(),
                    "named": [
                        class_names[c] if y else None
                        for c, y in zip(best_cls.numpy().ravel(), yes.numpy().ravel(), strict=True)
                    ],
                    "share": share.numpy().ravel(),
                    "cls": best_cls.numpy().ravel(),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    ids = panel_ids or {}
    out["panel"] = [
        ids.get((layer, unit), f"{layer}.{unit}")
        for layer, unit in zip(out["layer"], out["unit"], strict=True)
    ]
    return out


# ------------------------------------------------------------------------------------------------- analysis
def canonical_name(name, synonyms: Mapping[str, str] | Callable[[str], str] | None = None) -> str | None:
    """A named object reduced for comparison: lower case, single spaces, then ``synonyms`` (a mapping or a
    function: the broad class it belongs to, as the paper's raters' answers were grouped by hand)."""
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return None
    text = " ".join(str(name).lower().split())
    if not text:
        return None
    if synonyms is None:
        return text
    if callable(synonyms):
        return synonyms(text)
    lowered = {" ".join(k.lower().split()): v for k, v in synonyms.items()}
    return " ".join(str(lowered.get(text, text)).lower().split())


def unit_summary(ratings: pd.DataFrame, synonyms=None, threshold: float = 0.8) -> pd.DataFrame:
    """Per (layer, unit): ``n`` answers, ``yes_share``, ``consistent`` (yes share >= ``threshold``), the modal
    named object among the "yes" answers (``object``; ties go to the alphabetically first) and ``agreement``
    (the share of the "yes" answers that name it)."""
    need = {"layer", "unit", "yes", "named"}
    if not need <= set(ratings.columns):
        raise ValueError(f"ratings needs the columns {sorted(need)}; got {list(ratings.columns)}")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1]; got {threshold}")
    r = ratings.assign(
        yes=ratings["yes"].astype(bool), obj=[canonical_name(v, synonyms) for v in ratings["named"]]
    )
    base = r.groupby(["layer", "unit"]).agg(n=("yes", "size"), n_yes=("yes", "sum"))
    base["yes_share"] = base["n_yes"] / base["n"]
    base["consistent"] = base["yes_share"] >= threshold - 1e-12
    named = r[r["yes"] & r["obj"].notna()]
    counts = named.groupby(["layer", "unit", "obj"]).size().rename("count").reset_index()
    counts = counts.sort_values(["layer", "unit", "count", "obj"], ascending=[True, True, False, True])
    modal = counts.drop_duplicates(["layer", "unit"]).set_index(["layer", "unit"])
    base["object"] = modal["obj"]
    base["agreement"] = modal["count"] / base["n_yes"]
    return base


def _share(flags: pd.Series) -> tuple[float, float, int]:
    """Share of True (percent), its binomial standard error (percent) and n."""
    n = int(flags.notna().sum())
    if n == 0:
        return np.nan, np.nan, 0
    p = float(flags.dropna().astype(float).mean())
    return 100 * p, 100 * np.sqrt(p * (1 - p) / n), n


def table2(
    ratings: pd.DataFrame,
    units: pd.DataFrame,
    class_names: Sequence[str] | None = None,
    synonyms=None,
    threshold: float = 0.8,
) -> pd.DataFrame:
    """Paper 001's Table 2 from answers, per layer (percentages, with standard errors).

    ``ratings``: columns ``layer, unit, yes, named`` (as :meth:`RatingStore.frame` gives). ``units``: indexed
    by or with columns ``layer, unit``, holding ``top_class`` and ``ccmas_class`` (class ids, named by
    ``class_names``, or names) for the rated units.

    * ``yes_share`` — "yes" answers over all answers (binomial SE over answers, as the paper's ±);
    * ``consistent_share`` — units with at least ``threshold`` (80%) "yes" (binomial SE over units);
    * ``agreement`` — among consistent units, the share of "yes" answers naming the unit's modal object,
      averaged over units (SE across units);
    * ``top_class_overlap`` / ``ccmas_overlap`` — among consistent units, how often the modal object is the
      unit's top class / CCMAS class (binomial SE over those units). Names are compared after
      :func:`canonical_name` with ``synonyms``, applied to the class names too.
    """
    summ = unit_summary(ratings, synonyms, threshold)
    u = units.reset_index() if "layer" not in units.columns else units
    need = {"layer", "unit", "top_class", "ccmas_class"}
    if not need <= set(u.columns):
        raise ValueError(f"units needs layer, unit, top_class and ccmas_class; got {list(u.columns)}")
    u = u.set_index(["layer", "unit"])[["top_class", "ccmas_class"]]

    def name_of(c):
        if class_names is not None and not isinstance(c, str):
            return canonical_name(class_names[int(c)], synonyms)
        return canonical_name(c, synonyms)

    missing = summ.index.difference(u.index)
    if len(missing):
        raise ValueError(f"units lacks rated units, e.g. {list(missing[:3])}")
    summ = summ.join(u)
    rows = {}
    for layer, g in summ.groupby(level="layer", sort=False):
        r = ratings[ratings["layer"] == layer]
        yes, yes_se, n_j = _share(r["yes"].astype(bool))
        cons, cons_se, n_u = _share(g["consistent"])
        c = g[g["consistent"]]
        agree = 100 * c["agreement"].mean() if len(c) else np.nan
        agree_se = 100 * c["agreement"].std(ddof=1) / np.sqrt(len(c)) if len(c) > 1 else np.nan
        has_obj = c[c["object"].notna()]
        top = pd.Series(
            [o == name_of(t) for o, t in zip(has_obj["object"], has_obj["top_class"], strict=True)],
            dtype=object,
        )
        ccm = pd.Series(
            [o == name_of(t) for o, t in zip(has_obj["object"], has_obj["ccmas_class"], strict=True)],
            dtype=object,
        )
        top_p, top_se, _ = _share(top)
        ccm_p, ccm_se, _ = _share(ccm)
        rows[layer] = {
            "n_judgments": n_j,
            "n_units": n_u,
            "n_consistent": len(c),
            "yes_share": yes,
            "yes_share_se": yes_se,
            "consistent_share": cons,
            "consistent_share_se": cons_se,
            "agreement": agree,
            "agreement_se": agree_se,
            "top_class_overlap": top_p,
            "top_class_overlap_se": top_se,
            "ccmas_overlap": ccm_p,
            "ccmas_overlap_se": ccm_se,
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "layer"
    return out


def interpretable_selectivity(
    summary: pd.DataFrame, selectivity: pd.DataFrame, column: str = "top_class_selectivity"
) -> pd.DataFrame:
    """Are interpretable units selective? Per layer: ``column`` of the consistent ("interpretable") units vs
    all rated units — counts, means, medians, the interpretable units' maximum and a two-sided Mann-Whitney U
    test (scipy) of interpretable vs the others.

    ``summary`` from :func:`unit_summary`; ``selectivity`` indexed by or with columns ``layer, unit``.
    """
    from scipy.stats import mannwhitneyu

    s = selectivity.reset_index() if "layer" not in selectivity.columns else selectivity
    if column not in s.columns:
        raise ValueError(f"selectivity has no column {column!r}; it has {list(s.columns)}")
    joined = summary[["consistent"]].join(s.set_index(["layer", "unit"])[[column]], how="inner")
    rows = {}
    for layer, g in joined.groupby(level="layer", sort=False):
        inter, rest = g.loc[g["consistent"], column].dropna(), g.loc[~g["consistent"], column].dropna()
        p = mannwhitneyu(inter, rest).pvalue if len(inter) and len(rest) else np.nan
        rows[layer] = {
            "n_units": len(g),
            "n_interpretable": len(inter),
            "mean_all": g[column].mean(),
            "mean_interpretable": inter.mean() if len(inter) else np.nan,
            "median_all": g[column].median(),
            "median_interpretable": inter.median() if len(inter) else np.nan,
            "max_interpretable": inter.max() if len(inter) else np.nan,
            "mannwhitney_p": p,
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "layer"
    return out
