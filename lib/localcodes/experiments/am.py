"""Chapter 40 (activation maximisation and its interpretability, after paper 001's §3.3 and Table 2): the units
and their selectivity, the AM panels and how far they drive the units, the observers' ratings and the chapter's
Table 2 beside the paper's.

The results live under the chapter's folder of the results store (``results/<scale>/40_activation_maximisation``):
the activation table of the test images, the AM image cache and panels, the trained observers and the ratings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pandas as pd
import torch
from torch import nn

from .. import am, data, nets, rating, record, store
from .paper000.checks import load_chapter
from .paper001 import checks as paper001_checks
from .paper001 import table2 as t2

__all__ = [
    "CHAPTER",
    "TABLE2_COLUMNS",
    "results_folder",
    "network_scale",
    "save_unit_results",
    "reference_summary",
    "network_note",
    "selectivity_units",
    "choose_units",
    "units_note",
    "layer_summary",
    "am_config",
    "fit_generator",
    "am_effect",
    "effect_note",
    "panel_caption",
    "panel_jpeg",
    "observer_training_set",
    "observer_images",
    "observers_note",
    "chapter_ratings",
    "format_table2",
    "table2_comparison",
    "table2_words",
    "interpretable_note",
    "per_unit_table",
    "extreme_panels",
]

CHAPTER = "40_activation_maximisation"
#: Training images the PCA generator is fitted to (a seeded subset: the SVD of 64-px colour images grows fast)
GENERATOR_IMAGES = 3000
# Table 2's columns as the chapter prints them
TABLE2_COLUMNS = {
    "yes_share": "yes answers",
    "consistent_share": "units ≥ 80% yes",
    "agreement": "agreement among raters",
    "top_class_overlap": "overlap with top class",
    "ccmas_overlap": "overlap with CCMAS class",
}


def results_folder(scale: str) -> Path:
    """The chapter's folder in the results store at ``scale``."""
    return store.results_dir(scale, CHAPTER)


def network_scale(scale: str) -> str:
    """The scale of the network (and its images) a run at ``scale`` studies: the reference results study the
    book's network with heavier AM settings."""
    return "book" if scale == "reference" else scale


def save_unit_results(folder: Path, effect: pd.DataFrame, per_unit_ratings: pd.DataFrame) -> None:
    """Store how far AM drove the units (``effect.parquet``, per layer) and every rated unit's answers and
    measures (``units.parquet``), beside the chapter's checks: small tables a later page can show."""
    store.write_parquet(folder / "effect.parquet", effect.reset_index())
    store.write_parquet(folder / "units.parquet", per_unit_ratings.reset_index())


def reference_summary(layers: Sequence[str]) -> list:
    """What the page shows of the stored reference results, in order: Markdown (``str``) and tables; a note
    when they have not been computed."""
    folder = store.results_dir("reference", CHAPTER, create=False)
    summary, checks = load_chapter("reference", CHAPTER)
    if checks is None or folder is None or not (folder / "units.parquet").exists():
        return ["*Not run*: no reference results are stored for this chapter (`localcodes run "
                "40_activation_maximisation --scale reference`, about 40 minutes of CPU)."]
    prov = json.loads((folder / "provenance.json").read_text())
    units = pd.read_parquet(folder / "units.parquet").set_index(["layer", "unit"])
    effect = pd.read_parquet(folder / "effect.parquet").set_index("layer")
    head = (f"Stored reference results ({prov.get('units_per_layer')} units per layer, "
            f"{prov.get('images_per_unit')} images each, {prov.get('steps')} steps; computed "
            f"{str(prov.get('date', '?'))[:10]} on {prov.get('device', '?')}, commit "
            f"{str(prov.get('git_commit', '?'))[:10]}). How far AM drove the units:")
    return [head, effect.round(2), "Consistently interpretable units, as above:",
            t2.shares(units, [x for x in layers if x in set(units.index.get_level_values("layer"))]),
            paper001_checks.verdict_table(checks), paper001_checks.verdict_lines(checks)]


def network_note(info: dict, train, device: torch.device, scale: str) -> str:
    """What network the chapter studies, on what data and device (markdown)."""
    return (
        f"**Network**: AlexNet architecture (width × {info['width']}, {info['input_size']}-px "
        f"{'colour' if train.channels == 3 else 'grey'} input, {len(train.class_names)} classes), trained "
        f"here on **{train.name}** (source: `{train.source}`; {len(train)} training images), test accuracy "
        f"{info['test_accuracy']:.1%}. **Device**: {store.device_name(device)}. Scale `{scale}`."
    )


def selectivity_units(
    model: nn.Module, layers: Sequence[str], test, folder: Path, device: torch.device
) -> tuple[Path, pd.DataFrame, dict]:
    """Record the layers' activations over the test images (HDF5, resumable; a retrained network gets its own
    table) and measure every unit; returns the table's path, the unit measures indexed by ``(layer, unit)`` and
    the table's metadata."""
    weights = record.model_identity(model)["weights_sha256"][:12]
    table_path = folder / f"acts_test-{weights}-{'_'.join(layers)}.h5"
    record.record(model, layers, test, table_path, device=device, progress=False)
    meta = record.read_table(table_path)
    # precision@100 as in paper 001; a small test split (smoke scale) has fewer correct images than that
    k = min(100, int(meta["n_rows"]))
    measures = record.measure_table(table_path, layers, k=k, progress=False, detectors=False)
    units_all = pd.concat({layer: measures[layer][0] for layer in layers}, names=["layer", "unit"])
    return table_path, units_all, meta


def choose_units(meta: dict, layers: Sequence[str], n_units: int, seed: int) -> dict[str, list[int]]:
    """A seeded random sample of ``n_units`` units per layer (all units if the layer is smaller), sorted."""
    rng = np.random.default_rng(seed)
    chosen = {}
    for layer in layers:
        n_layer = meta["units"][layer]
        chosen[layer] = sorted(rng.choice(n_layer, min(n_units, n_layer), replace=False).tolist())
    return chosen


def units_note(meta: dict, layers: Sequence[str], chosen: Mapping[str, Sequence[int]]) -> str:
    """How many test images count and how many units are visualised per layer (markdown)."""
    return (
        f"{meta['n_rows']} of {meta['n_images']} test images are classified correctly. Units per layer: "
        + ", ".join(f"{layer} {meta['units'][layer]}" for layer in layers)
        + ". Visualised here (a seeded random sample, like the paper's 2048 of fc6's 4096): "
        + ", ".join(f"{layer} {len(u)}" for layer, u in chosen.items()) + "."
    )


def layer_summary(units_all: pd.DataFrame) -> pd.DataFrame:
    """Per layer: mean and maximum top-class selectivity, mean precision and mean CCMAS."""
    return units_all.groupby(level="layer", sort=False).agg(
        mean_top_class_selectivity=("top_class_selectivity", "mean"),
        max_top_class_selectivity=("top_class_selectivity", "max"),
        mean_precision=("precision", "mean"), mean_ccmas=("ccmas", "mean"))


def am_config(info: dict, train, P: SimpleNamespace) -> am.AMConfig:
    """The chapter's AM settings: the network's input, the data's normalisation, resolution and channels, and the
    preset's prior, steps, step size and penalties; dark background (the data's); no colour decorrelation (the
    Fourier prior's is ImageNet's, not these data's)."""
    return am.AMConfig(size=info["input_size"], prior=P.image_prior, param_size=int(train.raw.shape[-1]),
                       channels=train.channels, decorrelate=False, mean=train.mean, std=train.std,
                       steps=P.steps, lr=P.lr, diversity=P.diversity, latent_l2=P.latent_l2, fill=0.0)


def fit_generator(train, P: SimpleNamespace) -> tuple[am.LinearGenerator | None, str | None]:
    """The PCA generator of the training images when the preset asks for the generator prior, and a note on it."""
    if P.image_prior != "generator":
        return None, None
    generator = am.fit_linear_generator(train.raw, k=P.generator_k, max_images=GENERATOR_IMAGES, seed=P.seed)
    return generator, (f"PCA generator: {P.generator_k} components, fitted to {min(GENERATOR_IMAGES, len(train))} "
                       f"training images, hold {generator.explained:.0%} of their pixel variance.")


def am_effect(
    panels: pd.DataFrame, table_path: Path, chosen: Mapping[str, Sequence[int]], layers: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """How far AM drives the units, against their activations over the correctly classified test images.

    Returns the panels with the data's mean, SD and maximum and ``z`` (the AM mean in data SDs above the data
    mean), and per layer the median ``z`` and the shares of units whose mean / every AM activation beats every
    test image.
    """
    with h5py.File(table_path, "r") as f:
        data_stats = pd.concat([
            pd.DataFrame({"layer": layer, "unit": chosen[layer],
                          "data_mean": f["acts"][layer][:, chosen[layer]].mean(0),
                          "data_sd": f["acts"][layer][:, chosen[layer]].std(0),
                          "data_max": f["acts"][layer][:, chosen[layer]].max(0)})
            for layer in layers])
    panels = panels.merge(data_stats, on=["layer", "unit"])
    panels["z"] = (panels.am_mean - panels.data_mean) / panels.data_sd.where(panels.data_sd > 0)
    effect = panels.groupby("layer", sort=False).agg(
        units=("unit", "size"),
        z_median=("z", "median"),
        mean_beats_data=("am_mean", lambda v: float((v > panels.loc[v.index, "data_max"]).mean())),
        all_beat_data=("am_min", lambda v: float((v > panels.loc[v.index, "data_max"]).mean())),
    ).rename(columns={
        "z_median": "AM activation: SDs above the data mean (median over units)",
        "mean_beats_data": "share of units whose mean AM activation beats every test image",
        "all_beat_data": "share of units whose every AM image beats every test image",
    })
    return panels, effect


def effect_note(n_panels: int, n_images: int, steps: int, seconds: float) -> str:
    """The AM run's size and time, introducing the effect table (markdown)."""
    return (f"{n_panels} units × {n_images} images × {steps} steps in {seconds:.1f} s (0 s when cached). "
            "How far AM drives the units, measured the paper's way (after the ReLU; a filter's spatial maximum):")


def panel_caption(units_all: pd.DataFrame, class_names: Sequence[str], layer: str, unit: int, note: str = "") -> str:
    """A panel's caption: the unit's top class, CCMAS class and their measures (markdown)."""
    row = units_all.loc[(layer, unit)]
    return (
        f"**{layer}.{unit}** — top class *{class_names[int(row.top_class)]}* (top-class selectivity "
        f"{row.top_class_selectivity:.1%}), CCMAS class *{class_names[int(row.ccmas_class)]}* (CCMAS "
        f"{row.ccmas:.2f}), precision@100 {row.precision:.0%}{note}")


def panel_jpeg(images: torch.Tensor, n_images: int) -> bytes:
    """A unit's panel as JPEG (keeps the page light; the PNG files the raters see are lossless)."""
    return am.panel_bytes(images, nrow=max(1, int(np.sqrt(n_images))), fmt="jpeg")


def observer_training_set(train, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded random subset of ``n`` training images (in their order) and their labels, for the observers."""
    n_obs = min(n, len(train))
    pick = torch.from_numpy(np.sort(np.random.default_rng(seed).choice(len(train), n_obs, replace=False)))
    return train.raw[pick], train.labels[pick]


def observer_images(scale: str, dataset: str, train, n: int, size: int, seed: int
                    ) -> tuple[torch.Tensor, torch.Tensor, str]:
    """The observers' training images, labels and a note on them. Fractal categories: ``n`` further instances of
    the network's categories that it never saw (beyond its training and test instances), resized to ``size`` px
    (the observers' own resolution). Fashion-MNIST has no unseen images of its classes offline: a seeded subset
    of the network's own training images, and the note says so."""
    if dataset != "fractals":
        x, y = observer_training_set(train, n, seed)
        return x, y, (f"{len(y)} of the network's own training images (Fashion-MNIST has no images the network "
                      "never saw to spare: the observers share its training data)")
    preset = nets.training_preset(scale, "fractals")
    first = preset["n_train_per_class"] + preset["n_test_per_class"]
    per = max(1, -(-n // preset["n_classes"]))
    raw, labels = data.fractal_images(preset["n_classes"], per, preset["image_size"], preset["seed"], colour=True,
                                      first_instance=first, progress=False)
    x = torch.from_numpy(raw).float().div(255.0)
    if x.shape[-1] != size:
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True,
                                            align_corners=False)
    images = x.mul(255.0).round().to(torch.uint8)
    return images, torch.from_numpy(labels), (
        f"{len(labels)} images the network never saw: instances {first}–{first + per - 1} of each of its "
        f"{preset['n_classes']} fractal categories (it was trained on instances 0–{preset['n_train_per_class'] - 1} "
        f"and tested on the next {preset['n_test_per_class']}), at {size} px")


def observers_note(observer_table: pd.DataFrame, new: int, n_stored: int, source: str = "") -> str:
    """The observers' accuracy range (on the network's test images) and how many answers were stored (markdown)."""
    return ((f"The observers learnt from {source}. " if source else "") + f"{len(observer_table)} observers, "
            "accuracy on the network's test images "
            f"{observer_table.test_accuracy.min():.1%}–{observer_table.test_accuracy.max():.1%}; "
            f"{new} new answers stored ({n_stored} observer answers in the store).")


def chapter_ratings(ratings: rating.RatingStore, kind: str, panels: pd.DataFrame) -> pd.DataFrame:
    """The stored answers of one kind of rater to the current panels (older settings' panels left out)."""
    frame = ratings.frame(kind)
    return frame[frame["panel"].isin(set(panels["panel"]))]


def format_table2(t: pd.DataFrame) -> pd.DataFrame:
    """Table 2 as printed: counts, then each percentage with its standard error."""
    out = pd.DataFrame(index=t.index)
    out["answers"] = t["n_judgments"].astype(int)
    out["units"] = t["n_units"].astype(int)
    for c, name in TABLE2_COLUMNS.items():
        out[name] = [("–" if np.isnan(v) else f"{v:.1f}%" + ("" if np.isnan(e) else f" ± {e:.1f}"))
                     for v, e in zip(t[c], t[c + "_se"], strict=True)]
    return out


def table2_comparison(ours: pd.DataFrame, n_observers: int, data_name: str) -> pd.DataFrame:
    """The paper's Table 2 above the chapter's."""
    return pd.concat({"paper 001 — 333 people, AlexNet on ImageNet": format_table2(rating.PAPER_TABLE2),
                      f"here — {n_observers} observers, AlexNet on {data_name}": format_table2(ours)})


def table2_words(ours: pd.DataFrame) -> str:
    """The chapter's Table 2 in words, one bullet per layer (markdown)."""
    lines = []
    for layer, r in ours.iterrows():
        line = (f"* **{layer}**: {r.yes_share:.0f}% of the answers were \"yes\"; {r.consistent_share:.0f}% of the "
                f"{int(r.n_units)} units were consistently interpretable (≥ 80% \"yes\")")
        if r.n_consistent:
            line += (f"; for {r.top_class_overlap:.0f}% of those the agreed object was the unit's top class, for "
                     f"{r.ccmas_overlap:.0f}% its CCMAS class")
        lines.append(line + ".")
    return "In words, for this network and these observers:\n\n" + "\n".join(lines)


def interpretable_note(sel: pd.DataFrame) -> str | None:
    """The interpretable hidden units' top-class selectivity against the paper's finding (markdown), or None
    when no hidden unit was interpretable."""
    hidden = [layer for layer in sel.index if layer != "fc8" and sel.loc[layer, "n_interpretable"] > 0]
    if not hidden:
        return None
    return "Top-class selectivity of the interpretable hidden units: " + "; ".join(
        f"{layer}: median {sel.loc[layer, 'median_interpretable']:.1%} (all visualised units: "
        f"{sel.loc[layer, 'median_all']:.1%}), highest {sel.loc[layer, 'max_interpretable']:.1%}"
        for layer in hidden) + ". Paper 001 found every interpretable hidden unit below 10%."


def per_unit_table(summ: pd.DataFrame, units_chosen: pd.DataFrame, class_names: Sequence[str]) -> pd.DataFrame:
    """Every rated unit's answers joined with its selectivity, named for the chart's tooltips."""
    per_unit = summ.join(units_chosen, how="inner").reset_index()
    per_unit["unit name"] = per_unit["layer"] + "." + per_unit["unit"].astype(str)
    per_unit["top class"] = [class_names[int(c)] for c in per_unit["top_class"]]
    per_unit["object"] = per_unit["object"].fillna("–")
    return per_unit


def extreme_panels(per_unit: pd.DataFrame, layers: Sequence[str]) -> list[tuple[str, int, str]]:
    """Per layer, the panel the observers agreed on most and the one they agreed on least: ``(layer, unit,
    note)`` for each (one entry when they are the same unit)."""
    out = []
    for layer in layers:
        s = per_unit[per_unit["layer"] == layer].sort_values(["yes_share", "agreement"], ascending=False)
        if len(s) == 0:
            continue
        top, bottom = s.iloc[0], s.iloc[-1]
        out.append((layer, int(top.unit), f"; observers: {top.yes_share:.0%} yes, object *{top.object}*"))
        if bottom.unit != top.unit:
            out.append((layer, int(bottom.unit), f"; observers: {bottom.yes_share:.0%} yes"))
    return out
