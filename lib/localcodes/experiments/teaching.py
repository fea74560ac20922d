"""The teaching page, "Grow your own local codes": small ensembles grown in seconds, a live widget around them,
and an explorer over the sweeps the paper-000 chapters stored.

* :class:`Recipe` — what to grow: hidden size, dropout, activation noise, the code's sparseness (its random
  fill's share of ones, S_R) and output code, on paper 000's prototype codes with the book's SGD schedule;
* :func:`grow` — trains the ensemble (``engine.train``) and measures it: every network's local codes, and one
  network's activations, selectivity table and local codes for the jitterplot;
* :class:`Grower` — the live widget (ipywidgets): a Python callback grows a new ensemble from the controls and
  updates the count, the jitterplot and the measures (needs a kernel; the static page shows the explorer);
* :func:`stored_networks` / :func:`explorer` — every network the chapters of experiments 1, 3, 4, 8 and 9 stored
  at a scale, and an altair chart to browse them (parameters bound to inputs: it works in the static page).
"""

from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass, replace

import altair as alt
import numpy as np
import pandas as pd

from localcodes import charts, engine
from localcodes.selectivity import local_codes, unit_table
from localcodes.store import results_dir

from .paper000.networks import jitter_units
from .paper000.sweeps import SHARED_STORE, STANDARD, read_result

__all__ = ["CHAPTER", "Recipe", "Grown", "grow", "summary", "measures", "jitterplot", "compare", "Grower", "STORED",
           "stored_networks", "explorer", "SPARSENESS", "HIDDEN_SIZES"]

CHAPTER = "28_grow_your_own"

#: S_R, the random fill's share of ones, as paper 000's experiment 3 chose it (sparser fill: larger invariant share)
SPARSENESS = {"1/9": 1 / 9, "2/9": 2 / 9, "1/3": 1 / 3}
HIDDEN_SIZES = (25, 50, 100, 250, 500, 1000)
LR = engine.BOOK_DEFAULTS["lr"]  # the book's schedule (see engine.BOOK_DEFAULTS): large steps, few epochs


@dataclass(frozen=True)
class Recipe:
    """One small ensemble: ``networks`` networks with ``n_hidden`` sigmoid units on paper 000's prototype code
    (10 classes, 500 bits, ``n_per_class`` codewords each, random fill with a share ``sparseness`` of ones), trained
    with plain SGD at lr 2.0 for ``epochs`` epochs, with ``dropout`` and Gaussian activation noise of std
    ``noise_std`` (mean 0.5, as in the paper's code); ``output`` is the target code (``distributed``: 50-bit
    codes; ``onehot``)."""

    n_hidden: int = 250
    dropout: float = 0.0
    noise_std: float = 0.0
    sparseness: float = 1 / 3
    output: str = "distributed"
    networks: int = 3
    n_per_class: int = 20
    epochs: int = 200
    seed: int = 0

    def __post_init__(self):
        if self.networks < 1 or self.n_per_class < 1 or self.epochs < 1:
            raise ValueError(f"networks, n_per_class and epochs must be >= 1; got {self}")
        if not 0.0 < self.sparseness < 1.0:
            raise ValueError(f"sparseness must be in (0, 1); got {self.sparseness}")

    def with_(self, **changes) -> Recipe:
        """A copy with some settings changed."""
        return replace(self, **changes)

    @property
    def sparseness_name(self) -> str:
        """S_R as experiment 3 names it (``1/9``), else its value."""
        return next((k for k, v in SPARSENESS.items() if np.isclose(v, self.sparseness)), f"{self.sparseness:.3g}")

    def label(self) -> str:
        """The settings in a few words (for titles and summaries)."""
        return (f"{self.n_hidden} units, dropout {self.dropout:.0%}, noise σ {self.noise_std:g}, "
                f"S_R {self.sparseness_name}, {self.output} output")


@dataclass
class Grown:
    """A grown ensemble: each network's final measures (``final``: ``network, lc_pairs, lc_units, lc_on, lc_off,
    train_acc``) and network 0's activations on the training codewords it classifies correctly, with their
    classes, its selectivity ``table`` (``selectivity.unit_table``) and its local ``codes``."""

    recipe: Recipe
    final: pd.DataFrame
    acts: np.ndarray
    labels: np.ndarray
    table: pd.DataFrame
    codes: pd.DataFrame
    seconds: float

    @property
    def count(self) -> float:
        """Local codes ((unit, class) pairs) per network, averaged over the ensemble."""
        return float(self.final["lc_pairs"].mean())


def grow(recipe: Recipe) -> Grown:
    """Train ``recipe``'s ensemble (one batched ``engine.train`` call) and measure it."""
    start = time.perf_counter()
    data = engine.code_data(n_per_class=recipe.n_per_class, random_weight=recipe.sparseness, output=recipe.output,
                            seed=recipe.seed)
    config = engine.TrainConfig(hidden=(recipe.n_hidden,), dropout=recipe.dropout, noise_std=recipe.noise_std,
                                optimizer="sgd", lr=LR, batch_size=32, epochs=recipe.epochs, seed=recipe.seed)
    result = engine.train(data, config, n_networks=recipe.networks)
    final = result.final[["network", "lc_pairs", "lc_units", "lc_on", "lc_off", "train_acc"]].reset_index(drop=True)
    acts, labels = engine.network_activations(result.ensemble, data, network=0)
    if len(np.unique(labels)) >= 2:
        table, codes = unit_table(acts, labels, k=min(100, len(labels))), local_codes(acts, labels)
    else:  # selectivity compares classes: a network that gets fewer than two right has no measured units
        table, codes = pd.DataFrame(), pd.DataFrame(columns=["unit", "cls", "kind", "gap"])
    return Grown(recipe, final, acts, labels, table, codes, time.perf_counter() - start)


def summary(grown: Grown) -> str:
    """What grew, in Markdown: the count per network, the units carrying codes, the training accuracy."""
    f = grown.final
    per = ", ".join(str(int(v)) for v in f["lc_pairs"])
    return (f"**{grown.count:.1f} local codes per network** ({per}; on-codes {int(f['lc_on'].sum())}, off-codes "
            f"{int(f['lc_off'].sum())}), carried by {f['lc_units'].mean():.1f} of {grown.recipe.n_hidden} units on "
            f"average; training accuracy {f['train_acc'].mean():.0%}. {grown.recipe.networks} network(s) of "
            f"{grown.recipe.label()}, grown in {grown.seconds:.1f} s.")


def measures(grown: Grown) -> pd.DataFrame:
    """Network 0's units by what each measure calls them: the share of units each measure calls selective (the
    thresholds of the Introduction) beside the share that carries a local code."""
    t = grown.table
    if t.empty:
        return pd.DataFrame({"share of units": []})
    local = t.index.isin(grown.codes["unit"])
    shares = {
        "local code (on or off)": local.mean(),
        "top-class selectivity > 0.5": (t["top_class_selectivity"] > 0.5).mean(),
        "precision > 0.75": (t["precision"] > 0.75).mean(),
        "CCMAS > 0.8": (t["ccmas"] > 0.8).mean(),
    }
    return pd.DataFrame({"share of units": {k: f"{v:.1%}" for k, v in shares.items()}})


def jitterplot(grown: Grown, max_units: int = 12) -> alt.HConcatChart | None:
    """Network 0's local-code units (widest gap first) and a few without one, as ``charts.jitterplot``."""
    if grown.table.empty:
        return None
    units, names = jitter_units(grown.acts, grown.labels, max_units=max_units, n_contrast=3)
    return charts.jitterplot(grown.acts, grown.labels, units=units, unit_names=dict(zip(units, names, strict=True)),
                             table=grown.table.loc[units], class_names=[f"class {c}" for c in range(10)],
                             title=f"network 0 of {grown.recipe.label()}")


def compare(recipe: Recipe, changes: dict[str, dict], grown: Grown | None = None) -> pd.DataFrame:
    """``recipe`` grown as it is (``grown``, when already grown) and once per entry of ``changes`` (a name → the
    settings that differ), on the same seeds: one row each with the local codes per network (mean, min, max), the
    mean training accuracy and the seconds it took."""
    rows = []
    for name, change in {"as set": {}, **changes}.items():
        g = grown if not change and grown is not None and grown.recipe == recipe else grow(recipe.with_(**change))
        rows.append({"change": name, "local codes per network": round(g.count, 1),
                     "min": int(g.final["lc_pairs"].min()), "max": int(g.final["lc_pairs"].max()),
                     "training accuracy": round(float(g.final["train_acc"].mean()), 3), "seconds": round(g.seconds, 1)})
    return pd.DataFrame(rows).set_index("change")


class Grower:
    """The live page: one control per setting of a :class:`Recipe`, a button that grows a new ensemble, and the
    outputs it updates (the count, the jitterplot, the measures, and a table of this session's runs).

    ``regrow()`` is the button's callback: it reads the controls, trains, and refreshes the outputs; it returns
    the :class:`Grown`. ``controls`` gives the widgets by setting name, to drive the page from code."""

    def __init__(self, recipe: Recipe | None = None):
        import ipywidgets as w  # the "book" extra: only a live page needs it

        self.recipe = recipe or Recipe()
        r = self.recipe
        style = {"description_width": "150px"}
        layout = w.Layout(width="460px")
        sizes = sorted({*HIDDEN_SIZES, r.n_hidden})
        sparse = dict(SPARSENESS)
        if not any(np.isclose(v, r.sparseness) for v in sparse.values()):
            sparse[f"{r.sparseness:.3g}"] = r.sparseness
        self.controls = {
            "n_hidden": w.SelectionSlider(options=sizes, value=r.n_hidden, description="hidden units", style=style,
                                          layout=layout),
            "dropout": w.FloatSlider(value=r.dropout, min=0.0, max=0.9, step=0.1, description="dropout",
                                     style=style, layout=layout),
            "noise_std": w.FloatSlider(value=r.noise_std, min=0.0, max=2.0, step=0.25, description="activation noise σ",
                                       style=style, layout=layout),
            "sparseness": w.SelectionSlider(options=list(sparse.items()), value=next(
                v for v in sparse.values() if np.isclose(v, r.sparseness)), description="code sparseness S_R",
                style=style, layout=layout),
            "output": w.ToggleButtons(options=["distributed", "onehot"], value=r.output, description="output code",
                                      style=style),
            "networks": w.IntSlider(value=r.networks, min=1, max=max(5, r.networks), description="networks",
                                    style=style, layout=layout),
        }
        self.button = w.Button(description="grow", button_style="primary", icon="seedling")
        self.count = w.HTML()
        self.plot = w.Output()
        self.table = w.Output()
        self.runs: list[dict] = []
        self.history = w.Output()
        self.button.on_click(self.regrow)
        self.widget = w.VBox([*self.controls.values(), self.button, self.count, self.plot, self.table,
                              w.HTML("<b>your runs</b>"), self.history])
        self.last: Grown | None = None

    def current(self) -> Recipe:
        """The recipe the controls describe now."""
        values = {name: c.value for name, c in self.controls.items()}
        return self.recipe.with_(**values)

    def regrow(self, _button=None) -> Grown:
        """Grow the ensemble the controls describe and update every output (the button's callback)."""
        from IPython.display import display

        self.button.disabled, self.button.description = True, "growing…"
        try:
            grown = grow(self.current())
        finally:
            self.button.disabled, self.button.description = False, "grow"
        self.last = grown
        self.count.value = f"<p style='font-size:1.1em'>{html.escape(summary(grown)).replace('**', '')}</p>"
        self.plot.clear_output(wait=True)
        with self.plot:
            chart = jitterplot(grown)
            display(chart if chart is not None else "network 0 classifies fewer than two classes correctly")
        self.table.clear_output(wait=True)
        with self.table:
            display(measures(grown))
        r = grown.recipe
        self.runs.append({"hidden units": r.n_hidden, "dropout": r.dropout, "noise σ": r.noise_std,
                          "S_R": r.sparseness_name,
                          "output": r.output, "networks": r.networks,
                          "local codes per network": round(grown.count, 1),
                          "training accuracy": round(float(grown.final["train_acc"].mean()), 3)})
        self.history.clear_output(wait=True)
        with self.history:
            display(pd.DataFrame(self.runs))
        return grown


# ----------------------------------------------------------------------------------------- the stored explorer
#: the chapters whose stored networks the explorer reads (the teaching chapter's AFTER lists them)
STORED = ("10_hidden_size_and_data", "11_random_sparseness", "14_output_code", "16_dropout", "17_activation_noise")
EXPLORER_COLUMNS = ["experiment", "setting", "order", "n_hidden", "lc_pairs", "lc_units", "train_acc", "chapter"]
MEASURES = {"lc_pairs": "local codes per network", "lc_units": "units with a local code"}
EXPERIMENTS = ("hidden size (exp. 1)", "code sparseness S_R (exp. 3)", "output code (exp. 4)", "dropout (exp. 8)",
               "activation noise σ (exp. 9)")


def _shared_rows(scale: str) -> pd.DataFrame:
    """Experiments 1, 3 and 4 (hidden size, sparseness, output code) from the shared store: the networks that
    differ from the standard code in that one setting only, trained as those chapters train at ``scale``."""
    from localcodes.store import ResultsStore

    root = results_dir(scale, SHARED_STORE, create=False)
    rows = ResultsStore(root).read() if root.exists() else pd.DataFrame()
    if rows.empty or not set(STANDARD) <= set(rows.columns):
        return pd.DataFrame(columns=EXPLORER_COLUMNS)
    rows = rows[rows["final"]]
    schedule = rows.groupby(["lr", "epochs"]).size().idxmax()  # the chapters' own schedule at this scale
    rows = rows[(rows["lr"] == schedule[0]) & (rows["epochs"] == schedule[1])]
    same = {k: np.asarray(np.isclose(rows[k].astype(float), v) if isinstance(v, float) else rows[k] == v)
            for k, v in STANDARD.items()}

    def only(factor: str | None) -> pd.DataFrame:
        """The rows standard in every setting but ``factor``, at the hidden sizes where ``factor`` varies."""
        picked = rows[np.logical_and.reduce([m for k, m in same.items() if k != factor])]
        if factor is None:
            return picked
        varied = picked.groupby("width")[factor].nunique()
        return picked[picked["width"].isin(varied[varied > 1].index)]

    standard, sparse, output = only(None), only("random_weight"), only("output")
    names = {round(v, 6): k for k, v in SPARSENESS.items()}
    parts = [
        standard.assign(experiment=EXPERIMENTS[0], setting=standard["width"].astype(int).astype(str),
                        order=standard["width"].astype(float), chapter=STORED[0]),
        sparse.assign(experiment=EXPERIMENTS[1],
                      setting=[names.get(round(float(v), 6), f"{v:.3g}") for v in sparse["random_weight"]],
                      order=sparse["random_weight"].astype(float), chapter=STORED[1]),
        output.assign(experiment=EXPERIMENTS[2], setting=output["output"].astype(str),
                      order=(output["output"] == "onehot").astype(float), chapter=STORED[2]),
    ]
    out = pd.concat([p for p in parts if len(p)] or [pd.DataFrame(columns=[*EXPLORER_COLUMNS, "width"])],
                    ignore_index=True)
    out["n_hidden"] = out["width"].astype(int)
    return out[EXPLORER_COLUMNS]


def _chapter_rows(scale: str, chapter: str, experiment: str, factor: str, fmt: str) -> pd.DataFrame:
    folder = results_dir(scale, chapter, create=False)
    final = read_result(folder, "final.parquet")
    if final is None or final.empty:
        return pd.DataFrame(columns=EXPLORER_COLUMNS)
    if "n_hidden" not in final:  # the dropout chapter trains one size, recorded with its parameters
        params = json.loads((folder / "provenance.json").read_text()).get("parameters", {})
        final = final.assign(n_hidden=int(params.get("n_hidden", 0)))
    values = final[factor].astype(float)
    return final.assign(experiment=experiment, setting=[fmt.format(v) for v in values], order=values,
                        chapter=chapter)[EXPLORER_COLUMNS]


def stored_networks(scale: str) -> pd.DataFrame:
    """Every network the chapters of ``STORED`` kept at ``scale``, one row each: ``experiment`` (the setting that
    was varied), ``setting`` (its value, as text) and ``order`` (for sorting), ``n_hidden``, ``lc_pairs``,
    ``lc_units``, ``train_acc`` and the ``chapter``. Empty when none of them has run at that scale."""
    parts = [
        _shared_rows(scale),
        _chapter_rows(scale, STORED[3], EXPERIMENTS[3], "dropout", "{:.0%}"),
        _chapter_rows(scale, STORED[4], EXPERIMENTS[4], "sigma", "{:g}"),
    ]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=EXPLORER_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    out["n_hidden"] = out["n_hidden"].astype(int)
    out["train_acc"] = out["train_acc"].astype(float)
    rank = out["experiment"].map({e: i for i, e in enumerate(EXPERIMENTS)})
    return out.assign(rank=rank).sort_values(["rank", "order", "n_hidden"], ignore_index=True).drop(columns="rank")


def explorer(rows: pd.DataFrame, width: int = 520, height: int = 300) -> alt.LayerChart:
    """Browse stored networks: choose the experiment and the measure, and a floor on training accuracy; one
    point per network (jittered), a line through the means per hidden size. Altair parameters bound to inputs,
    so it works in the static page as well as live."""
    if rows.empty:
        raise ValueError("no stored networks to explore (run the chapters of STORED at this scale first)")
    experiments = list(dict.fromkeys(rows["experiment"]))
    exp = alt.param(name="experiment", value=experiments[0],
                    bind=alt.binding_select(options=experiments, name="experiment "))
    measure = alt.param(name="measure", value="lc_pairs",
                        bind=alt.binding_select(options=list(MEASURES), labels=list(MEASURES.values()),
                                                name="measure "))
    floor = alt.param(name="min_accuracy", value=0.0,
                      bind=alt.binding_range(min=0.0, max=1.0, step=0.05, name="training accuracy at least "))
    x = alt.X("setting:O", sort=alt.EncodingSortField("order", op="min"), title="setting (of the chosen experiment)",
              axis=alt.Axis(labelAngle=0))
    color = alt.Color("n_hidden:O", title="hidden units")
    base = alt.Chart(rows, width=width, height=height).transform_filter(
        "datum.experiment == experiment && datum.train_acc >= min_accuracy"
    ).transform_calculate(value="datum[measure]", jitter="random()")
    points = base.mark_circle(size=30, opacity=0.45).encode(
        # jitter over the middle third of each setting's band, around the line through the means
        x=x, xOffset=alt.XOffset("jitter:Q", scale=alt.Scale(domain=[-1, 2])),
        y=alt.Y("value:Q", title="the chosen measure"),
        color=color, tooltip=["chapter:N", "setting:N", "n_hidden:O", "lc_pairs:Q", "lc_units:Q",
                              alt.Tooltip("train_acc:Q", format=".1%")])
    means = base.mark_line(point=True, strokeWidth=2).encode(x=x, y=alt.Y("mean(value):Q"), color=color)
    return alt.layer(points, means).add_params(exp, measure, floor).properties(
        title="stored networks: local codes against the setting each experiment varied")

