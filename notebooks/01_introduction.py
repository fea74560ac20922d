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
# # Local codes, and how to measure them
#
# A unit of a neural network carries a **local code** for a class when its activations for that class are
# *disjoint* from its activations for every other class: all members of the class drive it harder than every
# non-member (an *on* code, a "grandmother cell"), or all of them drive it less (an *off* code). A **distributed**
# code spreads a class over many units, none of which separates it on its own.
#
# This book asks when local codes emerge in feed-forward networks (paper 000), why popular selectivity metrics
# report "selective" units where there are none (paper 001), whether activation-maximisation images are
# interpretable, what a wiring cost does to a layer, and how sparse activations get with depth.
#
# The simplest way to see a local code is a **jitterplot** (Berkeley et al., 1995; used by Bowers et al. and in
# paper 001): one point per example, its activation along *x*, a random *y* so points do not hide each other, and
# a colour per class. A local code is a class whose points stand apart from all others.
#
# This chapter builds a set of hand-made units and shows what each selectivity measure says about them. The measures
# are defined exactly on the [methods page](methods.md); in short, for one unit:
#
# | measure | what it asks | 1.0 means |
# |---|---|---|
# | local code (on/off) | are class *c*'s activations disjoint from all others? | yes, with a positive gap |
# | top-class selectivity (TCS) | what share of the top class lies above every other class's examples? | a local code |
# | precision@100 | what share of the 100 most active examples belong to the most frequent class among them? | the top 100 are one class |
# | CCMAS | $(\mu_c-\mu_{rest})/(\mu_c+\mu_{rest})$ for the class with the highest mean | the unit is silent for all other classes *on average* |

# %% tags=["parameters"]
scale = "book"
n_per_class = None
n_classes = None
n_random_units = None
seed = None

# %% tags=["presets"]
PRESETS = {
    "smoke": {"n_per_class": 100, "n_classes": 10, "n_random_units": 60, "seed": 0},
    "book": {"n_per_class": 100, "n_classes": 10, "n_random_units": 400, "seed": 0},
    "paper": {"n_per_class": 100, "n_classes": 10, "n_random_units": 2000, "seed": 0},
}
CHOICES = {}
# RANGES: inclusive bounds for numbers (lists: every element); "path" must exist, "text" is free
RANGES = {"n_per_class": (1, 10000), "n_classes": (2, 1000), "n_random_units": (0, 100000), "seed": (0, 2_147_483_647)}

# %%
import pandas as pd
from IPython.display import Markdown, display

from localcodes import book, charts
from localcodes.selectivity import local_codes, unit_table
from localcodes.synthetic import A4_EXPECTED, random_units, synthetic_units

P = book.settings(PRESETS, scale, CHOICES, RANGES, n_per_class=n_per_class, n_classes=n_classes,
                  n_random_units=n_random_units, seed=seed)
charts.setup()
acts, labels, names = synthetic_units(P.n_classes, P.n_per_class, P.seed)
class_names = [f"class {c}" for c in range(P.n_classes)]
print(f"{acts.shape[1]} synthetic units, {P.n_classes} classes x {P.n_per_class} examples")

# %% [markdown]
# ## Three cases from paper 001 (Fig. A4)
#
# Paper 001 built three units on 10 classes of 100 points to show that CCMAS does not match intuition:
#
# * **A4a** — a unit that is silent for everything but a single image: CCMAS gives it the maximum score, 1;
# * **A4b** — an archetypal grandmother unit (on for one whole class, off for everything else): also CCMAS 1;
# * **A4c** — every class active, one class 0.1 higher than all others: perfectly separated, yet CCMAS ≈ 0.06.
#
# We compute every measure with `localcodes.selectivity.unit_table` and put the paper's captions beside them.

# %%
table = unit_table(acts, labels, k=100)
table.index = names
ours = table.loc[A4_EXPECTED.index, ["ccmas", "precision", "top_class_selectivity"]]
comparison = pd.concat({"paper 001 (Fig. A4)": A4_EXPECTED, "ours": ours}, axis=1).round(3)
comparison

# %% [markdown]
# The numbers agree with the paper's captions. Precision for A4a is 10.8 % rather than exactly 11 %: 999 examples tie
# at zero for the last 99 places of the top 100, and we share those places out in proportion to the tied
# examples' classes (99 × 99/999 ≈ 9.8 expected examples of the active unit's class, plus the one active image),
# so the result never depends on the order of the rows. The paper rounds to 11 %.

# %% [markdown]
# ## Every measure on every synthetic unit
#
# Five more units complete the picture: an *off* unit (silent for one class only), a unit like paper 001's fc6.1199
# (mostly silent, exponential tail, one class active more often — high precision but not local), a unit with
# **negative** activations (CCMAS leaves [0, 1]; paper 001 §3.2), a distributed unit with overlapping classes, and a
# dead unit (CCMAS undefined: a zero denominator gives NaN, counted separately).

# %%
codes = local_codes(acts, labels)
codes["unit"] = [names[u] for u in codes["unit"]]
summary = table.copy()
summary["local codes"] = [
    ", ".join(f"{r.kind} for class {r.cls}" for r in codes[codes["unit"] == n].itertuples()) or "—" for n in names
]
summary.round(3)

# %% [markdown]
# Reading the table row by row:
#
# * only the grandmother unit, A4c, the off unit and the negative-activation unit carry local codes;
# * **CCMAS** rates the one-active-item unit as highly as the grandmother unit, gives the perfectly separated A4c a
#   near-zero score, and exceeds 1 when activations are negative — its min-max normalised variant
#   (`ccmas_minmax`, activations shifted so the unit's minimum is 0) stays within [0, 1] and calls A4c fully selective;
# * **precision** is blind to everything below the top 100: the exponential unit scores high without being local;
# * **top-class selectivity** equals 1 exactly for on-codes, and is small for everything that is not
#   (it does not see off-codes, which is why we count those separately).

# %% [markdown]
# ## Explore the units
#
# Choose a unit in the dropdown; the panel on the right lists its measures. "highlight" colours the unit's top class
# (the class of its most active example), all classes, or one class of your choice. The plot is interactive in the
# static book as well as in a live notebook.

# %%
charts.jitterplot(acts, labels, unit_names=names, class_names=class_names, table=table.set_axis(range(len(names))),
               title="synthetic units")

# %% [markdown]
# ## Why the distribution matters
#
# CCMAS compares *means*. Paper 001 (App. A3) showed that the non-zero activations of a high-precision AlexNet unit
# follow an exponential, not a normal distribution, so means say little about separation. The histogram below shows
# the same shape for our high-precision unit: most activations are zero, and the rest form a long tail in which the
# top class (class 0) and the rest overlap.

# %%
unit = names.index("high precision, not local")
nonzero = acts[:, unit] > 0
groups = ["class 0" if c == 0 else "other classes" for c in labels[nonzero]]
display(Markdown(f"{(~nonzero).mean():.1%} of its activations are exactly zero."))
charts.histogram(acts[nonzero, unit], groups=groups, bins=30, title="non-zero activations", x_title="activation")

# %% [markdown]
# ## How the measures disagree across a population of units
#
# Hand-made cases are extremes. Below, a population of random units runs from distributed to grandmother-like:
# each unit prefers one class, which is active more often (`p_on`) and more strongly (`shift`) than the others
# (`p_off`), with exponential activations as paper 001 found in AlexNet. Each point is a unit; choose the measure on
# the *x* axis. Top-class selectivity stays near zero for most units that precision and CCMAS call selective; it only
# rises for units that are close to a local code.

# %%
pop_acts, pop_labels, pop_params = random_units(P.n_random_units, P.n_classes, P.n_per_class, P.seed + 1)
pop = unit_table(pop_acts, pop_labels, k=100).join(pop_params)
pop["local code"] = pop.index.isin(local_codes(pop_acts, pop_labels)["unit"])
charts.measure_scatter(pop, ["precision", "ccmas", "ccmas_minmax"], color="local code",
                    tooltip=["p_on", "p_off", "shift"], title=f"{P.n_random_units} random units")

# %%
agree = pd.DataFrame({
    "share of units": {
        "precision > 0.75 (a Zhou et al. 'object detector')": (pop["precision"] > 0.75).mean(),
        "CCMAS > 0.8": (pop["ccmas"] > 0.8).mean(),
        "top-class selectivity > 0.5": (pop["top_class_selectivity"] > 0.5).mean(),
        "local code (on or off)": pop["local code"].mean(),
    }
})
agree["share of units"] = agree["share of units"].map("{:.1%}".format)
classes_agree = (pop["precision_class"] == pop["ccmas_class"]).mean()
display(agree)
display(Markdown(f"Precision and CCMAS name the same class for {classes_agree:.0%} of the units."))

# %% [markdown]
# The rest of the book applies these measures to networks trained on structured codes (the local-codes chapters),
# to an AlexNet-architecture network, and to layers shaped by a wiring cost.
