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
# # Selectivity metrics on an AlexNet-architecture network
#
# Paper 001 (*Selectivity metrics can overestimate the selectivity of units: a case study on AlexNet*) put four
# measures of single-unit selectivity side by side on one network: **local codes** (a class's activations
# disjoint from all others), **top-class selectivity** (TCS, the share of the top class above every other class),
# **precision@100** (Zhou et al.: the share of the 100 most active images that belong to their most frequent
# class) and **CCMAS** (Morcos et al.: the contrast of the highest class mean with the mean of the rest). It
# recorded the activations of all 721,536 ImageNet-2010 training images that Caffe's reference AlexNet classified
# correctly, in the layers conv5 (a filter's value is its maximum over space), fc6, fc7 (both after their ReLU),
# fc8 (before the softmax) and prob, and found:
#
# * **no local codes at all**, not even in the prob layer;
# * top-class selectivity well under 1% in the hidden layers (means 0.17–0.23%), while
# * precision (means 9.6–15.4%) and CCMAS (means 0.49–0.85) suggest far more selectivity;
# * CCMAS can exceed 1 when activations are negative (fc8), and a unit's CCMAS for its top-mean class says little
#   about its CCMAS for the next class (CCMAS_2);
# * the measures rarely agree on *which* class a unit prefers in the hidden layers.
#
# The measures are defined exactly on the [methods page](methods.md) and implemented in
# `localcodes.selectivity`; activation tables are recorded by `localcodes.record` (also
# `localcodes record` / `localcodes selectivity` on the command line, for your own network and images).
#
# **What differs here.** ImageNet and the pretrained AlexNet weights cannot be shipped with this book. When you
# give the chapter torchvision-format AlexNet weights and an ImageNet-style folder (`weights`, `image_folder`), it
# runs exactly paper 001's pipeline on them. Otherwise — as in the built book — it trains a network with
# AlexNet's architecture (five conv layers, three fully connected layers, the same layer names, ReLU and dropout
# placement, torchvision's module layout) here, and everything below is measured on that network. Paper 001's
# measures depend on the number of classes and images per class (chance precision is 1 / classes; top-class
# selectivity can never be below 1 / images of the top class), so the default data has many classes:
# **formula-driven fractal categories** in the manner of FractalDB (*Pre-training without Natural Images*), each
# category an iterated function system and its images perturbed, flipped instances of it, generated here in
# colour (`localcodes.data.fractal_images`; `dataset = "fashion-mnist"` gives the former 10-class grey data). At
# the `book` scale the network learns **100 categories from 300 images each**; the `paper` scale trains on
# **1,000 categories with 700 images each**, as in the paper's regime, and is meant for a GPU. The data set and
# the network's size are stated in the next section.

# %% tags=["parameters"]
scale = "book"  # smoke | book | paper
dataset = None  # the offline training data: fractal categories (many classes) or Fashion-MNIST (10 classes)
layers = None  # the layers to record (paper 001's names)
k = None  # precision@k (paper 001: 100)
k_alt = None  # a second k (Zhou et al. used 60)
split = None  # the images the table is recorded on (paper 001: the training set)
weights = None  # torchvision-format AlexNet weights (.pth); needs image_folder
image_folder = None  # ImageNet-style folder <folder>/<class>/<image>; needs weights
input_size = None  # crop size for image_folder: 224 (torchvision) or 227 (Caffe)
points_per_class = None  # jitterplots: points drawn per class (each class's extremes are always kept)
class_counts = None  # numbers of classes the recorded table is subsampled to (those above its classes are skipped)
class_draws = None  # random class subsets per number of classes
class_units = None  # units per layer measured on the subsets
synthetic_counts = None  # numbers of classes for the synthetic units
fit_units = None  # high-precision fc6 units whose activation distributions are fitted (App. A3)
seed = None

# %% tags=["presets"]
PRESETS = {
    "smoke": {"dataset": "fractals", "layers": ["conv5", "fc6", "fc7", "fc8", "prob"], "k": 100, "k_alt": 60,
              "split": "train", "weights": None, "image_folder": None, "input_size": 224, "points_per_class": 30,
              "class_counts": [3, 5, 10], "class_draws": 2, "class_units": 32, "synthetic_counts": [3, 10, 30],
              "fit_units": 10, "seed": 0},
    "book": {"dataset": "fractals", "layers": ["conv5", "fc6", "fc7", "fc8", "prob"], "k": 100, "k_alt": 60,
             "split": "train", "weights": None, "image_folder": None, "input_size": 224, "points_per_class": 25,
             "class_counts": [10, 30, 100], "class_draws": 3, "class_units": 256,
             "synthetic_counts": [10, 30, 100, 1000], "fit_units": 30, "seed": 0},
    "paper": {"dataset": "fractals", "layers": ["conv5", "fc6", "fc7", "fc8", "prob"], "k": 100, "k_alt": 60,
              "split": "train", "weights": None, "image_folder": None, "input_size": 227, "points_per_class": 80,
              "class_counts": [10, 30, 100, 1000], "class_draws": 3, "class_units": 512,
              "synthetic_counts": [10, 30, 100, 1000], "fit_units": 100, "seed": 0},
}
CHOICES = {"dataset": ["fractals", "fashion-mnist"], "split": ["train", "test"],
           "layers": ["conv1", "conv2", "conv3", "conv4", "conv5", "pool5", "fc6", "fc7", "fc8", "prob"]}
# RANGES: inclusive bounds for numbers (lists: every element); "path" must exist, "text" is free
RANGES = {"k": (1, 1000000), "k_alt": (1, 1000000), "weights": "path", "image_folder": "path",
          "input_size": (32, 1024), "points_per_class": (1, 100000), "class_counts": (3, 1000),
          "class_draws": (1, 100), "class_units": (1, 100000), "synthetic_counts": (3, 1000),
          "fit_units": (1, 100000), "seed": (0, 2_147_483_647)}

# %%
import time

import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from localcodes import book, charts
from localcodes.charts import alexnet as ax_charts
from localcodes.experiments import abstracts
from localcodes.experiments import alexnet as X
from localcodes.experiments.paper001 import checks as C
from localcodes.experiments.paper001 import classes as K
from localcodes.experiments.paper001 import reported as R
from localcodes.selectivity import summaries as S

P = book.settings(PRESETS, scale, CHOICES, RANGES, dataset=dataset, layers=layers, k=k, k_alt=k_alt, split=split,
                  weights=weights, image_folder=image_folder, input_size=input_size,
                  points_per_class=points_per_class, class_counts=class_counts, class_draws=class_draws,
                  class_units=class_units, synthetic_counts=synthetic_counts, fit_units=fit_units, seed=seed)
charts.setup()
pd.set_option("display.max_colwidth", None)  # the verdict table holds sentences
start = time.perf_counter()
D = X.alexnet_tables(P.scale, P.layers, ks=(P.k, P.k_alt), split=P.split, weights=P.weights,
                     image_folder=P.image_folder, input_size=P.input_size, progress=False, dataset=P.dataset)
meta, labels, class_names = D["meta"], D["labels"], D["class_names"]
T = D["tables"][P.k]
print(f"activation table ready in {time.perf_counter() - start:.1f} s: {D['path'].name}")

# %% [markdown]
# ## The network, the images and the activation table

# %%
network, note = X.network_summary(D, P.split, real=P.weights is not None)
display(network)
display(Markdown(note))

# %% [markdown]
# ## How selective are the layers? (paper 001, Fig. 2 and Table A2)
#
# One point per unit would be too many to read, so the figure shows each layer's distribution as a box (the
# whiskers span the whole range) and its mean as a black diamond; the red bar is paper 001's layer mean
# (Table A2). Choose the measure in the dropdown.

# %%
ax_charts.layer_measures(X.measures_long(T, P.layers), X.paper_means_long(P.layers), P.layers, list(X.MEASURES))

# %%
a2, caption = X.table_a2(T, labels, P.layers)
display(Markdown(caption))
display(a2.round(3))

# %% [markdown]
# **Dead units and which units a mean is over.** A unit whose activation is the same for every recorded image is
# *dead*; every measure of it is undefined (NaN), one rule for all measures, and the layer means above are over
# the live units. Counting a dead unit anyway changes the means — top-class selectivity 0 and precision equal to
# the largest class's share of the images (all its images tie), CCMAS 0 — which is why the two are shown side by
# side below. Paper 001 says only that it "selected" 233 of 256 conv5, 2,738 of 4,096 fc6, 2,239 of 4,096 fc7, 911
# of 1,000 fc8 and 954 of 1,000 prob units for analysis, not how; its means are over those units.

# %%
X.layer_summary(T, labels, P.layers).round(3)

# %% [markdown]
# ## How many units pass the usual thresholds? (paper 001, Table 1)
#
# Zhou et al. called a unit an object detector at precision > 75%; Morcos et al. read CCMAS near 1 as highly
# selective. The table gives the share of each layer's live units (%) over those thresholds, and over 5% top-class
# selectivity, beside the paper's AlexNet figures (over the units it analysed).

# %%
X.table_1(T, P.layers).round(1)

# %% [markdown]
# Precision with k = 100 (the paper's choice) and with k = 60 (Zhou et al.'s), layer means in %:

# %%
X.precision_by_k(D["tables"], P.layers, (P.k, P.k_alt)).round(2)

# %% [markdown]
# ## Local codes
#
# Paper 001 found no local codes in any layer of AlexNet. Here are the (unit, class) pairs whose activations are
# disjoint from all other classes, and how many units carry at least one:

# %%
X.local_code_counts(D["codes"], meta["units"], P.layers)

# %% [markdown]
# ## The extreme units (paper 001, Table A1)
#
# For every layer, the unit with the highest CCMAS, the highest precision and the highest top-class selectivity
# (the lowest unit number wins ties), with all its measures. `top_cluster_size` is the number of top-class images
# above every image of every other class.

# %%
ext = X.named_extreme_units(T, labels, class_names)
ext[X.EXTREME_COLUMNS].round(4)

# %% [markdown]
# The paper's Table A1 for comparison (AlexNet on ImageNet; precision and top-class selectivity in %; CCMASN is
# the paper's normalised CCMAS, whose normalisation the paper does not define):

# %%
R.table_a1().drop(columns=["layer", "unit"])

# %% [markdown]
# ## Jitterplots of the extreme units
#
# Each point is one correctly classified image: its activation along *x*, a random height, coloured by class.
# Choose a unit (layer.unit and why it is listed) in the first dropdown; the second highlights the unit's top
# class, all classes, or any one class. The panel on the right gives the unit's measures, computed on **all**
# images; the plot draws a sample of each class (always including each class's lowest and highest point, so
# overlaps stay visible).

# %%
jit_acts, jit_names, jit_table = X.extreme_unit_activations(D["path"], T, ext, P.layers)
charts.jitterplot(jit_acts, labels, unit_names=jit_names, class_names=class_names, table=jit_table, k=P.k,
                  max_points_per_class=P.points_per_class, seed=P.seed, title="extreme units")

# %% [markdown]
# ## CCMAS against CCMAS_2 (paper 001, Fig. 5)
#
# If a high CCMAS meant that a unit responds to one class, the class with the *second* highest mean should score
# low. Paper 001 found the two close together for many units (fc7.0: 0.813 for "maypole", 0.808 for "chainsaw").
# Each point is a unit; points near the diagonal are as "selective" for a second class as for the first.

# %%
ax_charts.ccmas_vs_ccmas2(X.ccmas_pairs(T, P.layers), P.layers)

# %%
X.ccmas_summary(T, P.layers).round(3)

# %% [markdown]
# CCMAS above 1 happens only where activations can be negative — fc8 has no ReLU — exactly as paper 001 §3.2
# noted. Our min-max normalised CCMAS (`ccmas_minmax`, a variant of ours) stays within [0, 1]; the paper's CCMASN
# is not that, since it exceeds 1 in fc8 (mean 1.003, fc8.393 1.396).
# In fc8 most class means are negative, so the denominator $\mu_c + \mu_{rest}$ can come close to 0 and CCMAS
# takes extreme values of either sign. **Which pooling gives paper 001's fc8 numbers?** Below, fc8's CCMAS with
# the other classes pooled by their means (Morcos et al.'s, used throughout here) and over their images (paper
# 001's code), and the ratio $r = \mu_{rest}/\mu_c$ that sets it ($\text{CCMAS} = (1-r)/(1+r)$): the paper's mean
# 0.996 needs $r \approx 0.002$, i.e. the other classes' mean fc8 output near zero, whichever the pooling. The
# table shows how far ours is from that, and how little the pooling changes it.

# %%
if "fc8" in P.layers:
    pooling_table = X.ccmas_pooling(D["path"], "fc8")
    display(pooling_table.round(3))
    display(Markdown(X.ccmas_pooling_note(pooling_table)))

# %% [markdown]
#
# ## Do the measures agree on the class?
#
# Paper 001 reports that top-class selectivity and CCMAS pick the same class for 0% of conv5, 9.8% of fc6 and
# 83.5% of fc8 units (chance: 0.1% with 1000 classes); chance here is 1 / (our number of classes).

# %%
X.agreement(T, len(class_names)).round(1)

# %% [markdown]
# ## A high-precision unit up close (paper 001, Fig. 3 and App. A3)
#
# Paper 001's fc6.1199 had the highest precision in fc6 (95%: a "monarch butterfly detector"), yet 82.8% of all
# images and 5.8% of the butterflies left it at exactly 0, its butterfly activations covered the whole range,
# and its non-zero activations followed an exponential rather than a normal distribution — so a comparison of
# means (CCMAS) says little. We take the fc6 unit with the highest precision (among equals, the one with the
# lowest top-class selectivity: the most misleading "detector") and look at the same things.

# %%
U = X.high_precision_unit(D, T, P.layers)
display(Markdown(X.high_precision_text(U, class_names, P.k)))
groups = np.where(U["in_class"], class_names[U["cls"]], "all other classes")
charts.histogram(U["acts"], groups=groups, bins=40, log=True, x_title="activation",
                 title=f"{U['layer']}.{U['unit']}: activations of all images (log count)")

# %%
fits, fitted = X.nonzero_fits(U, class_names)
display(fits.round(4))
ax_charts.fit_densities([(fitted[key], fits.loc[key], title)
                         for key, title in zip(fitted, ["all classes", class_names[U["cls"]]], strict=True)])

# %% [markdown]
# A lower AIC and a smaller Kolmogorov–Smirnov statistic mean a better fit. Paper 001 found the non-zero
# activations of all classes exponential and those of the top class roughly normal. One unit proves little, so the
# same fits are made for the fc6 units with the highest precision (`fit_units` of them); the checks below judge
# the paper's claims over these units.

# %%
F = X.high_precision_fits(D, T, "fc6" if "fc6" in P.layers else P.layers[0], P.fit_units)
F.describe().loc[["count", "mean", "min", "max"]].round(3)
#
# ## The synthetic cases (paper 001, App. A4)
#
# Three hand-made units on 10 classes of 100 points, the paper's captions beside our measures (the same code as
# for the network above):

# %%
A4 = X.synthetic_a4(P.seed)
A4["comparison"].round(3)

# %%
charts.jitterplot(A4["acts"][:, :3], A4["labels"], unit_names=A4["names"][:3], title="paper 001, Fig. A4")

# %% [markdown]
# ## How the measures move with the number of classes
#
# Our network has far fewer classes and images than paper 001's AlexNet, so its numbers cannot be laid over the
# paper's without asking how the measures depend on them. We take our one recorded activation table and measure
# `class_units` random live units of each layer again on random subsets of its classes (`class_draws` subsets per
# number of classes; the other classes' images left out), and do the same for synthetic units (`random_units`:
# each prefers one class and is active, exponentially, more often for it; and a grandmother unit, on for all of
# one class and off otherwise) on up to 1,000 classes of 100 images each. Paper 001's layer means (Table A2) sit
# at its 1,000 classes as red diamonds. Choose the measure in the dropdown.

# %%
ours_k = X.class_count_table(D, P.layers, P.class_counts, P.class_draws, P.class_units, P.k, P.seed)
synth_k = K.synthetic_by_class_count(P.synthetic_counts, seed=P.seed)
k_means, k_paper = X.class_count_summary(ours_k, synth_k, P.layers)
ax_charts.class_counts(k_means, k_paper, C.MEASURE_NAMES)

# %%
(k_means.pivot_table(index=["series", "n_classes"], columns="measure", values="mean")
 .rename(columns=C.MEASURE_NAMES).round(4))

# %% [markdown]
# **Why they move.** Top-class selectivity counts the top class's images above the *largest* activation of any
# other class — an extreme that grows with the number of other images — so it falls as classes are added, but
# never below 1 / (images of the top class), because the single most active image always counts. The grandmother
# unit keeps it at 1 at every number of classes: a real local code does not fade with more classes. Precision@100
# asks which class fills the 100 most active images; more classes compete for those places and a class has
# fewer images to offer, so it falls too. CCMAS compares the top class's mean with the mean of the other classes'
# means, which does not depend on the number of classes, so it stays put. Extrapolating our lines to 1,000
# classes is therefore what makes our top-class selectivity and precision comparable with the paper's; CCMAS is
# comparable as it is.
#
# ## Detectors or not? The follow-up study's view
#
# The follow-up study (Gale et al., *Are there any 'object detectors' in the hidden layers of CNNs trained to
# identify objects or scenes?*) asked what precision leaves out: how many of its class a unit finds (hit rate) and
# how many other images it fires for (false alarms). For each unit's precision class, over every threshold:
# **max informedness** (the best hit rate minus false-alarm rate; 1 for a perfect detector), **max F1**, and
# **recall at 100 % and at 95 % precision** (the most of its class a unit finds while at most 0 or 5 % of what it
# fires for is another class). Per layer, over live units and over the units precision calls detectors
# (precision > 75 %):

# %%
S.detector_means(T).round(3)

# %% [markdown]
# ## Paper 001's claims, judged
#
# Each claim of Tables 1, A1, A2 and Figs. 2–5 (and App. A3), tested with `localcodes.verdicts` on this run's
# network. **The unit of analysis is the unit**: the paper's claims are about the units of a layer (their means,
# their shares over a threshold, one measure against another), and those units are the observations its numbers
# summarise. A layer against another layer: Welch's t-test on their live units; two measures of the same units: a
# paired t-test; a layer against a number the paper states: a one-sample t-test (a share is the mean of a 0/1
# indicator per unit); "no local codes": an equivalence test that the share of units with one is within ±1
# percentage point of 0. Dead units are left out. A verdict here speaks for this one network — the units of one
# network are not independent networks — so a reproduction says the paper's pattern holds in this network, not
# in AlexNet on ImageNet; "inconclusive" gives the number of units a side that would decide it.

# %%
checks = C.layer_checks(T, P.layers) + C.unit_checks(T, D["codes"], P.layers, F) + C.detector_checks(T, P.layers)
display(Markdown(C.verdict_lines(checks)))
C.verdict_table(checks)

# %%
C.save_checks(P.scale, X.CHAPTER, checks, X.layer_summary(T, labels, P.layers), dataset=P.dataset,
              classes=len(class_names), images=int(meta["n_rows"]), layers=P.layers, k=P.k)
print(f"checks stored in results/{P.scale}/{X.CHAPTER}/checks.json")
abstracts.save(P.scale, X.CHAPTER, abstracts.paragraph(
    f"Paper 001's selectivity measures (chapter 30: an AlexNet-architecture network on {len(class_names)} classes "
    f"of {P.dataset}; the units of this one network as the unit)", [(c["claim"], c["outcome"]) for c in checks]))

# %% [markdown]
# ## Results at the paper's scale
#
# Results computed at `scale="paper"` (a full-width network trained on 1,000 fractal categories of 700 images
# each at 224 px for 30 epochs: meant for a GPU, not for this book's CPU budget) are stored in `results/paper/30_alexnet_selectivity/` with their provenance and shown here when present.

# %%
stored = X.paper_scale_means()
if P.scale != "paper" and stored:
    display(Markdown(f"**Paper-scale run** (`{stored[0]}`): layer means"))
    display(stored[1].round(3))
else:
    print("no paper-scale results stored" if P.scale != "paper" else "this is the paper-scale run")

# %% [markdown]
# ## What agrees with paper 001, and what does not
#
# The comparison is between two different networks and data sets — Caffe's AlexNet on 1,000 ImageNet classes
# against a narrower AlexNet-architecture network trained here in minutes on fractal categories (100 at the book
# scale) — so the numbers are not expected to match; the question is whether the paper's *argument* holds, and
# the verdicts above say where it does in this network. The points below are computed from this run's tables.

# %%
display(Markdown("\n".join(f"* {b}" for b in X.discussion(D, T, P.layers, U, fits))))

# %% [markdown]
# Run the chapter with `weights=…` and `image_folder=…` (or `localcodes record OUT.h5 --images DIR --weights
# W.pth`, then `localcodes selectivity OUT.h5`) to repeat the paper's own measurement on AlexNet and ImageNet.
