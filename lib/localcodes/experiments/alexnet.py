"""Chapter 30 (selectivity metrics on an AlexNet-architecture network, after paper 001: *Selectivity metrics can
overestimate the selectivity of units: a case study on AlexNet*): the chapter's data (activation table and unit
tables, cached under the chapter's results folder) and its tables and comparisons with the paper.

One dead-unit rule throughout: a unit whose activation is the same for every recorded image is dead; the unit
tables carry a ``dead`` column and every measure of a dead unit is NaN, so layer means are over live units (the
number of dead units beside them). The paper's numbers and the claims' verdicts are in ``experiments.paper001``.
"""

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
from ..selectivity.measures import POOLINGS, ccmas_from_stats, class_stats
from ..selectivity.tables import measure_table, model_identity, read_table, read_units, record
from ..synthetic import A4_EXPECTED, synthetic_units
from .paper001 import classes as _classes

__all__ = [
    "CHAPTER",
    "MEASURES",
    "EXTREME_COLUMNS",
    "DATASETS",
    "alexnet_tables",
    "ccmas_pooling",
    "ccmas_pooling_note",
    "network_summary",
    "layer_summary",
    "high_precision_fits",
    "class_count_table",
    "class_count_summary",
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
# the chapter's offline data sets (nets.DATASETS): fractal categories (many classes, the default) or Fashion-MNIST
DATASETS = nets.DATASETS
# the unit-table columns that are class ids, not measures (the one dead-unit rule leaves them)
_CLASS_COLUMNS = ("top_class", "precision_class", "ccmas_class", "ccmas2_class")


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
    dataset: str = "fractals",
) -> dict:
    """The AlexNet chapter's data: record the activation table of ``layers`` (correct images only) and measure
    every unit at each precision ``k``; all cached under ``results/<scale>/30_alexnet_selectivity``.

    With ``weights`` and ``image_folder`` (torchvision-format AlexNet weights and an ImageNet-style folder) the
    real network runs on the user's images; otherwise ``nets.trained_alexnet(scale, dataset=dataset)`` on
    ``nets.image_data(scale, split, dataset)`` (``dataset``: "fractals" or "fashion-mnist"). Every unit table
    has a ``dead`` column (constant activation over the table's rows) and NaN measures for dead units. Returns
    {"path", "meta", "info", "class_names", "tables": {k: {layer: DataFrame}}, "codes": {layer: DataFrame},
    "labels", "dataset"}.
    """
    if (weights is None) != (image_folder is None):
        raise ValueError("give both weights and image_folder (the real AlexNet on your images), or neither")
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}; got {dataset!r}")
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
        model, info = nets.trained_alexnet(scale, device=device, dataset=dataset)
        images = nets.image_data(scale, split, dataset)
    identity = model_identity(model, **{k: v for k, v in info.items() if k in ("dataset", "weights")})
    tag = f"{identity['weights_sha256'][:12]}_{split if weights is None else 'folder'}"
    # the unit tables also depend on the measures' code: a change there measures again
    measured_by = store.source_digest("localcodes.selectivity.measures", "localcodes.selectivity.streaming")
    path = record(model, list(layers), images, folder / f"activations_{tag}.h5", batch_size=batch_size,
                  device=device, model_info=identity, progress=progress)
    meta = read_table(path)
    dead = _dead_units(path, list(layers), folder / f"dead_{tag}.parquet")
    tables: dict[int, dict] = {}
    codes: dict[str, pd.DataFrame] = {}
    code_cache = folder / f"local_codes_{tag}.parquet"
    for i, k in enumerate(ks):
        cache = folder / f"units_{tag}_{measured_by}_k{k}.parquet"
        if not cache.exists() or (i == 0 and not code_cache.exists()):
            measured = measure_table(path, list(layers), k=min(k, meta["n_rows"]), device=device, progress=progress)
            store.write_parquet(cache, pd.concat({n: t for n, (t, _) in measured.items()}, names=["layer", "unit"]))
            if i == 0:  # local codes do not depend on k
                store.write_parquet(code_cache, pd.concat({n: c for n, (_, c) in measured.items()},
                                                            names=["layer", "row"]))
        both = pd.read_parquet(cache)
        tables[k] = {name: _dead_rule(both.loc[name], dead[name]) for name in layers}
    code_frame = pd.read_parquet(code_cache)
    for name in layers:
        present = name in code_frame.index.get_level_values(0)
        codes[name] = (code_frame.loc[name] if present else code_frame.iloc[:0]).reset_index(drop=True)
    with h5py.File(path, "r") as f:
        labels = f["labels"][:]
    class_names = list(images.class_names)
    return {"path": path, "meta": meta, "info": info, "class_names": class_names, "tables": tables,
            "codes": codes, "labels": labels, "dataset": None if weights is not None else dataset}


def _dead_units(path: Path, layers: list[str], cache: Path) -> dict[str, np.ndarray]:
    """Per layer, the units whose activation is the same on every row of the table (bool), streamed in bands."""
    if cache.exists():
        frame = pd.read_parquet(cache)
        if set(layers) <= set(frame["layer"]):
            return {n: frame.loc[frame["layer"] == n, "dead"].to_numpy(bool) for n in layers}
    out = {}
    with h5py.File(path, "r") as f:
        for name in layers:
            ds = f["acts"][name]
            lo = np.full(ds.shape[1], np.inf)
            hi = np.full(ds.shape[1], -np.inf)
            for i in range(0, ds.shape[0], 8192):
                band = ds[i : i + 8192]
                lo, hi = np.minimum(lo, band.min(0)), np.maximum(hi, band.max(0))
            out[name] = hi == lo
    store.write_parquet(cache, pd.concat([pd.DataFrame({"layer": n, "unit": np.arange(len(d)), "dead": d})
                                          for n, d in out.items()], ignore_index=True))
    return out


def _dead_rule(table: pd.DataFrame, dead: np.ndarray) -> pd.DataFrame:
    """The unit table with a ``dead`` column and every measure of a dead unit NaN."""
    t = table.copy()
    t["dead"] = np.asarray(dead, dtype=bool)
    measures = [c for c in t.columns if c not in _CLASS_COLUMNS and c != "dead"]
    t.loc[t["dead"], measures] = np.nan
    return t


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
        "input": f"{info['input_size']} x {info['input_size']} px" + ("" if real else (
            ", colour" if info.get("in_channels", 1) == 3 else ", grey") + ", bilinear resize"),
        "test accuracy": "—" if real else f"{info['test_accuracy']:.1%} on {info['n_test']:,} test images",
        "recorded images": f"{meta['n_images']:,} ({split if not real else 'folder'})",
        "correctly classified (kept)": f"{meta['n_rows']:,} ({meta['n_rows'] / meta['n_images']:.1%})",
        "units per layer": ", ".join(f"{name} {u}" for name, u in meta["units"].items()),
    }
    note = (
        f"Paper 001 recorded **721,536** correctly classified ImageNet images (about 720 per class) on Caffe's "
        f"AlexNet with 1000 classes and 256 / 4096 / 4096 / 1000 / 1000 units; here the table holds "
        f"**{meta['n_rows']:,}** images of **{n_classes}** classes (about {meta['n_rows'] // n_classes:,} per class)."
        + ("" if real or "n_train" not in info else f" The network was trained on {info['n_train']:,} images "
           f"(training accuracy {info['train_accuracy']:.1%}).")
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
    """Table A2 (layer means over live units) beside paper 001's, and its caption (which counts the dead units
    per layer)."""
    ours = layer_means(tables, labels)
    paper = PAPER001_TABLE_A2.reindex(layers)
    a2 = pd.concat({"ours": ours[A2_COLUMNS], "paper 001": paper[A2_COLUMNS]}, axis=1).swaplevel(axis=1)[A2_COLUMNS]
    dead = {n: int(tables[n]["dead"].sum()) if "dead" in tables[n] else 0 for n in layers}
    caption = ("**Table A2 — layer means over live units** (precision and top-class selectivity in %; "
               "`ccmas_minmax` is our min-max normalised CCMAS, *not* the paper's CCMASN, which exceeds 1 in fc8 "
               "and so is some other normalisation; dead units: " + ", ".join(f"{n} {v}" for n, v in dead.items())
               + ")")
    return a2, caption


def layer_summary(tables: dict[str, pd.DataFrame], labels, layers) -> pd.DataFrame:
    """Per layer: units, dead units, the means of top-class selectivity and precision (%) and CCMAS over live
    units and over all units (a dead unit counted as it measures under the definitions: top-class selectivity 0,
    precision the largest class's share of the images, since all its images tie; CCMAS has a zero denominator or
    is 0 for it, and the all-unit CCMAS mean counts it as 0), beside the units paper 001 analysed."""
    from .paper001.reported import UNITS

    y = np.asarray(labels)
    tie_share = np.bincount(y).max() / len(y)
    rows = {}
    for n in layers:
        t = tables[n]
        dead = t["dead"].to_numpy(bool) if "dead" in t else np.zeros(len(t), bool)
        live = t[~dead]
        rows[n] = {
            "units": len(t), "dead units": int(dead.sum()), "live units": int((~dead).sum()),
            "TCS % (live)": 100 * live["top_class_selectivity"].mean(),
            "TCS % (all)": 100 * t["top_class_selectivity"].fillna(0.0).where(~dead, 0.0).mean(),
            "precision % (live)": 100 * live["precision"].mean(),
            "precision % (all)": 100 * t["precision"].where(~dead, tie_share).mean(),
            "CCMAS (live)": live["ccmas"].mean(),
            "CCMAS (all)": t["ccmas"].where(~dead, 0.0).mean(),
            "paper 001: units analysed": (f"{UNITS.loc[n, 'analysed']:,} of {UNITS.loc[n, 'units']:,}"
                                          if n in UNITS.index else "—"),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("layer")


def table_1(tables: dict[str, pd.DataFrame], layers) -> pd.DataFrame:
    """Table 1 (% of live units over the usual thresholds) beside paper 001's."""
    ours = threshold_shares({n: tables[n][~tables[n]["dead"]] if "dead" in tables[n] else tables[n]
                             for n in layers})
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


def ccmas_pooling(path, layer: str = "fc8", paper_mean: float = 0.996) -> pd.DataFrame:
    """Which CCMAS gives paper 001's fc8 numbers? The layer's CCMAS with the other classes pooled by their means
    (Morcos et al.) and over their images (paper 001's code), over live units: mean, median, share above 1, and the
    mean ratio μ_rest/μ_c that sets it (CCMAS = (1 − r)/(1 + r)); paper 001's fc8 mean 0.996 implies r ≈ 0.002:
    the other classes' mean activation is near 0, wherever the pooling."""
    acts, labels = read_units(path, layer)
    x = torch.from_numpy(np.asarray(acts, dtype=np.float64))
    classes, idx = torch.unique(torch.from_numpy(np.asarray(labels)).to(torch.int64), return_inverse=True)
    stats = class_stats(x, idx, len(classes))
    means = stats.sums / stats.counts[:, None]
    live = (x.max(0).values > x.min(0).values).numpy()
    rows = {}
    for pooling in POOLINGS:
        res = ccmas_from_stats(stats, pooling)
        c = res["ccmas"].numpy()[live]
        top = res["ccmas_idx"]
        mu_c = means.gather(0, top[None]).squeeze(0)
        r = ((1 - res["ccmas"]) / (1 + res["ccmas"])).numpy()[live]  # μ_rest / μ_c, from CCMAS itself
        rows[f"pooled over {pooling}"] = {"units (live)": int(live.sum()), "mean CCMAS": np.nanmean(c),
                                          "median CCMAS": np.nanmedian(c), "CCMAS > 1 (%)": 100 * np.mean(c > 1),
                                          "mean μ_c": float(mu_c.numpy()[live].mean()),
                                          "median μ_rest / μ_c": float(np.nanmedian(r))}
    rows["paper 001 (Table A2)"] = {"mean CCMAS": paper_mean,
                                    "median μ_rest / μ_c": (1 - paper_mean) / (1 + paper_mean)}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = f"{layer} CCMAS"
    return out


def ccmas_pooling_note(table: pd.DataFrame) -> str:
    """What ``ccmas_pooling``'s table says (Markdown), from its numbers."""
    r = table["median μ_rest / μ_c"]
    cls, img, paper = r["pooled over classes"], r["pooled over images"], r["paper 001 (Table A2)"]
    same = abs(cls - img) < 0.1 * max(abs(cls), abs(img), 1e-12)
    text = (f"Median $r$: {cls:.3g} pooled over classes, {img:.3g} pooled over images, against {paper:.3g} "
            "implied by the paper's mean. ")
    text += ("The two poolings nearly agree: the pooling is not what separates this fc8 from the paper's. " if same
             else "The two poolings differ here (the correctly classified images are not balanced over classes). ")
    if min(abs(cls), abs(img)) > 10 * abs(paper):
        sign = "negative" if cls < 0 else "positive"
        text += (f"Both are far from the paper's: the other classes' mean output is {sign} and {abs(cls):.2g} "
                 "times the size of the top class's, where the paper's ImageNet AlexNet has it near 0.")
    else:
        text += "The ratio is near the paper's."
    return text


def agreement(tables: dict[str, pd.DataFrame], n_classes: int) -> pd.DataFrame:
    """How often the measures pick the same class, beside paper 001's top class = CCMAS class figures."""
    agree = class_agreement({n: t[~t["dead"]] if "dead" in t else t for n, t in tables.items()}, n_classes)
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


def high_precision_fits(data: dict, tables: dict[str, pd.DataFrame], layer: str = "fc6", n_units: int = 30
                        ) -> pd.DataFrame:
    """Paper 001's App. A3 on the ``n_units`` live units of ``layer`` with the highest precision (not only the
    top one): per unit its precision, top-class selectivity, the share of images at exactly 0 and the AIC of
    exponential and normal fits to the non-zero activations of all classes and of its precision class (NaN with
    fewer than 3 non-zero values)."""
    t = tables[layer]
    live = t[~t["dead"]] if "dead" in t else t
    top = live.sort_values(["precision", "top_class_selectivity"], ascending=[False, True]).head(n_units)
    if top.empty:
        return pd.DataFrame(columns=["unit", "precision", "top_class_selectivity", "zero_share", "aic_exponential",
                                     "aic_normal", "aic_exponential_class", "aic_normal_class"])
    acts, labels = read_units(data["path"], layer, top.index.to_numpy())
    rows = []
    for j, (unit, r) in enumerate(top.iterrows()):
        a = acts[:, j].astype(np.float64)
        row = {"unit": int(unit), "precision": r["precision"], "top_class_selectivity": r["top_class_selectivity"],
               "zero_share": float((a == 0).mean())}
        for suffix, values in (("", a[a > 0]), ("_class", a[(a > 0) & (labels == int(r["precision_class"]))])):
            fit = fit_exponential_vs_normal(values) if values.size >= 3 else None
            for dist in ("exponential", "normal"):
                row[f"aic_{dist}{suffix}"] = float(fit.loc[dist, "aic"]) if fit is not None else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def class_count_table(data: dict, layers, counts, draws: int = 3, units_per_layer: int = 256, k: int = 100,
                      seed: int = 0) -> pd.DataFrame:
    """Top-class selectivity, precision@k and CCMAS of up to ``units_per_layer`` random live units of each layer,
    measured again on random subsets of ``counts`` classes of the recorded table (``paper001.classes``), cached
    beside the table under ``store.key`` of every setting. Returns ``by_class_count``'s rows with ``layer``."""
    present = len(np.unique(data["labels"]))  # classes with at least one correctly classified image
    counts = sorted({int(c) for c in counts if 3 <= int(c) <= present})
    if not counts:
        raise ValueError(f"no class count of {list(counts)} fits the {present} classes of the table (3 at least)")
    path = Path(data["path"])
    params = {"table": path.name, "layers": list(layers), "counts": counts, "draws": draws,
              "units_per_layer": units_per_layer, "k": k, "seed": seed,
              "code": store.source_digest("localcodes.experiments.paper001.classes",
                                          "localcodes.selectivity.measures")}
    tables = data["tables"][next(iter(data["tables"]))]

    def compute() -> dict[str, pd.DataFrame]:
        rng = np.random.default_rng(seed)
        parts = []
        for name in layers:
            t = tables[name]
            live = t.index[~t["dead"]].to_numpy() if "dead" in t else t.index.to_numpy()
            units = np.sort(rng.choice(live, min(units_per_layer, len(live)), replace=False))
            acts, labels = read_units(path, name, units)
            frame = _classes.by_class_count(acts, labels, counts, draws=draws, k=k, seed=seed)
            frame["unit"] = units[frame["unit"].to_numpy()]
            parts.append(frame.assign(layer=name))
        return {"class_counts": pd.concat(parts, ignore_index=True)}

    return store.cached(path.parent / f"class_counts_{store.key(params)}", params, compute)["class_counts"]


def class_count_summary(ours: pd.DataFrame, synthetic: pd.DataFrame, layers) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The number-of-classes section's numbers: layer means over live units of our network's units
    (``class_count_table``) and of the synthetic units (``paper001.classes.synthetic_by_class_count``) per number
    of classes (series, n_classes, per_class, measure, mean, sd), and paper 001's layer means (Table A2) at its
    1,000 classes in the same format."""
    from .paper001.reported import CLASSES, IMAGES_PER_CLASS

    means = pd.concat([_classes.class_count_means(ours), _classes.class_count_means(synthetic)], ignore_index=True)
    means = means.rename(columns={"layer": "series"})
    rows = []
    for n in [x for x in layers if x in PAPER001_TABLE_A2.index]:
        for col in _classes.MEASURES:
            v = float(PAPER001_TABLE_A2.loc[n, col])
            rows.append({"series": n, "n_classes": CLASSES, "per_class": IMAGES_PER_CLASS, "measure": col,
                         "mean": v / 100 if col != "ccmas" else v, "sd": np.nan})
    return means, pd.DataFrame(rows)


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
    per_class = meta["n_rows"] / n_classes
    coded = [n for n in layers if len(data["codes"][n])]
    return [
        "**Precision and CCMAS against top-class selectivity.** Mean precision is "
        + ", ".join(f"{ratio_ours[n]:.1f}x" for n in hid) + f" the mean top-class selectivity in {', '.join(hid)} "
        "here, against " + ", ".join(f"{ratio_paper[n]:.0f}x" for n in hid) + " in the paper. Top-class "
        "selectivity can never be below 1 / (correct images of the top class), since the most active image counts: "
        f"about {100 / per_class:.2f}% here with about {per_class:,.0f} correct images per class, against 0.14% in "
        f"the paper (about 720 per class); and with {n_classes} classes chance precision is about "
        f"{100 / n_classes:.1f}% against 0.1%. Where the measures sit as the number of classes changes is shown in "
        "the section on the number of classes.",
        f"**Local codes.** {n_codes} (unit, class) local codes in the recorded layers"
        + (" — as in the paper, which found none." if n_codes == 0 else
           f" (in {', '.join(coded)}) — the paper found none, not even in prob."),
        f"**A high-precision unit.** {u['layer']}.{u['unit']} has precision {row['precision']:.0%} but top-class "
        f"selectivity {row['top_class_selectivity']:.1%}, the pattern of the paper's fc6.1199 (95% and 3.5%).",
        f"**CCMAS above 1** in fc8 for {(tables['fc8']['ccmas'] > 1).mean():.0%} of its units (no ReLU, negative "
        "activations), as paper 001 §3.2 describes; our min-max variant stays in [0, 1]."
        if "fc8" in tables else "fc8 was not recorded.",
        f"**CCMAS_2** is above 0.5 for {(tables[hid[-1]]['ccmas2'] > 0.5).mean():.0%} of {hid[-1]}'s units: a high "
        "CCMAS for one class does not mean the unit ignores the others.",
        f"**Distribution of non-zero activations.** For {u['layer']}.{u['unit']}, by AIC the {_better(fit_all)} fits "
        f"all classes' non-zero activations better (paper: exponential) and the {_better(fit_c)} fits the unit's "
        "precision class better (paper: roughly normal); the checks below judge this over many high-precision units.",
        f"**Class agreement** between measures: chance is {100 / n_classes:.1f}% with {n_classes} classes, against "
        "0.1% in the paper.",
    ]
