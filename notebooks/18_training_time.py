# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Local codes over training time (experiment 10)
#
# Paper 000 measured the number of local codes (LCs) of the standard 3-layer network (500-bit prototype codes, 10
# classes, 500 training codewords, 50-bit distributed output, sigmoid, SGD) as it trained, for 250, 500, 1000 and
# 2000 hidden units, together with accuracy on the training set and on a test set of 10,000 fresh codewords. It
# reports (Figs. 3, 4b, 12 and Table 11):
#
# * LCs **increase with training time** for every hidden size (Fig. 3a);
# * the **turning point** of the LC-vs-epoch curve, found by taking differences (Fig. 3b), roughly coincides with
#   the network reaching 100 % classification accuracy on the training data and the asymptote (~95 %) on the
#   test data (Fig. 3c), and with the moment **pattern-matching accuracy** rises above 0 (Fig. 3d) — so
#   "monitoring the rate of LC increase can give a measure of when to stop training";
# * LCs correlate with test accuracy: straight-line fits per hidden size (Table 11) have positive gradients,
#   small or negative correlations left of the peak (n_HLN < 1000) and positive ones at or above it.
#
# Classification accuracy: every output bit within 0.5 of its target; pattern-matching accuracy: every bit within
# 0.1 (see the [methods](methods.md)). Local codes are counted on the correctly classified training examples. No
# external data set is used: the codes are generated (`localcodes.codes.prototype_code`), a fresh code per repeat.

# %% tags=["parameters"]
scale = "book"
hidden_sizes = None
repeats = None
training = None
epochs = None
lr = None
n_checkpoints = None
n_per_class = None
n_test_per_class = None
seed = None

# %% tags=["presets"]
# training: "book" = train.BOOK_DEFAULTS, "paper" = train.PAPER_DEFAULTS; epochs / lr = None keep its values.
PRESETS = {
    "smoke": {"hidden_sizes": [20], "repeats": 1, "training": "book", "epochs": 20, "lr": None, "n_checkpoints": 5,
              "n_per_class": 10, "n_test_per_class": 20, "seed": 0},
    "book": {"hidden_sizes": [100, 250, 500, 1000], "repeats": 2, "training": "book", "epochs": None, "lr": None,
             "n_checkpoints": 30, "n_per_class": 50, "n_test_per_class": 100, "seed": 0},
    "paper": {"hidden_sizes": [250, 500, 1000, 2000], "repeats": 10, "training": "paper", "epochs": None,
              "lr": None, "n_checkpoints": 90, "n_per_class": 50, "n_test_per_class": 1000, "seed": 0},
}
CHOICES = {"training": ["book", "paper"]}

# %%
import altair as alt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display
from scipy import stats

from localcodes import analysis as A
from localcodes import book, paper000, charts
from localcodes import train as T
from localcodes.store import provenance, results_dir, write_json, write_parquet

P = book.settings(PRESETS, scale, hidden_sizes=hidden_sizes, repeats=repeats, training=training, epochs=epochs,
                  lr=lr, n_checkpoints=n_checkpoints, n_per_class=n_per_class, n_test_per_class=n_test_per_class,
                  seed=seed)
charts.setup()
paper000.set_cpu_threads(1)  # small networks: a 2nd thread gains little and is slow on shared cores
CHAPTER = "18_training_time"
OUT = results_dir(P.scale, CHAPTER)
TRAIN = A.training(P.training, epochs=P.epochs, lr=P.lr)
CHECKPOINTS = sorted({int(round(e)) for e in np.linspace(0, TRAIN["epochs"], P.n_checkpoints + 1)})
# book training takes 200-times larger steps for 200 times fewer epochs: show the paper-equivalent epoch too
EPOCH_SCALE = T.BOOK_EPOCH_SCALE if P.training == "book" else 1
BASE = {**TRAIN, "checkpoints": CHECKPOINTS, "n_per_class": P.n_per_class, "n_test_per_class": P.n_test_per_class,
        "seed": P.seed}
display(Markdown(
    f"**Scale `{P.scale}`**: hidden sizes {P.hidden_sizes}, {P.repeats} networks each, {TRAIN['epochs']} epochs of "
    f"{TRAIN['optimizer']} (lr {TRAIN['lr']}, batch {TRAIN['batch_size']}) measured at {len(CHECKPOINTS)} "
    f"checkpoints; {10 * P.n_test_per_class} test codewords. "
    + (f"One book epoch stands for {EPOCH_SCALE} of the paper's (same learning rate × epochs; "
       "`train.BOOK_EPOCH_SCALE`), so the axes also show *paper-equivalent epochs*." if EPOCH_SCALE > 1 else "")))

# %%
history = T.sweep({"hidden": [[h] for h in P.hidden_sizes]}, repeats=P.repeats, store=OUT / "sweep", base=BASE,
                  progress=False)
curves = history[~history["final"] | history["epoch"].isin(CHECKPOINTS)].copy()
curves = curves.drop_duplicates(["width", "repeat", "epoch"], keep="last")
curves["n_hidden"] = curves["width"].astype(int)
curves["paper_epoch"] = curves["epoch"] * EPOCH_SCALE
curves = curves[["n_hidden", "repeat", "data_seed", "epoch", "paper_epoch", "lc_pairs", "lc_units", "train_acc",
                 "test_acc", "train_pm", "test_pm"]].sort_values(["n_hidden", "repeat", "epoch"], ignore_index=True)
write_parquet(OUT / "curves.parquet", curves)  # the findings chapter reads this file
write_json(OUT / "provenance.json", provenance(chapter=CHAPTER, scale=P.scale, parameters=vars(P),
                                               networks=int(curves.groupby(["n_hidden", "repeat"]).ngroups)))
print(f"{curves.groupby(['n_hidden', 'repeat']).ngroups} networks x {len(CHECKPOINTS)} checkpoints")

# %% [markdown]
# ## Fig. 3: local codes, their differences and the accuracies over training
#
# Mean over the repeats of each hidden size (hover for values; click a hidden size in the legend to pick it
# out). (a) local codes; (b) their first differences per epoch, the rate at which local codes appear; (c)
# classification accuracy on the training (solid) and test (dashed) sets; (d) pattern-matching accuracy.
#
# **A caveat on early checkpoints.** Local codes are counted on the training examples the network classifies
# correctly. Early in training only a handful are, and a class with two or three correct examples is easily
# disjoint from the few others: the count spikes for reasons unrelated to what the network has learned. We
# therefore read the local-code curve only from the first checkpoint at which a network classifies at least half
# of its training set (`MIN_ACC` below): earlier points are drawn hollow in (a) and left out of (b) and of the
# turning points.

# %%
MIN_ACC = 0.5
curves["lc_read"] = curves["lc_pairs"].where(curves["train_acc"] >= MIN_ACC)
mean = curves.groupby(["n_hidden", "epoch", "paper_epoch"], as_index=False)[
    ["lc_pairs", "lc_read", "train_acc", "test_acc", "train_pm", "test_pm"]].mean()
mean["read"] = mean["train_acc"] >= MIN_ACC
mean["d_lc"] = mean.groupby("n_hidden")["lc_read"].diff() / mean.groupby("n_hidden")["epoch"].diff()
acc = mean.melt(id_vars=["n_hidden", "epoch", "paper_epoch"], value_vars=["train_acc", "test_acc", "train_pm",
                "test_pm"], var_name="measure", value_name="accuracy")
acc["set"] = np.where(acc["measure"].str.startswith("train"), "train", "test")
acc["kind"] = np.where(acc["measure"].str.endswith("_pm"), "pattern matching", "classification")
sel = alt.selection_point(fields=["n_hidden"], bind="legend")
col = alt.Color("n_hidden:N", title="hidden units")
op = alt.condition(sel, alt.value(1), alt.value(0.15))
ex = alt.X("epoch:Q", title="epoch")
tip = ["n_hidden:N", "epoch:Q", "paper_epoch:Q"]
W, H = 250, 170
fa = alt.layer(
    alt.Chart(mean).mark_line().encode(x=ex, y=alt.Y("lc_pairs:Q", title="local codes"), color=col, opacity=op),
    alt.Chart(mean).mark_point(size=30).encode(
        x=ex, y="lc_pairs:Q", color=col, opacity=op, fill=alt.condition("datum.read", col, alt.value("white")),
        tooltip=[*tip, alt.Tooltip("lc_pairs:Q", format=".1f"), alt.Tooltip("train_acc:Q", format=".2f")]),
).properties(width=W, height=H, title="(a) local codes (hollow: < 50 % of training set correct)").add_params(sel)
fb = alt.Chart(mean.dropna(subset=["d_lc"]), width=W, height=H, title="(b) differences").mark_line(
    point=True).encode(x=ex, y=alt.Y("d_lc:Q", title="Δ local codes per epoch"), color=col, opacity=op,
                       tooltip=[*tip, alt.Tooltip("d_lc:Q", format=".3f")])
dash = alt.StrokeDash("set:N", title="set", sort=["train", "test"])
fc = alt.Chart(acc[acc["kind"] == "classification"], width=W, height=H,
               title="(c) classification accuracy").mark_line().encode(
    x=ex, y=alt.Y("accuracy:Q"), color=col, strokeDash=dash, opacity=op,
    tooltip=[*tip, "set:N", alt.Tooltip("accuracy:Q", format=".3f")])
fd = alt.Chart(acc[acc["kind"] == "pattern matching"], width=W, height=H,
               title="(d) pattern-matching accuracy").mark_line().encode(
    x=ex, y=alt.Y("accuracy:Q"), color=col, strokeDash=dash, opacity=op,
    tooltip=[*tip, "set:N", alt.Tooltip("accuracy:Q", format=".3f")])
alt.vconcat(alt.hconcat(fa, fb), alt.hconcat(fc, fd))

# %%
read = curves.dropna(subset=["lc_read"]).groupby(["n_hidden", "repeat"])
first_last = read.agg(first=("lc_read", "first"), last=("lc_read", "last"))
rising = (first_last["last"] > first_last["first"]).mean() if len(first_last) else float("nan")
display(Markdown(
    f"From the first checkpoint with ≥ {MIN_ACC:.0%} training accuracy to the end of training, local codes increase "
    f"for **{rising:.0%}** of the {len(first_last)} networks that get there (the paper: they increase with training "
    "time for all hidden sizes)."))

# %% [markdown]
# ## Turning points
#
# For each network: the **turning point** of its local-code curve (read from the first checkpoint with at least
# half of the training set correct) — after the steepest rise, the first checkpoint at which the rate of increase
# (a centred 3-checkpoint moving average, then first differences) has fallen to half its peak
# (`analysis.turning_point`); the first epoch with training classification accuracy ≥ 99 %; the first
# epoch with test accuracy within one point of its final value (the asymptote); and the first epochs with
# pattern-matching accuracy above 0 on the training and test sets. The paper: these roughly coincide.

# %%
rows = []
for (h, r), g in curves.groupby(["n_hidden", "repeat"]):
    x = g["epoch"].to_numpy(float)
    ok = g.dropna(subset=["lc_read"])
    rows.append({
        "n_hidden": h, "repeat": r,
        "turning_point": A.turning_point(ok["epoch"].to_numpy(float), ok["lc_read"], frac=0.5, window=3)
        if len(ok) >= 3 else np.nan,
        "train_acc_99": A.first_reach(x, g["train_acc"], 0.99),
        "test_asymptote": A.first_reach(x, g["test_acc"], g["test_acc"].iloc[-1] - 0.01),
        "train_pm_above_0": A.first_reach(x, g["train_pm"], 0.0, strict=True),
        "test_pm_above_0": A.first_reach(x, g["test_pm"], 0.0, strict=True),
        "final_lc": g["lc_pairs"].iloc[-1], "epochs": x.max(),
    })
turning = pd.DataFrame(rows)
write_parquet(OUT / "turning.parquet", turning)  # the findings chapter reads this file
turning.groupby("n_hidden")[["turning_point", "train_acc_99", "test_asymptote", "train_pm_above_0",
                             "test_pm_above_0"]].median().mul(EPOCH_SCALE if EPOCH_SCALE > 1 else 1).round(0) \
    .rename_axis(index="hidden units (median, paper-equivalent epochs)")

# %%
both = turning.dropna(subset=["turning_point", "train_acc_99"])
found = turning["turning_point"].notna().mean()
text = [f"A turning point was found for **{found:.0%}** of the networks."]
if len(both) >= 3 and both["turning_point"].nunique() > 1 and both["train_acc_99"].nunique() > 1:
    rho = stats.spearmanr(both["turning_point"], both["train_acc_99"])
    text.append(f"Across networks, the turning point and the epoch of 99 % training accuracy have Spearman "
                f"ρ = {rho.statistic:.2f} (p = {rho.pvalue:.2g}, {len(both)} networks).")
if len(both):
    gap = (both["turning_point"] - both["train_acc_99"]) / both["epochs"]
    text.append(f"The turning point comes a median **{gap.median():+.0%}** of the training run after the network "
                "reaches 99 % training accuracy (negative: before).")
display(Markdown(" ".join(text)))

# %% [markdown]
# ## Table 11 and Figs. 4b, 12: local codes against test accuracy
#
# Every checkpoint of every network is a point (repeated measurements of the same networks as they train, as in the
# paper); one straight line per hidden size, number of local codes = gradient × accuracy + intercept, accuracy as a
# fraction (`scipy.stats.linregress`). We fit twice: on every checkpoint (as the paper's description reads) and on
# the checkpoints where the network classifies at least half of its training set (the reading rule above), which
# drops the early spikes of local codes counted on a handful of examples; the second fit is the one the findings
# chapter uses. The paper's Table 11 beside ours.

# %%
long = curves.melt(id_vars=["n_hidden", "repeat", "epoch", "lc_pairs", "train_acc"],
                   value_vars=["test_acc", "test_pm"], var_name="which", value_name="test accuracy")
long["accuracy"] = long["which"].map({"test_acc": "classification", "test_pm": "pattern matching"})
long["read"] = long["train_acc"] >= MIN_ACC
fits = pd.concat([
    A.fits_by(long[long["read"]], ["accuracy", "n_hidden"], "test accuracy", "lc_pairs").assign(
        checkpoints=f"train acc >= {MIN_ACC:.0%}"),
    A.fits_by(long, ["accuracy", "n_hidden"], "test accuracy", "lc_pairs").assign(checkpoints="all"),
], ignore_index=True)
write_parquet(OUT / "fits.parquet", fits)  # the findings chapter reads this file (the first `checkpoints` kind)
t11 = fits.merge(A.TABLE11, on=["accuracy", "n_hidden"], how="outer", suffixes=("", " paper"))
t11 = t11[["accuracy", "n_hidden", "checkpoints", "gradient", "intercept", "r2", "p", "n", "gradient paper",
           "intercept paper", "r2 paper", "note"]].sort_values(["accuracy", "n_hidden", "checkpoints"])
t11 = t11.round({"gradient": 1, "intercept": 2, "r2": 3})
t11["n"] = t11["n"].astype("Int64")
t11["p"] = t11["p"].map(lambda v: f"{v:.2g}")
t11.astype(object).where(t11.notna(), "").set_index(["accuracy", "n_hidden", "checkpoints"])

# %%
pick_acc = alt.param(name="acc", value="classification",
                     bind=alt.binding_select(options=["classification", "pattern matching"], name="accuracy "))
sel2 = alt.selection_point(fields=["n_hidden"], bind="legend")
pts = alt.Chart(long[long["read"]]).add_params(pick_acc, sel2).mark_circle(size=22, opacity=0.5).encode(
    x=alt.X("test accuracy:Q", title="test accuracy"), y=alt.Y("lc_pairs:Q", title="local codes"),
    color=alt.Color("n_hidden:N", title="hidden units"), opacity=alt.condition(sel2, alt.value(0.6), alt.value(0.05)),
    tooltip=["n_hidden:N", "repeat:Q", "epoch:Q", "lc_pairs:Q", alt.Tooltip("test accuracy:Q", format=".3f")],
).transform_filter("datum.accuracy == acc")
lines = alt.Chart(long[long["read"]]).transform_filter("datum.accuracy == acc").transform_regression(
    "test accuracy", "lc_pairs", groupby=["n_hidden"]).mark_line().encode(
    x="test accuracy:Q", y="lc_pairs:Q", color="n_hidden:N", opacity=alt.condition(sel2, alt.value(1), alt.value(0.1)))
alt.layer(pts, lines).properties(width=480, height=300,
                                 title=f"local codes vs test accuracy (train acc ≥ {MIN_ACC:.0%})")

# %% [markdown]
# ## The local codes of one network at the end of training
#
# The first repeat of the largest hidden size, trained again from its seed (the count is checked against the
# sweep's last checkpoint). Choose a unit in the dropdown.

# %%
h_max = max(P.hidden_sizes)
last = curves[(curves["n_hidden"] == h_max)].sort_values(["repeat", "epoch"]).groupby("repeat").tail(1).iloc[0]
(v,) = A.network_views(OUT / "views.npz", {**BASE, "hidden": [h_max], "checkpoints": []}, int(last["data_seed"]))
assert v["lc_pairs"] == last["lc_pairs"], "the retrained network differs from the sweep's"
acts, labels, which = v["acts"], v["labels"], v["which"]
units, names = A.jitter_units(acts, labels, n_other=3, max_units=12)
display(Markdown(f"{h_max} units after {int(last['epoch'])} epochs: {int(last['lc_pairs'])} local codes; "
                 f"points: {which}."))
charts.jitterplot(acts, labels, units=units, unit_names=names, max_points_per_class=20,
               title=f"{h_max} hidden units, end of training")

# %% [markdown]
# ## Stored `paper`-scale results
#
# `localcodes run 18_training_time --scale paper` (a GPU job) stores its results in
# `results/paper/18_training_time/`; when present, its Table 11 is shown here.

# %%
paper_fits = A.read_result(results_dir("paper", CHAPTER, create=False), "fits.parquet")
if P.scale == "paper":
    display(Markdown("This run *is* the paper-scale run (the figures and tables above)."))
elif paper_fits is None:
    display(Markdown("No paper-scale results are stored yet."))
else:
    display(Markdown("**Paper scale (stored results)**: Table 11"))
    display(paper_fits.merge(A.TABLE11, on=["accuracy", "n_hidden"], how="outer", suffixes=("", " paper")))

# %% [markdown]
# ## Discussion
#
# What to look for: whether local codes rise while the networks train (Fig. 3a), whether their rate of increase
# falls (a turning point) around the time training accuracy saturates, and whether the fits of Table 11 have
# positive gradients. The `book` scale compresses the paper's 45,000 epochs into a few hundred larger steps, so
# the curves are coarser, a turning point can fall between checkpoints, and the fits rest on two networks per
# size rather than the paper's runs; the paper's own R² values are small (0.0002–0.50), so weak fits are not in
# themselves a disagreement.
