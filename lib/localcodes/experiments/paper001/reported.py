"""What paper 001 (*Selectivity metrics can overestimate the selectivity of units: a case study on AlexNet*)
reports for Caffe's reference AlexNet on the 721,536 ImageNet-2010 training images it classified correctly, each
number with the table, figure or section it comes from.

Tables 1 and A2 and the class agreement of §3.2 are typed once, in ``localcodes.selectivity.summaries``
(``PAPER001_TABLE1``, ``PAPER001_TABLE_A2``, ``PAPER001_AGREEMENT``); they are collected here with the rest
(Table A1, Figs. 3–5, §2) into one long table, ``reported()``.
"""

from __future__ import annotations

import pandas as pd

from ...selectivity import PAPER001_AGREEMENT, PAPER001_TABLE1, PAPER001_TABLE_A2

__all__ = ["TABLE_A1", "UNITS", "CLASSES", "IMAGES", "IMAGES_PER_CLASS", "FIGURES", "reported", "table_a1"]

# §2: classes, correctly classified images, and the units "selected for analysis" of each layer (of all units);
# the paper does not say how the units were selected
CLASSES = 1000
IMAGES = 721_536
IMAGES_PER_CLASS = IMAGES / CLASSES
UNITS = pd.DataFrame({"analysed": [233, 2738, 2239, 911, 954], "units": [256, 4096, 4096, 1000, 1000]},
                     index=pd.Index(["conv5", "fc6", "fc7", "fc8", "prob"], name="layer"))

# Table A1: extreme units (CCMAS, CCMASN, precision %, top cluster size, TCS %), in the paper's row order
_A1_ROWS = [
    ("top CCMAS", "prob", 322, 0.999921, 0.995384, 100, 963, 97.1),
    ("top CCMAS", "fc8", 393, 1.24357, 1.39617, 95, 29, 3.3),
    ("top CCMAS", "fc7", 31, 0.936767, 0.865305, 11, 1, 0.15),
    ("top CCMAS", "fc6", 582, 0.933832, 0.919425, 1, 1, 0.14),
    ("top CCMAS", "conv5", 78, 0.746763, 0.746346, 5, 1, 0.10),
    ("top precision", "prob", 0, 0.9996680, 0.99316330, 100, 1000, 92.2),
    ("top precision", "fc8", 1, 1.049710, 1.110110, 100, 172, 16.1),
    ("top precision", "fc7", 255, 0.8961654, 0.84108156, 97, 94, 7.6),
    ("top precision", "fc6", 1199, 0.92323, 0.818260, 95, 43, 3.5),
    ("top precision", "conv5", 0, 0.554049430, 0.528534300, 77, 1, 0.1),
    ("top class selectivity", "prob", 322, 0.99964017, 0.99538374, 100, 963, 97.1),
    ("top class selectivity", "fc8", 985, 1.0908700, 1.1929800, 100, 574, 50.0),
    ("top class selectivity", "fc7", 255, 0.8961654, 0.84108156, 97, 94, 7.6),
    ("top class selectivity", "fc6", 1199, 0.92323, 0.818260, 95, 43, 3.5),
    ("top class selectivity", "conv5", 100, 0.68313890, 0.6831976, 56, 9, 1.1),
    ("example", "prob", 11, 0.999876, 0.973243, 100, 1000, 95.2),
    ("example", "fc8", 11, 1.10469, 1.1946, 99, 88, 8.4),
]
TABLE_A1 = pd.DataFrame(_A1_ROWS, columns=["criterion", "layer", "unit", "ccmas", "ccmasn", "precision",
                                           "top_cluster_size", "top_class_selectivity"])

# single numbers of the figures and the text: (source, quantity, layer, value, what the value is)
FIGURES = pd.DataFrame([
    ("Fig. 3", "fc6.1199 precision@100", "fc6", 95.0, "%"),
    ("Fig. 3", "fc6.1199 precision@60", "fc6", 98.3, "%"),
    ("Fig. 3", "fc6.1199 top-class images at exactly 0", "fc6", 5.8, "%"),
    ("Fig. 3", "fc6.1199 top-class mean activation", "fc6", 39.2, "activation"),
    ("Fig. A2", "fc6.1199 images at exactly 0 (all classes)", "fc6", 82.8, "%"),
    ("Fig. 4", "fc8.11 top-class selectivity", "fc8", 8.4, "%"),
    ("Fig. 4", "prob.11 top-class selectivity", "prob", 95.2, "%"),
    ("Fig. 5", "fc7.0 CCMAS (maypole)", "fc7", 0.813, "CCMAS"),
    ("Fig. 5", "fc7.0 CCMAS_2 (chainsaw)", "fc7", 0.808, "CCMAS"),
    ("§3.1", "units with a local code", "all", 0.0, "count"),
], columns=["source", "quantity", "layer", "value", "unit"])


def table_a1() -> pd.DataFrame:
    """Paper 001's Table A1 with ``name`` (``layer.unit``) as in its first column."""
    t = TABLE_A1.copy()
    t.insert(1, "name", t["layer"] + "." + t["unit"].astype(str))
    return t


def reported() -> pd.DataFrame:
    """Every number of paper 001 the AlexNet chapter compares with, one per row: ``source`` (table, figure or
    section), ``quantity``, ``layer``, ``value`` and ``unit`` (%, a fraction, a count, ...)."""
    rows = []
    for col in PAPER001_TABLE1.columns:
        for layer, v in PAPER001_TABLE1[col].items():
            rows.append(("Table 1", f"units with {col}", layer, float(v), "% of units"))
    units = {"ccmas": "CCMAS", "ccmas_minmax": "CCMASN", "precision": "%", "top_cluster_size": "images",
             "top_class_selectivity": "%"}
    for col in PAPER001_TABLE_A2.columns:
        for layer, v in PAPER001_TABLE_A2[col].items():
            rows.append(("Table A2", f"mean {col}", layer, float(v), units[col]))
    for layer, v in PAPER001_AGREEMENT.items():
        rows.append(("§3.2", "top class = CCMAS class", layer, float(v), "% of units"))
    for _, r in TABLE_A1.iterrows():
        name = f"{r['layer']}.{r['unit']} ({r['criterion']})"
        for col in ("ccmas", "ccmasn", "precision", "top_cluster_size", "top_class_selectivity"):
            rows.append(("Table A1", f"{name} {col}", r["layer"], float(r[col]), units.get(col, "CCMASN")))
    for layer, r in UNITS.iterrows():
        rows.append(("§2", "units analysed", layer, float(r["analysed"]), f"of {r['units']}"))
    frame = pd.DataFrame(rows, columns=["source", "quantity", "layer", "value", "unit"])
    return pd.concat([frame, FIGURES], ignore_index=True)
