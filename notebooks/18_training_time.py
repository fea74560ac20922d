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
# training: "book" = engine.BOOK_DEFAULTS, "paper" = engine.PAPER_DEFAULTS; epochs / lr = None keep its values.
PRESETS = {
    "smoke": {"hidden_sizes": [20], "repeats": 1, "training": "book", "epochs": 20, "lr": None, "n_checkpoints": 5,
              "n_per_class": 10, "n_test_per_class": 20, "seed": 0},
    "book": {"hidden_sizes": [100, 250, 500, 1000], "repeats": 2, "training": "book", "epochs": None, "lr": None,
             "n_checkpoints": 30, "n_per_class": 50, "n_test_per_class": 100, "seed": 0},
    "paper": {"hidden_sizes": [250, 500, 1000, 2000], "repeats": 10, "training": "paper", "epochs": None,
              "lr": None, "n_checkpoints": 90, "n_per_class": 50, "n_test_per_class": 1000, "seed": 0},
}
CHOICES = {"training": ["book", "paper"]}
# RANGES: inclusive bounds for numbers (lists: every element); "path" must exist, "text" is free
RANGES = {"hidden_sizes": (1, 10000), "repeats": (1, 1000), "epochs": (1, 100000), "lr": (1e-06, 100.0),
          "n_checkpoints": (2, 1000), "n_per_class": (1, 10000), "n_test_per_class": (1, 10000),
          "seed": (0, 2_147_483_647)}

# %%
import numpy as np
from IPython.display import Markdown, display

from localcodes import book, charts, engine
from localcodes.charts import paper000 as lc_charts
from localcodes.experiments import paper000 as P000
from localcodes.store import results_dir, write_parquet

P = book.settings(PRESETS, scale, CHOICES, RANGES, hidden_sizes=hidden_sizes, repeats=repeats, training=training,
                  epochs=epochs, lr=lr, n_checkpoints=n_checkpoints, n_per_class=n_per_class,
                  n_test_per_class=n_test_per_class, seed=seed)
charts.setup()
P000.set_cpu_threads(1)  # small networks: a 2nd thread gains little and is slow on shared cores
CHAPTER = "18_training_time"
OUT = results_dir(P.scale, CHAPTER)
TRAIN = P000.training(P.training, epochs=P.epochs, lr=P.lr)
CHECKPOINTS = sorted({int(round(e)) for e in np.linspace(0, TRAIN["epochs"], P.n_checkpoints + 1)})
# book training takes 200-times larger steps for 200 times fewer epochs: show the paper-equivalent epoch too
EPOCH_SCALE = engine.BOOK_EPOCH_SCALE if P.training == "book" else 1
BASE = {**TRAIN, "checkpoints": CHECKPOINTS, "n_per_class": P.n_per_class, "n_test_per_class": P.n_test_per_class,
        "seed": P.seed}
display(Markdown(
    f"**Scale `{P.scale}`**: hidden sizes {P.hidden_sizes}, {P.repeats} networks each, {TRAIN['epochs']} epochs of "
    f"{TRAIN['optimizer']} (lr {TRAIN['lr']}, batch {TRAIN['batch_size']}) measured at {len(CHECKPOINTS)} "
    f"checkpoints; {10 * P.n_test_per_class} test codewords. "
    + (f"One book epoch stands for {EPOCH_SCALE} of the paper's (same learning rate × epochs; "
       "`engine.BOOK_EPOCH_SCALE`), so the axes also show *paper-equivalent epochs*." if EPOCH_SCALE > 1 else "")))

# %%
history = engine.sweep({"hidden": [[h] for h in P.hidden_sizes]}, repeats=P.repeats, store=OUT / "sweep",
                       base=BASE, progress=False)
curves = P000.training_curves(history, CHECKPOINTS, EPOCH_SCALE)
P000.save_frames(P.scale, CHAPTER, vars(P), int(curves.groupby(["n_hidden", "repeat"]).ngroups),
                 curves=curves)  # the checks below are built from these curves
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
curves = P000.mark_read(curves, MIN_ACC)
mean, acc = P000.training_means(curves, MIN_ACC)
lc_charts.training_chart(mean, acc)

# %%
rising, n_read = P000.rising_share(curves)
display(Markdown(
    f"From the first checkpoint with ≥ {MIN_ACC:.0%} training accuracy to the end of training, local codes increase "
    f"for **{rising:.0%}** of the {n_read} networks that get there (the paper: they increase with training "
    "time for all hidden sizes)."))

# %% [markdown]
# ## Turning points
#
# For each network: the **turning point** of its local-code curve (read from the first checkpoint with at least
# half of the training set correct) — after the steepest rise, the first checkpoint at which the rate of increase
# (a centred 3-checkpoint moving average, then first differences) has fallen to half its peak
# (`experiments.paper000.turning_point`); the first epoch with training classification accuracy ≥ 99 %; the first
# epoch with test accuracy within one point of its final value (the asymptote); and the first epochs with
# pattern-matching accuracy above 0 on the training and test sets. The paper: these roughly coincide.

# %%
turning = P000.turning_table(curves)
write_parquet(OUT / "turning.parquet", turning)  # the findings chapter reads this file
P000.turning_medians(turning, EPOCH_SCALE)

# %%
display(Markdown(P000.turning_agreement(turning)))

# %% [markdown]
# ## Table 11 and Figs. 4b, 12: local codes against test accuracy
#
# Every checkpoint of every network is a point (repeated measurements of the same networks as they train, as in the
# paper); one straight line per hidden size, number of local codes = gradient × accuracy + intercept, accuracy as a
# fraction (`scipy.stats.linregress`). We fit twice: on every checkpoint (as the paper's description reads) and on
# the checkpoints where the network classifies at least half of its training set (the reading rule above), which
# drops the early spikes of local codes counted on a handful of examples. The paper's Table 11 beside ours. The
# checkpoints of one network are not independent observations, so the p-values of these fits overstate the
# evidence; the test of the claim below uses networks as the unit.

# %%
long, fits = P000.accuracy_fits(curves, MIN_ACC)
write_parquet(OUT / "fits.parquet", fits)  # the findings chapter reads this file (the first `checkpoints` kind)
P000.table11(fits)

# %%
lc_charts.accuracy_fit_chart(long, MIN_ACC)

# %% [markdown]
# ## The paper's claims, tested
#
# With networks as the unit (`experiments.paper000.training_time_checks`, judged with `localcodes.verdicts`), on
# the checkpoints read by the rule above:
#
# * **Fig. 3a** — local codes rise with training: each network's log(1 + local codes) at its last checkpoint
#   against its first read one (one-sided paired test; smallest effect of interest a 25 % change);
# * **finding 5** — local codes go with test accuracy: each network's Spearman ρ between its local codes and its
#   test classification accuracy over its checkpoints, mean ρ above 0 (one-sided; smallest effect of interest
#   ρ = 0.1);
# * **finding 7** — the turning point coincides with 99 % training accuracy: the two epochs, as shares of the
#   run, must agree within ±10 % of the run (an equivalence test over the networks that have both; a network
#   without a turning point drops out, and the row says how many had one).

# %%
checks = P000.training_time_checks(curves, MIN_ACC)
ends = curves.sort_values("epoch").groupby(["n_hidden", "repeat"]).tail(1)
P000.save_chapter(P.scale, CHAPTER, P000.summary_stats(ends, "n_hidden", "lc_pairs").reset_index(), checks,
                  parameters=vars(P), networks=len(ends))
P000.verdict_table(checks)

# %% [markdown]
# ## The local codes of one network at the end of training
#
# The first repeat of the largest hidden size, trained again from its seed (the count is checked against the
# sweep's last checkpoint). Choose a unit in the dropdown.

# %%
h_max = max(P.hidden_sizes)
last = curves[(curves["n_hidden"] == h_max)].sort_values(["repeat", "epoch"]).groupby("repeat").tail(1).iloc[0]
(v,) = P000.network_jitter(OUT / "views.npz", {**BASE, "hidden": [h_max], "checkpoints": []},
                           int(last["data_seed"]), lc_pairs=int(last["lc_pairs"]))
display(Markdown(f"{h_max} units after {int(last['epoch'])} epochs: {int(last['lc_pairs'])} local codes; "
                 f"points: {v['which']}."))
charts.jitterplot(v["acts"], v["labels"], units=v["units"], unit_names=v["names"], max_points_per_class=20,
                  title=f"{h_max} hidden units, end of training")

# %% [markdown]
# ## Stored `paper`-scale results
#
# `localcodes run 18_training_time --scale paper` (a GPU job) stores its results in
# `results/paper/18_training_time/`; when present, its Table 11 is shown here.

# %%
note, stored = P000.paper_scale_results(P.scale, CHAPTER, "fits.parquet", "the figures and tables above",
                                        "Table 11")
display(Markdown(note))
if stored is not None:
    display(stored.merge(P000.TABLE11, on=["accuracy", "n_hidden"], how="outer", suffixes=("", " paper")))

# %% [markdown]
# ## Discussion
#
# What to look for: whether local codes rise while the networks train (Fig. 3a), whether their rate of increase
# falls (a turning point) around the time training accuracy saturates, and whether the fits of Table 11 have
# positive gradients. The `book` scale compresses the paper's 45,000 epochs into a few hundred larger steps, so
# the curves are coarser, a turning point can fall between checkpoints, and the fits rest on two networks per
# size rather than the paper's runs; the paper's own R² values are small (0.0002–0.50), so weak fits are not in
# themselves a disagreement.
