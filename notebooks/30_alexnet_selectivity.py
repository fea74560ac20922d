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
# placement, torchvision's module layout) on the best image data available offline, and everything below is
# measured on that network. The data set and the network's size are stated in the next section; the main
# differences are **10 classes instead of 1000** and **thousands of images per class instead of about 720**,
# which changes what "chance" and "top cluster" mean (see the discussion at the end).

# %% tags=["parameters"]
scale = "book"  # smoke | book | paper
layers = None  # the layers to record (paper 001's names)
k = None  # precision@k (paper 001: 100)
k_alt = None  # a second k (Zhou et al. used 60)
split = None  # the images the table is recorded on (paper 001: the training set)
weights = None  # torchvision-format AlexNet weights (.pth); needs image_folder
image_folder = None  # ImageNet-style folder <folder>/<class>/<image>; needs weights
input_size = None  # crop size for image_folder: 224 (torchvision) or 227 (Caffe)
points_per_class = None  # jitterplots: points drawn per class (each class's extremes are always kept)
seed = None

# %% tags=["presets"]
PRESETS = {
    "smoke": {"layers": ["conv5", "fc6", "fc7", "fc8", "prob"], "k": 100, "k_alt": 60, "split": "train",
              "weights": None, "image_folder": None, "input_size": 224, "points_per_class": 30, "seed": 0},
    "book": {"layers": ["conv5", "fc6", "fc7", "fc8", "prob"], "k": 100, "k_alt": 60, "split": "train",
             "weights": None, "image_folder": None, "input_size": 224, "points_per_class": 25, "seed": 0},
    "paper": {"layers": ["conv5", "fc6", "fc7", "fc8", "prob"], "k": 100, "k_alt": 60, "split": "train",
              "weights": None, "image_folder": None, "input_size": 227, "points_per_class": 80, "seed": 0},
}
CHOICES = {"split": ["train", "test"],
           "layers": ["conv1", "conv2", "conv3", "conv4", "conv5", "pool5", "fc6", "fc7", "fc8", "prob"]}
# RANGES: inclusive bounds for numbers (lists: every element); "path" must exist, "text" is free
RANGES = {"k": (1, 1000000), "k_alt": (1, 1000000), "weights": "path", "image_folder": "path",
          "input_size": (32, 1024), "points_per_class": (1, 100000), "seed": (0, 2_147_483_647)}

# %%
import time

import numpy as np
from IPython.display import Markdown, display

from localcodes import book, charts
from localcodes.charts import alexnet as ax_charts
from localcodes.experiments import alexnet as X

P = book.settings(PRESETS, scale, CHOICES, RANGES, layers=layers, k=k, k_alt=k_alt, split=split, weights=weights,
                  image_folder=image_folder, input_size=input_size, points_per_class=points_per_class, seed=seed)
charts.setup()
start = time.perf_counter()
D = X.alexnet_tables(P.scale, P.layers, ks=(P.k, P.k_alt), split=P.split, weights=P.weights,
                     image_folder=P.image_folder, input_size=P.input_size, progress=False)
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
# ## How many units pass the usual thresholds? (paper 001, Table 1)
#
# Zhou et al. called a unit an object detector at precision > 75%; Morcos et al. read CCMAS near 1 as highly
# selective. The table gives the share of each layer's units (%) over those thresholds, and over 5% top-class
# selectivity, beside the paper's AlexNet figures.

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
# The paper's Table A1 for comparison (AlexNet on ImageNet):
#
# | criterion | unit | CCMAS | CCMASN | precision | top cluster | TCS |
# |---|---|---|---|---|---|---|
# | top CCMAS | prob.322 | 0.9999 | 0.9954 | 100% | 963 | 97.1% |
# | | fc8.393 | 1.2436 | 1.3962 | 95% | 29 | 3.3% |
# | | fc7.31 | 0.9368 | 0.8653 | 11% | 1 | 0.15% |
# | | fc6.582 | 0.9338 | 0.9194 | 1% | 1 | 0.14% |
# | | conv5.78 | 0.7468 | 0.7463 | 5% | 1 | 0.10% |
# | top precision | prob.0 | 0.9997 | 0.9932 | 100% | 1000 | 92.2% |
# | | fc8.1 | 1.0497 | 1.1101 | 100% | 172 | 16.1% |
# | | fc7.255 | 0.8962 | 0.8411 | 97% | 94 | 7.6% |
# | | fc6.1199 | 0.9232 | 0.8183 | 95% | 43 | 3.5% |
# | | conv5.0 | 0.5540 | 0.5285 | 77% | 1 | 0.1% |
# | top TCS | prob.322 | 0.9996 | 0.9954 | 100% | 963 | 97.1% |
# | | fc8.985 | 1.0909 | 1.1930 | 100% | 574 | 50% |
# | | fc7.255 | 0.8962 | 0.8411 | 97% | 94 | 7.6% |
# | | fc6.1199 | 0.9232 | 0.8183 | 95% | 43 | 3.5% |
# | | conv5.100 | 0.6831 | 0.6832 | 56% | 9 | 1.1% |

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
# noted; the min-max normalised CCMAS (`ccmas_minmax`) stays within [0, 1].
#
# ## Do the measures agree on the class?
#
# Paper 001 reports that top-class selectivity and CCMAS pick the same class for 0% of conv5, 9.8% of fc6 and
# 83.5% of fc8 units (chance: 0.1% with 1000 classes). With only 10 classes, chance is 10% here.

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
# activations of all classes exponential and those of the top class roughly normal.
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
# ## Results at the paper's scale
#
# Results computed at `scale="paper"` (the full training set and a full-width network, meant for a GPU) are
# stored in `results/paper/30_alexnet_selectivity/` with their provenance and shown here when present.

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
# The comparison is between two different networks and data sets — Caffe's AlexNet on 1000 ImageNet classes
# against a narrower AlexNet-architecture network trained here in minutes on 10 classes of small grey images — so
# the numbers are not expected to match; the question is whether the paper's *argument* holds. The points below
# are computed from this run's tables.

# %%
display(Markdown("\n".join(f"* {b}" for b in X.discussion(D, T, P.layers, U, fits))))

# %% [markdown]
# Run the chapter with `weights=…` and `image_folder=…` (or `localcodes record OUT.h5 --images DIR --weights
# W.pth`, then `localcodes selectivity OUT.h5`) to repeat the paper's own measurement on AlexNet and ImageNet.
