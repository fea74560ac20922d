"""Chapter 30 (selectivity metrics on an AlexNet-architecture network, after paper 001: *Selectivity metrics can
overestimate the selectivity of units: a case study on AlexNet*): the chapter's data (activation table and unit
tables, cached under the chapter's results folder) and its tables and comparisons with the paper."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import torch

from .. import nets, store
from ..selectivity import (
    PAPER001_AGREEMENT,
    PAPER001_TABLE1,
    PAPER001_TABLE_A2,
    class_agreement,
    extreme_units,
    fit_exponential_vs_normal,
    layer_means,
    threshold_shares,
    unit_table,
)
from ..selectivity.images import ImageFolder
from ..selectivity.tables import measure_table, model_identity, read_table, read_units, record
from ..synthetic import A4_EXPECTED, synthetic_units

__all__ = [
    "CHAPTER",
    "MEASURES",
    "EXTREME_COLUMNS",
    "alexnet_tables",
    "network_summary",
    "measures_long",
    "paper_means_long",
    "table_a2",
    "table_1",
    "precision_by_k",
    "local_code_counts",
    "named_extreme_units",
    "extreme_unit_activations",
    "ccmas_pairs",
    "ccmas_summary",
    "agreement",
    "high_precision_unit",
    "high_precision_text",
    "nonzero_fits",
    "synthetic_a4",
    "paper_scale_means",
    "discussion",
]

CHAPTER = "30_alexnet_selectivity"


def alexnet_tables(
    scale: str = "book",
    layers: list[str] | tuple[str, ...] = nets.LAYER_ORDER,
    ks: tuple[int, ...] = (100, 60),
    split: str = "train",
    weights: str | Path | None = None,
    image_folder: str | Path | None = None,
    input_size: int = 224,
    batch_size: int = 256,
    device=None,
    progress: bool = True,
) -> dict:
    """The AlexNet chapter's data: record the activation table of ``layers`` (correct images only) and measure
    every unit at each precision ``k``; all cached under ``results/<scale>/30_alexnet_selectivity``.

    With ``weights`` and ``image_folder`` (torchvision-format AlexNet weights and an ImageNet-style folder) the
    real network runs on the user's images; otherwise ``nets.trained_alexnet(scale)`` on ``nets.image_data(scale,
    split)``. Returns {"path", "meta", "info", "class_names", "tables": {k: {layer: DataFrame}}, "codes":
    {layer: DataFrame}, "labels"}.
    """
    if (weights is None) != (image_folder is None):
        raise ValueError("give both weights and image_folder (the real AlexNet on your images), or neither")
    folder = store.results_dir(scale, CHAPTER)
    if weights is not None:
        images = ImageFolder(image_folder, size=input_size)
        state = torch.load(weights, map_location="cpu", weights_only=True) if Path(weights).exists() else {}
        fc8 = state.get("classifier.6.weight") if isinstance(state, dict) else None
        model = nets.AlexNet(num_classes=int(fc8.shape[0]) if fc8 is not None else 1000, pool_size=6)
        nets.load_weights(model, weights)
        model = model.to(store.pick_device(device)).eval()
        info = {"dataset": images.name, "source": images.source, "input_size": input_size,
                "classes": images.class_names, "weights": str(weights)}
    else:
        model, info = nets.trained_alexnet(scale, device=device)
        images = nets.image_data(scale, split)
    identity = model_identity(model, **{k: v for k, v in info.items() if k in ("dataset", "weights")})
    tag = f"{identity['weights_sha256'][:12]}_{split if weights is None else 'folder'}"
    path = record(model, list(layers), images, folder / f"activations_{tag}.h5", batch_size=batch_size,
                  device=device, model_info=identity, progress=progress)
    meta = read_table(path)
    tables: dict[int, dict] = {}
    codes: dict[str, pd.DataFrame] = {}
    code_cache = folder / f"local_codes_{tag}.parquet"
    for i, k in enumerate(ks):
        cache = folder / f"units_{tag}_k{k}.parquet"
        if not cache.exists() or (i == 0 and not code_cache.exists()):
            measured = measure_table(path, list(layers), k=min(k, meta["n_rows"]), device=device, progress=progress)
            store.write_parquet(cache, pd.concat({n: t for n, (t, _) in measured.items()}, names=["layer", "unit"]))
            if i == 0:  # local codes do not depend on k
                store.write_parquet(code_cache, pd.concat({n: c for n, (_, c) in measured.items()},
                                                            names=["layer", "row"]))
        both = pd.read_parquet(cache)
        tables[k] = {name: both.loc[name] for name in layers}
    code_frame = pd.read_parquet(code_cache)
    for name in layers:
        present = name in code_frame.index.get_level_values(0)
        codes[name] = (code_frame.loc[name] if present else code_frame.iloc[:0]).reset_index(drop=True)
    with h5py.File(path, "r") as f:
        labels = f["labels"][:]
    class_names = list(images.class_names)
    return {"path": path, "meta": meta, "info": info, "class_names": class_names, "tables": tables,
            "codes": codes, "labels": labels}


# --- the chapter's tables, in its order ---------------------------------------------------------------------------

# the measures of the layer figure: its dropdown label → unit-table column
MEASURES = {"top-class selectivity": "top_class_selectivity", "precision": "precision", "CCMAS": "ccmas"}
# the columns of Table A1 the chapter shows
EXTREME_COLUMNS = ["criterion", "name", "ccmas", "ccmas_minmax", "precision", "precision_class", "top_cluster_size",
                   "top_class_selectivity", "top_class", "ccmas_class"]
A2_COLUMNS = ["ccmas", "ccmas_minmax", "precision", "top_cluster_size", "top_class_selectivity"]


def network_summary(data: dict, split: str, real: bool) -> tuple[pd.DataFrame, str]:
    """The network, the images and the activation table as a one-column table, and a sentence comparing the
    table's size with paper 001's (``data`` from ``alexnet_tables``; ``real``: the user's weights and images)."""
    info, meta = data["info"], data["meta"]
    n_classes = len(data["class_names"])
    rows = {
        "network": "AlexNet (torchvision layout), weights " + str(info.get("weights")) if real else
        f"AlexNet architecture, width x{meta['model'].get('width')} ({meta['model']['parameters']:,} parameters), "
        f"trained here ({info['train_time_s']:.0f} s)",
        "data set": f"{info['dataset']} — {info['source']}",
        "classes": n_classes,
        "input": f"{info['input_size']} x {info['input_size']} px" + ("" if real else ", grey, bilinear resize"),
        "test accuracy": "—" if real else f"{info['test_accuracy']:.1%} on {info['n_test']:,} test images",
        "recorded images": f"{meta['n_images']:,} ({split if not real else 'folder'})",
        "correctly classified (kept)": f"{meta['n_rows']:,} ({meta['n_rows'] / meta['n_images']:.1%})",
        "units per layer": ", ".join(f"{name} {u}" for name, u in meta["units"].items()),
    }
    note = (
        f"Paper 001 recorded **721,536** correctly classified ImageNet images (about 720 per class) on Caffe's "
        f"AlexNet with 1000 classes and 256 / 4096 / 4096 / 1000 / 1000 units; here the table holds "
        f"**{meta['n_rows']:,}** images of **{n_classes}** classes (about {meta['n_rows'] // n_classes:,} per class)."
    )
    return pd.DataFrame({"": list(rows.values())}, index=list(rows)), note


def measures_long(tables: dict[str, pd.DataFrame], layers) -> pd.DataFrame:
    """Every unit's score on each of ``MEASURES`` in long format (layer, unit, col, value, measure); NaN dropped."""
    long = pd.concat(
        [tables[name].reset_index().assign(layer=name) for name in layers], ignore_index=True
    ).melt(id_vars=["layer", "unit"], value_vars=list(MEASURES.values()), var_name="col", value_name="value")
    long["measure"] = long["col"].map({v: k_ for k_, v in MEASURES.items()})
    return long.dropna(subset=["value"])


def paper_means_long(layers) -> pd.DataFrame:
    """Paper 001's layer means (Table A2) of ``MEASURES`` in long format, as fractions (layer, col, value,
    measure)."""
    paper_means = PAPER001_TABLE_A2.reset_index().melt(id_vars="layer", var_name="col", value_name="value")
    paper_means = paper_means[paper_means["col"].isin(MEASURES.values())].copy()
    pct = paper_means["col"].isin(["precision", "top_class_selectivity"])
    paper_means.loc[pct, "value"] /= 100
    paper_means["measure"] = paper_means["col"].map({v: k_ for k_, v in MEASURES.items()})
    return paper_means[paper_means["layer"].isin(layers)]


def table_a2(tables: dict[str, pd.DataFrame], labels, layers) -> tuple[pd.DataFrame, str]:
    """Table A2 (layer means) beside paper 001's, and its caption (which counts the dead units per layer)."""
    ours = layer_means(tables, labels)
    paper = PAPER001_TABLE_A2.reindex(layers)
    a2 = pd.concat({"ours": ours[A2_COLUMNS], "paper 001": paper[A2_COLUMNS]}, axis=1).swaplevel(axis=1)[A2_COLUMNS]
    caption = ("**Table A2 — layer means** (precision and top-class selectivity in %; `ccmas_minmax` is the "
               "min-max normalised CCMAS, the paper's CCMASN; dead units — NaN CCMAS — left out of the CCMAS "
               "means: " + ", ".join(f"{n} {int(v)}" for n, v in ours["dead units"].items()) + ")")
    return a2, caption


def table_1(tables: dict[str, pd.DataFrame], layers) -> pd.DataFrame:
    """Table 1 (% of units over the usual thresholds) beside paper 001's."""
    ours = threshold_shares(tables)
    t1 = pd.concat({"ours": ours, "paper 001": PAPER001_TABLE1.reindex(layers)}, axis=1)
    return t1.swaplevel(axis=1)[list(ours.columns)]


def precision_by_k(tables_by_k: dict[int, dict[str, pd.DataFrame]], layers, ks) -> pd.DataFrame:
    """Mean precision@k (%) per layer for each k."""
    return pd.DataFrame({f"precision@{kk} (%)": {name: 100 * tables_by_k[kk][name]["precision"].mean()
                                                  for name in layers} for kk in ks})


def local_code_counts(codes: dict[str, pd.DataFrame], units: dict[str, int], layers) -> pd.DataFrame:
    """Per layer: on and off codes, the units carrying at least one, and their share (%)."""
    lc = pd.DataFrame({
        name: {"on codes": int((codes[name]["kind"] == "on").sum()),
               "off codes": int((codes[name]["kind"] == "off").sum()),
               "units with a local code": codes[name]["unit"].nunique(),
               "units": units[name]} for name in layers}).T
    lc["share of units (%)"] = (100 * lc["units with a local code"] / lc["units"]).round(2)
    return lc


def named_extreme_units(tables: dict[str, pd.DataFrame], labels, class_names) -> pd.DataFrame:
    """Table A1 (``extreme_units``) with class names instead of class ids."""
    ext = extreme_units(tables, labels)
    for col in ("top_class", "precision_class", "ccmas_class", "ccmas2_class"):
        ext[col] = ext[col].astype(int).map(lambda c: class_names[c])
    return ext


def extreme_unit_activations(path, tables: dict[str, pd.DataFrame], ext: pd.DataFrame, layers
                             ) -> tuple[np.ndarray, list[str], pd.DataFrame]:
    """The extreme units' activations over all rows of the table, their names (``layer.unit (criterion)``) and
    their unit-table rows, layer by layer."""
    names, blocks, rows = [], [], []
    for name in layers:
        chosen = ext[ext["layer"] == name].drop_duplicates("unit")
        units = chosen["unit"].astype(int).tolist()
        acts, _ = read_units(path, name, units)
        blocks.append(acts)
        rows.append(tables[name].loc[units])
        names += [f"{name}.{u} ({c})" for u, c in zip(units, chosen["criterion"], strict=True)]
    return np.concatenate(blocks, axis=1), names, pd.concat(rows, ignore_index=True)


def ccmas_pairs(tables: dict[str, pd.DataFrame], layers) -> pd.DataFrame:
    """CCMAS and CCMAS_2 of every live unit (unit, ccmas, ccmas2, layer)."""
    return pd.concat([tables[name][["ccmas", "ccmas2"]].assign(layer=name) for name in layers]).dropna().reset_index()


def ccmas_summary(tables: dict[str, pd.DataFrame], layers) -> pd.DataFrame:
    """Per layer: mean CCMAS and CCMAS_2, and the share of units with CCMAS_2 > 0.5 and with CCMAS > 1 (%)."""
    return pd.DataFrame({name: {"mean CCMAS": tables[name]["ccmas"].mean(),
                                "mean CCMAS_2": tables[name]["ccmas2"].mean(),
                                "units with CCMAS_2 > 0.5 (%)": 100 * (tables[name]["ccmas2"] > 0.5).mean(),
                                "units with CCMAS > 1 (%)": 100 * (tables[name]["ccmas"] > 1).mean()}
                         for name in layers}).T


def agreement(tables: dict[str, pd.DataFrame], n_classes: int) -> pd.DataFrame:
    """How often the measures pick the same class, beside paper 001's top class = CCMAS class figures."""
    agree = class_agreement(tables, n_classes)
    agree["paper 001: TCS class = CCMAS class"] = PAPER001_AGREEMENT.reindex(agree.index)
    return agree


def high_precision_unit(data: dict, tables: dict[str, pd.DataFrame], layers) -> dict:
    """The fc6 unit (else the first layer's) with the highest precision, among equals the lowest top-class
    selectivity (the most misleading "detector"), with its activations over all rows of the table.

    Returns {"layer", "unit", "row" (its unit-table row), "acts" (float64), "cls" (its precision class),
    "in_class" (rows of that class)}.
    """
    hidden = "fc6" if "fc6" in tables else layers[0]
    cand = tables[hidden].reset_index()
    unit = int(cand.sort_values(["precision", "top_class_selectivity", "unit"], ascending=[False, True, True])
               .iloc[0]["unit"])
    row = tables[hidden].loc[unit]
    acts, _ = read_units(data["path"], hidden, [unit])
    cls = int(row["precision_class"])
    return {"layer": hidden, "unit": unit, "row": row, "acts": acts[:, 0].astype(np.float64), "cls": cls,
            "in_class": data["labels"] == cls}


def high_precision_text(u: dict, class_names, k: int) -> str:
    """The high-precision unit's measures and zeros, beside paper 001's fc6.1199."""
    row, a, is_c, name = u["row"], u["acts"], u["in_class"], class_names[u["cls"]]
    return (
        f"**{u['layer']}.{u['unit']}**: precision@{k} {row['precision']:.0%} for *{name}*, top-class selectivity "
        f"{row['top_class_selectivity']:.2%} (top class *{class_names[int(row['top_class'])]}*), CCMAS "
        f"{row['ccmas']:.3f}. Activation exactly 0 for **{(a == 0).mean():.1%}** of all images and "
        f"**{(a[is_c] == 0).mean():.1%}** of the *{name}* images (paper: 82.8% and 5.8%); mean "
        f"activation of the class {a[is_c].mean():.3g} ± {a[is_c].std(ddof=1) / np.sqrt(is_c.sum()):.2g} (s.e.)."
    )


def nonzero_fits(u: dict, class_names) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Exponential vs normal fits to the unit's non-zero activations, of all classes and of its precision class;
    also the values fitted, under the same keys as the fits' first index level."""
    a, is_c = u["acts"], u["in_class"]
    values = {"all classes, non-zero": a[a > 0], f"{class_names[u['cls']]}, non-zero": a[(a > 0) & is_c]}
    fits = pd.concat({key: fit_exponential_vs_normal(v) for key, v in values.items()})
    return fits, values


def synthetic_a4(seed: int) -> dict:
    """Paper 001's hand-made units (App. A4) measured here beside the paper's captions.

    Returns {"comparison", "acts", "labels", "names"}."""
    acts, labels, names = synthetic_units(10, 100, seed)
    table = unit_table(acts, labels, k=100)
    table.index = names
    a4 = table.loc[A4_EXPECTED.index, ["ccmas", "precision", "top_class_selectivity"]]
    return {"comparison": pd.concat({"ours": a4, "paper 001": A4_EXPECTED}, axis=1), "acts": acts,
            "labels": labels, "names": names}


def paper_scale_means() -> tuple[str, pd.DataFrame] | None:
    """Layer means of the stored paper-scale run (its unit-table file name and the table), or None."""
    paper_dir = store.results_dir("paper", CHAPTER, create=False)
    stored = sorted(paper_dir.glob("units_*_k100.parquet")) if paper_dir.exists() else []
    if not stored:
        return None
    both = pd.read_parquet(stored[-1])
    paper_tables = {name: both.loc[name] for name in both.index.get_level_values(0).unique()}
    return stored[-1].name, layer_means(paper_tables)


def _better(fit: pd.DataFrame) -> str:
    return "exponential" if fit.loc["exponential", "aic"] < fit.loc["normal", "aic"] else "normal"


def discussion(data: dict, tables: dict[str, pd.DataFrame], layers, u: dict, fits: pd.DataFrame) -> list[str]:
    """What agrees with paper 001 and what does not, as bullet points computed from this run's tables."""
    meta, class_names = data["meta"], data["class_names"]
    n_classes = len(class_names)
    ours_a2 = layer_means(tables, data["labels"])
    hid = [n for n in ("conv5", "fc6", "fc7") if n in tables]
    ratio_ours = {n: ours_a2.loc[n, "precision"] / max(ours_a2.loc[n, "top_class_selectivity"], 1e-9) for n in hid}
    ratio_paper = {n: PAPER001_TABLE_A2.loc[n, "precision"] / PAPER001_TABLE_A2.loc[n, "top_class_selectivity"]
                   for n in hid}
    n_codes = sum(len(data["codes"][n]) for n in layers)
    fit_all = fits.loc["all classes, non-zero"]
    fit_c = fits.loc[f"{class_names[u['cls']]}, non-zero"]
    row = u["row"]
    return [
        "**Precision and CCMAS against top-class selectivity.** Mean precision is "
        + ", ".join(f"{ratio_ours[n]:.1f}x" for n in hid) + f" the mean top-class selectivity in {', '.join(hid)} "
        "here, against " + ", ".join(f"{ratio_paper[n]:.0f}x" for n in hid) + " in the paper: the same direction, "
        "a smaller factor. With 10 classes the most frequent class among the top 100 images is easily a large share "
        f"(chance alone is {100 / n_classes:.0f}%, not 0.1%), while with about {meta['n_rows'] // n_classes:,} images "
        "per class the top cluster must outrank thousands of images of the other classes.",
        f"**Local codes.** {n_codes} (unit, class) local codes in the recorded layers"
        + (" — as in the paper, which found none." if n_codes == 0 else
           " — the paper found none; a small network separating 10 classes, some very distinct, can carry a few."),
        f"**A high-precision unit.** {u['layer']}.{u['unit']} has precision {row['precision']:.0%} but top-class "
        f"selectivity {row['top_class_selectivity']:.1%}, the pattern of the paper's fc6.1199 (95% and 3.5%).",
        f"**CCMAS above 1** in fc8 for {(tables['fc8']['ccmas'] > 1).mean():.0%} of its units (no ReLU, negative "
        "activations), as paper 001 §3.2 describes; the min-max variant stays in [0, 1]."
        if "fc8" in tables else "fc8 was not recorded.",
        f"**CCMAS_2** is above 0.5 for {(tables[hid[-1]]['ccmas2'] > 0.5).mean():.0%} of {hid[-1]}'s units: a high "
        "CCMAS for one class does not mean the unit ignores the others.",
        f"**Distribution of non-zero activations.** By AIC the {_better(fit_all)} fits all classes' non-zero "
        f"activations better (paper: exponential) and the {_better(fit_c)} fits the unit's precision class better "
        "(paper: roughly normal); Kolmogorov–Smirnov statistics are in the table above.",
        "**Class agreement** between measures is far above the paper's because chance is 10% rather than 0.1% and "
        "the classes are few and well separated.",
    ]
