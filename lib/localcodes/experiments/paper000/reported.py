"""What paper 000 (Local codes in neural networks) reports, transcribed so the chapters can show it beside ours.

Most of the paper's results are figures without printed values, so for those we keep the *claims* its text makes
(``CLAIMS``) and the few values it does print: the Fig. 7a fits, Table 1 (the training conditions of experiment
11) with the contrasts its text draws, Table 2 (dropout), Tables 3–7 (KS tests), Tables 9 and 10 (digits with
hot-pixel invariants) and Table 11 (LCs against test accuracy). ``FINDINGS`` are the seven findings of its §1.1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# The paper's statements about each figure (figures print no numbers).
CLAIMS = {
    "fig2a": "LCs peak at n_HLN = 1000 for the standard code (n_x = 500); the share of hidden units that are LCs "
             "peaks at n_HLN = 500. Fewer training examples (n_x = 250) give more LCs.",
    "fig2b": "Sparser random blocks (S_R = 1/9 < 2/9 < 1/3, i.e. w_R = 50, 100, 150) give more LCs.",
    "fig9": "Little difference between L_x = 300, 500, 700; fewer LCs at L_x = 1000.",
    "fig5a": "Little difference between ReLU and sigmoid, except that the ReLU peak is shifted a little to the "
             "left (smaller n_HLN).",
    "fig5b": "A 1-hot output code gives fewer LCs than the distributed (50-bit, weight-25) code.",
    "fig7a": "LCs decrease with perturbation P of the prototype block and vanish at P = 0.4; fits a − b√P up to "
             "P = 0.4 (R² ≈ 0.98).",
    "table9": "A few LCs emerge only when a whole category carries a fixed invariant (all images, or 2/5/8 "
              "categories); none with 50 % of images, none with Gaussian invariants, none on standard MNIST.",
    "table10": "Invariants cut the epochs needed to reach >99 % training accuracy (10,908 → 222 with all images "
               "coded); Gaussian invariants generally need longer than fixed ones.",
}

# Fig. 7a: fits a − b·√P of the number of LCs against perturbation P, fitted up to P = 0.4.
FIG7A_FITS = pd.DataFrame(
    {"a": [20.62, 19.72], "b": [30.65, 32.29], "r2": [0.984, 0.977]},
    index=pd.Index([500, 1000], name="n_hidden"),
)

# Table 2 (experiment 8, ~250 repeats of experiment 1): mean number of LCs with no dropout.
TABLE2_MEAN_NO_DROPOUT = 18.44

_T9_ROWS = ["standard", "50% of images", "all images", "2 categories", "5 categories", "8 categories"]
# Table 9: mean ± standard error of the number of LCs (10 repeats), "invariant" (fixed) and "Gaussian" codes.
_T9_FIXED = {
    48: ["0±0", "0±0", "1.1±0.26", "0.1±0.09", "0.2±0.19", "1.4±0.03"],
    100: ["0±0", "0±0", "1.5±0.32", "0.1±0.09", "0.8±0.31", "0.9±0.26"],
    500: ["0±0", "0±0", "0.6±0.25", "0.1±0.09", "0.6±0.25", "0.9±0.22"],
}
TABLE9 = pd.DataFrame(
    {**{("fixed", n): v for n, v in _T9_FIXED.items()},
     **{("gaussian", n): ["0±0"] * 6 for n in (48, 100, 500)}},
    index=pd.Index(_T9_ROWS, name="condition"),
)
TABLE9.columns = pd.MultiIndex.from_tuples(TABLE9.columns, names=["mode", "n_hidden"])

# Table 10: average number of epochs to reach > 99 % training accuracy.
TABLE10 = pd.DataFrame(
    {"fixed": [10908, 983.4, 221.7, 1040.9, 494.3, 327.5],
     "gaussian": [10908, 979.9, 460.9, 1025.0, 537.0, 462.3]},
    index=pd.Index(_T9_ROWS, name="condition"),
)


def table9_long() -> pd.DataFrame:
    """Table 9 as rows ``condition, mode, n_hidden, mean, sem`` (numbers parsed from "m±s")."""
    long = TABLE9.stack(["mode", "n_hidden"], future_stack=True).rename("text").reset_index()
    parts = long["text"].str.split("±", expand=True).astype(float)
    long["mean"], long["sem"] = parts[0], parts[1]
    return long.drop(columns="text")


# Experiment 8 (Fig. 10, Tables 3–7) used these dropout rates (in %); Table 2 shows five of them.
DROPOUT_LEVELS = (0, 10, 20, 30, 40, 50, 60, 70, 90)

# Table 2: the number of LCs in ~250 repeats of experiment 1 per dropout rate (%).
TABLE2 = pd.DataFrame(
    {
        0: [8, 34, 18.44, 4.55],
        20: [4, 29, 16.13, 4.19],
        50: [7, 41, 20.65, 4.96],
        70: [15, 57, 34.54, 8.05],
        90: [0, 125, 73.80, 24.53],
    },
    index=pd.Index(["min", "max", "mean", "sd"], name="statistic"),
).rename_axis(columns="dropout %")

# Tables 3–7: two-sample KS tests of each dropout rate against 0, 10, 20, 30 and 40 % (p-values as printed).
_KS_P = {
    0: [1.0, 0.0000489944, 4.749456190224837e-6, 0.0000247196, 0.137226, 0.000251174, 2.4240973576630998e-31,
        1.3379086295029856e-80, 5.31281662567248e-122],
    10: [0.0000489944, 1.0, 0.690898, 0.142326, 0.0134828, 3.9380742948255406e-17, 1.2271320907480274e-46,
         1.9831398445539827e-100, 1.6549287930539336e-133],
    20: [4.749456190224837e-6, 0.690898, 1.0, 0.786929, 0.000721937, 4.513284368522981e-19,
         2.0560842299464827e-58, 2.2951948334897817e-110, 1.2430043593276543e-146],
    30: [0.0000247196, 0.142326, 0.786929, 1.0, 0.0012839, 7.368476097588623e-17, 3.04037573854777e-49,
         5.39288092428949e-91, 3.1672113682285154e-123],
    40: [0.137226, 0.0134828, 0.000721937, 0.0012839, 1.0, 2.476782445216003e-9, 9.405620742296745e-34,
         1.2328533479970469e-77, 1.7803277971274416e-127],
}
KS_PAPER = pd.DataFrame(
    [{"a": ref, "b": b, "p": p} for ref, ps in _KS_P.items() for b, p in zip(DROPOUT_LEVELS, ps, strict=True)]
)
KS_PAPER["result"] = np.where(KS_PAPER["p"] < 0.05, "Reject", "Do not reject")

# Table 11: straight-line fits of the number of LCs against test accuracy (a fraction) over training
# (experiment 10; Figs. 4b and 12). The first gradient is printed "-257^^" in the extracted text: we read it
# as -25.7 (a lost decimal point); App. A.6 says networks left of the peak show "a slight negative
# correlation", which fits the minus sign (see `note`).
TABLE11 = pd.DataFrame(
    {
        "accuracy": ["pattern matching"] * 4 + ["classification"] * 4,
        "n_hidden": [250, 500, 1000, 2000] * 2,
        "gradient": [-25.7, 68.8, 130.7, 174.6, 26.5, 68.7, 123.0, 144.0],
        "intercept": [-0.18, -0.01, 0.82, 2.43, -0.08, -0.001, 0.42, 1.33],
        "r2": [0.23, 0.0002, 0.26, 0.41, 0.23, 6.6e-6, 0.34, 0.50],
        "note": ["printed '-257^^' (text extraction); read as -25.7"] + [""] * 7,
    }
)

# Table 1: the training conditions of experiment 11 (4-layer networks: n_HLN first layer, 250 second, 1-hot
# output). "O-S" is printed as one row ("ReLU, *, *, n_x = 1000, *": tests of softmax, dropout and the three
# stopping rules); O–S below is our reading of that row, one change at a time from M (flagged in `note`).
_T1 = [
    # condition, activation, softmax, dropout, n_x, stopping
    ("A", "sigmoid", False, True, 100, "steps"),
    ("B", "sigmoid", False, False, 100, "val_loss"),
    ("C", "sigmoid", True, False, 100, "steps"),
    ("D", "sigmoid", True, True, 100, "val_loss"),
    ("E", "sigmoid", False, False, 100, "train_acc"),
    ("F", "sigmoid", True, False, 100, "train_acc"),
    ("G", "relu", True, False, 100, "val_loss"),
    ("H", "relu", True, False, 100, "steps"),
    ("I", "relu", True, False, 100, "train_acc"),
    ("J", "relu", False, True, 100, "steps"),
    ("K", "relu", False, False, 100, "val_loss"),
    ("L", "relu", False, False, 100, "train_acc"),
    ("M", "relu", False, False, 1000, "steps"),
    ("N", "relu", False, False, 100, "steps"),
    ("O", "relu", True, False, 1000, "steps"),
    ("P", "relu", False, True, 1000, "steps"),
    ("Q", "relu", False, False, 1000, "val_loss"),
    ("R", "relu", False, False, 1000, "train_acc"),
    ("S", "relu", True, True, 1000, "val_loss"),
]
TABLE1 = pd.DataFrame(_T1, columns=["condition", "activation", "softmax", "dropout", "n_x", "stopping"])
TABLE1["note"] = np.where(TABLE1["condition"].isin(list("OPQRS")), "our reading of the printed 'O-S' row", "")
TABLE1 = TABLE1.set_index("condition")


# Experiment 11: the paper's statements as pairs of Table 1 conditions, "fewer" < "more" (§3, Fig. 6). Each
# row: the factor, the condition expected to have fewer local codes, the one with more, the source.
TABLE1_CONTRASTS = pd.DataFrame(
    [
        ("softmax", "C", "A", "text: C < A"),
        ("softmax", "D", "B", "text: D < B"),
        ("softmax", "F", "E", "text: F < E"),
        ("softmax", "H", "N", "softmax on ReLU nets (our pairing, one change)"),
        ("large training set", "M", "N", "text: L, M, O–S (large data) lose LCs; M vs N is one change"),
        ("early stopping on training accuracy", "L", "N", "finding 6 (one change: stopping rule)"),
        ("early stopping on training accuracy", "F", "C", "finding 6 (one change: stopping rule)"),
        ("early stopping on training accuracy", "I", "H", "finding 6 (one change: stopping rule)"),
        ("ReLU instead of sigmoid", "H", "C", "text: H–S (ReLU) have no local codes (one change)"),
        ("ReLU instead of sigmoid", "L", "E", "text: H–S (ReLU) have no local codes (one change)"),
    ],
    columns=["factor", "fewer", "more", "source"],
)


# The seven findings of paper 000 (§1.1), judged by the findings chapter.
FINDINGS = {
    1: "LCs related to lower within-class variance than between-class variance in input",
    2: "LCs related to a NN internalising a rule",
    3: "No. of LCs related to difficulty of the problem and the computing power of the NN, with different "
       "behaviour for under- and over-resourced NNs",
    4: "Large values of dropout increases LCs",
    5: "LCs correlate with generalisation performance",
    6: "Large data-sets, softmax and aggressive early stopping reduce the number of LCs",
    7: "Monitoring the number of LCs can be useful for figuring out when to stop training",
}
