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
# # Sparseness across layers: is the neuron basis special?
#
# Olah et al. (Distill, 2017) wrote that "individual neurons are the basis directions of activation space, and it
# is not clear that these should be any more special than any other direction". A blog post, *The basis of
# feature spaces in deep networks* (source 002 of this book), disagreed on one point: a linear change of basis
# changes nothing in linear algebra, but deep networks are non-linear, and rectifying units should **sparsen**
# activity with depth, "localizing the activations to fewer and fewer neurons". If so, activation patterns do not
# point in random directions of activation space but prefer the physical, neuronal basis. The post proposed to
# test this on the distribution of activations across layers, and took a first step with Inception on ~200
# images:
#
# * activations are sparse and mostly **become sparser with depth** (a bottleneck around `mixed_7`–`mixed_9`),
#   then **less sparse towards the small output layer**;
# * histograms of the non-zero activations (log counts) show heavy tails;
# * **decorrelation** between the activation patterns of different images (1 − Pearson r) **accompanies the
#   sparsening** across depth;
# * oddly, layers 2, 4 and 6 were sparser than layers 1, 3 and 5 but less decorrelated.
#
# The post never ran the comparison its argument needs: the same activations, measured along random directions.
# This chapter runs it. For every layer we express the activations in many **random orthonormal bases** and ask
# whether they are sparser and heavier-tailed along the neurons than along random directions. We do it on three
# kinds of networks — the AlexNet-architecture network of the AlexNet chapters, LeNet (with and without the
# locality prior of the locality chapter) and the paper-000 MLPs on prototype codes — each **trained and
# untrained**, and relate the result to where local codes are found.

# %% tags=["parameters"]
scale = "book"
networks = None
n_images = None
draws = None
lc_draws = None
max_samples = None
max_units = None
n_pairs = None
lenet_train = None
lenet_epochs = None
mlp_hidden = None
mlp_epochs = None
mlp_per_class = None
mlp_optimizer = None
seed = None

# %% tags=["presets"]
PRESETS = {
    "smoke": {"networks": ["alexnet", "lenet", "mlp"], "n_images": 100, "draws": 4, "lc_draws": 2,
              "max_samples": 2000, "max_units": 64, "n_pairs": 0, "lenet_train": 500, "lenet_epochs": 1,
              "mlp_hidden": [20], "mlp_epochs": 40, "mlp_per_class": 10, "mlp_optimizer": "adam", "seed": 0},
    "book": {"networks": ["alexnet", "lenet", "mlp"], "n_images": 1000, "draws": 10, "lc_draws": 10,
             "max_samples": 5000, "max_units": 256, "n_pairs": 0, "lenet_train": 5000, "lenet_epochs": 2,
             "mlp_hidden": [500], "mlp_epochs": 300, "mlp_per_class": 50, "mlp_optimizer": "adam", "seed": 0},
    "paper": {"networks": ["alexnet", "lenet", "mlp"], "n_images": 2000, "draws": 100, "lc_draws": 100,
              "max_samples": 100000, "max_units": 0, "n_pairs": 0, "lenet_train": 60000, "lenet_epochs": 10,
              "mlp_hidden": [500], "mlp_epochs": 45000, "mlp_per_class": 50, "mlp_optimizer": "sgd", "seed": 0},
}
CHOICES = {"networks": ["alexnet", "lenet", "mlp"], "mlp_optimizer": ["adam", "sgd"]}

# %%
import logging
import time

import pandas as pd
from IPython.display import Markdown, display

from localcodes import book, results, viz
from localcodes import sparseness as sp

P = book.settings(PRESETS, scale, networks=networks, n_images=n_images, draws=draws, lc_draws=lc_draws,
                  max_samples=max_samples, max_units=max_units, n_pairs=n_pairs, lenet_train=lenet_train,
                  lenet_epochs=lenet_epochs, mlp_hidden=mlp_hidden, mlp_epochs=mlp_epochs,
                  mlp_per_class=mlp_per_class, mlp_optimizer=mlp_optimizer, seed=seed)
viz.setup()
pd.set_option("display.precision", 3)
logging.getLogger("pooch").setLevel(logging.WARNING)  # the offline loader's failed download attempt is noise here
device = results.pick_device()
start = time.perf_counter()
frames, info = sp.analyse_all(P.scale, vars(P), networks=P.networks, device=device, progress=False)
layers, basis, hists, lcs = frames["layers"], frames["basis"], frames["histograms"], frames["local_codes"]
print(f"scale {P.scale}: {len(info)} networks analysed on {results.device_name(device)} "
      f"in {time.perf_counter() - start:.1f} s (cached results are reused)")

# %% [markdown]
# ## What we measure
#
# For one layer, the activations form a matrix: one row per *sample*, one column per *unit*. For a
# fully-connected layer a sample is an image (or a codeword) and a unit a neuron. For a **convolutional** layer
# the neurons of one channel share their weights across positions, so the neuron basis is the **channel basis**:
# every (image, position) is one sample of the C-dimensional channel space. (Local codes follow paper 001
# instead: a filter's value for an image is its maximum over space.)
#
# | measure | definition | one-hot vector | constant vector | Gaussian vector |
# |---|---|---|---|---|
# | share of non-zero activations | share of entries ≠ 0 (whole maps for conv layers) | 1/n | 1 | 1 |
# | Hoyer sparseness | $(\sqrt n - \lVert x\rVert_1/\lVert x\rVert_2)/(\sqrt n - 1)$ | 1 | 0 | ≈ 0.20 |
# | Vinje–Gallant sparseness | $(1 - \bar{\lvert x\rvert}^2/\overline{x^2})/(1 - 1/n)$ | 1 | 0 | ≈ 0.36 |
# | excess kurtosis | $m_4/m_2^2 - 3$ (population moments) | $(n^2-6n+6)/(n-1)$ | undefined | 0 |
#
# Each statistic is taken **across units** for every sample (*population* sparseness) and **across samples**
# for every unit (*lifetime* sparseness), then averaged; undefined values (all-zero rows, dead units) are left
# out and counted. **Decorrelation** is 1 − Pearson r between the whole activation patterns of two images,
# averaged over disjoint random pairs (every image in at most one pair, so pairs are independent), with a 95 %
# t interval. Values above 1 mean anti-correlated patterns.
#
# **The basis test.** A random orthonormal basis of the layer is the Q factor of a seeded Gaussian matrix
# (Haar-distributed). Expressing the activations in it (`A @ Q`) changes nothing that a following linear layer
# could see, only which directions count as "units". We measure every statistic in the neuron basis and in many
# random bases, and report the neuron value against the spread over random bases, with
# z = (neuron − random mean) / random sd and a Monte Carlo p = (1 + #random ≥ neuron)/(1 + draws). The rotation
# is about the origin (the mean pattern rotates with the data); for layers wider than `max_units` both sides
# measure the same number of coordinates (a random subset of neurons vs. a random orthonormal frame).

# %%
settings_table = pd.DataFrame({
    "setting": ["images (AlexNet, LeNet test subset)", "random bases per layer (sparseness / local codes)",
                "samples per layer for the basis test (cap)", "units per layer for the basis test (cap)",
                "LeNet training images x epochs", "MLP hidden sizes, epochs, optimiser"],
    "this run": [P.n_images, f"{P.draws} / {P.lc_draws}", P.max_samples or "all", P.max_units or "all",
                 f"{P.lenet_train} x {P.lenet_epochs}",
                 f"{P.mlp_hidden}, {P.mlp_epochs}, {P.mlp_optimizer}"],
}).set_index("setting")
settings_table

# %% [markdown]
# ## The networks and their data
#
# * **AlexNet** — the AlexNet-architecture network of the AlexNet chapters (`nets.trained_alexnet`), trained
#   here on grey images (no ImageNet, no pretrained weights offline); measured at conv1–conv5 (after ReLU),
#   fc6, fc7 (after ReLU) and fc8 (the linear read-out), on a balanced test subset kept where the *trained*
#   network is correct. *Untrained* is the same architecture with PyTorch's default initialisation, on the same
#   images.
# * **LeNet** — the locality chapter's LeNet (`locality.LeNet`), the control arm and the arm with the locality
#   prior (`linear`), trained together with `locality.train_stack` (SGD, lr 0.01, momentum 0.5, weight decay
#   0.01, batch 64) on a subset of the training images; layers conv1, conv2 (after pool and ReLU), fc1, fc2
#   (the 49-unit LP/control layer after BatchNorm and ReLU) and the output logits.
# * **MLP** — paper 000's three-layer network on its prototype code (10 classes × 50 codewords of length 500),
#   sigmoid and ReLU hidden layers, sigmoid outputs, trained by `localcodes.train`; measured on the training
#   codewords it classifies correctly (paper 000 counts local codes on the training set).

# %%
cols = ["network", "trained", "model", "dataset", "source", "test_accuracy", "train_acc", "images", "correct",
        "examples", "train_s", "analysis_s"]
info[[c for c in cols if c in info.columns]].set_index(["network", "trained"])

# %%
image_rows = info[info["network"].str.startswith(("AlexNet", "LeNet"))]
if len(image_rows):
    first = image_rows.iloc[0]
    display(Markdown(f"Image data set used: **{first['dataset']}** (from {first['source']})."))

# %% [markdown]
# ## Share of non-zero activations, layer by layer
#
# The blog's first observation. The table lists the share of non-zero activations of every layer; the chart
# shows it, or any other measure, across depth for the network chosen in the dropdown (trained and untrained).
# The output layers are linear read-outs (logits) or sigmoids, which are never exactly zero.

# %%
nonzero = layers.pivot_table(index=["network", "layer"], columns="trained", values="nonzero", sort=False)
nonzero.columns = ["trained" if c else "untrained" for c in nonzero.columns]
nonzero.style.format("{:.1%}")

# %%
sp.depth_chart(layers, title="measures across depth")

# %% [markdown]
# ## Histograms of the non-zero activations
#
# As in the blog, the zeros are left out of the histograms and their share is written in each panel; counts are
# on a log axis. Choose the network in the dropdown.

# %%
sp.histogram_chart(hists, layers)

# %% [markdown]
# ## Sparsening and decorrelation across depth (the blog's second figure)
#
# Blue: the share of zero activations; red: the decorrelation between the patterns of two images, with its 95 %
# interval. Solid lines are the trained network, dashed the untrained one.

# %%
sp.blog_chart(layers, title="sparsening and decorrelation across depth")

# %%
rho = sp.sparsening_vs_decorrelation(layers)
display(Markdown("Spearman correlation across the hidden layers (output layer left out) between the share of "
                 "zeros and the decorrelation; a network with fewer than three hidden layers has none."))
rho

# %%
def trend(variant: str) -> str:
    g = layers[layers["variant"] == variant].sort_values("depth")
    hidden = g.iloc[:-1]
    if len(hidden) < 2:
        return "—"
    first, last = hidden.iloc[0], hidden.iloc[-1]
    return (f"zeros {1 - first.nonzero:.0%} → {1 - last.nonzero:.0%}, decorrelation "
            f"{first.decorrelation:.2f} → {last.decorrelation:.2f} ({first.layer} → {last.layer})")


trends = pd.DataFrame({"first → last hidden layer": {v: trend(v) for v in pd.unique(layers["variant"])}})
trends

# %% [markdown]
# ## Is the neuron basis special?
#
# The neuron basis (red dot) against random orthonormal bases (grey bar: smallest to largest over the draws;
# black tick: their mean), per layer, for the chosen network and statistic. A red dot above the grey bar means
# the activations are sparser (or heavier-tailed) along the neurons than along every random direction tried.

# %%
summary = sp.basis_summary(basis, by=["variant", "layer", "depth"]).reset_index()
sp.basis_chart(summary, title="neuron basis vs random bases")

# %%
z = summary.pivot_table(index=["variant", "layer"], columns="statistic", values="z", sort=False)
display(Markdown("z = (neuron − mean of random bases) / sd of random bases, per layer and statistic "
                 f"({P.draws} random bases). Positive: sparser / heavier-tailed along the neurons."))
z[[c for c in sp.MEASURES if c in z.columns]].round(1)

# %%
hidden_rows = summary.merge(layers[["variant", "layer", "nonzero"]], on=["variant", "layer"])
rectified = hidden_rows[hidden_rows["nonzero"] < 1]
dense = hidden_rows[hidden_rows["nonzero"] >= 1]


def share_special(frame):
    return f"{(frame['share_random_ge'] == 0).mean():.0%}" if len(frame) else "—"


display(Markdown(
    f"Layers with exact zeros (ReLU layers): the neuron basis beats every random basis in "
    f"**{share_special(rectified)}** of the {len(rectified)} (layer, statistic) cases. Layers without zeros "
    f"(sigmoid layers, linear read-outs): **{share_special(dense)}** of {len(dense)}."))

# %% [markdown]
# ## Local codes: in the neuron basis and along random directions
#
# If the neuron basis is special, are local codes (a class whose activations are disjoint from all others,
# SPEC's definition) a property of neurons? We count local codes in the neuron basis and in random bases of the
# same layer (for conv layers, each direction's maximum over space). *On* codes are the "grandmother cell" kind
# (the class above all others); a random direction can also carry *off* codes, which rectified neurons rarely
# can (their floor is zero for many examples).

# %%
lc_table = sp.local_code_table(lcs)
lc_table

# %%
adv = sp.advantage_table(basis, layers, "population_hoyer")
adv

# %%
if len(lc_table):
    joined = adv.join(lc_table[["neuron_on_units", "random_on_units"]], how="inner")
    joined = joined[joined["nonzero"] < 1]  # the rectified layers, where the basis question is not trivial
    more = (joined["neuron_on_units"] > joined["random_on_units"]).mean() if len(joined) else float("nan")
    fewer = (joined["neuron_on_units"] < joined["random_on_units"]).mean() if len(joined) else float("nan")
    display(Markdown(
        f"In the rectified layers, the neuron basis holds **more** on-code units than the mean random basis in "
        f"{more:.0%} of the layers and **fewer** in {fewer:.0%} (the rest tie). Local codes appear where the "
        "classes separate (the top layers of trained networks), whether or not that direction is a neuron."))

# %% [markdown]
# ## The blog's observations and ours
#
# | the blog (Inception, ImageNet, ~200 images) | here |
# |---|---|
# | most activations are exactly zero; sparseness grows with depth | see the non-zero table: the rectified layers of every network are sparse; whether it grows with depth depends on the network (below) |
# | a bottleneck in the middle, less sparse near the (small) output layer | the read-out layers have no zeros at all (they are linear or sigmoid); the last hidden layers are among the sparsest |
# | decorrelation accompanies sparsening | see the Spearman table; in untrained deep networks decorrelation *falls* with depth (image patterns collapse onto a common direction), training reverses this |
# | layers 2, 4, 6 sparser than 1, 3, 5 but less decorrelated | Inception-specific (its mixed modules); our networks have no such alternation to compare |
# | the neuron basis should be special | yes for every rectified layer — trained **and untrained** — and no for sigmoid and linear layers |
#
# **What the basis test shows.** In every layer with rectified units, activations are far sparser and more
# heavy-tailed along the neurons than along random directions (z scores of tens, no random basis comes close).
# The untrained networks show the same: the advantage comes from the rectification itself (a ReLU zeroes
# coordinates *of the neuron basis*, so sparse non-negative patterns are aligned with it by construction), not
# from learning, which is the blog's mechanism. Sigmoid layers and linear read-outs have no preferred basis;
# centred on 0.5, sigmoid activations can even look *less* sparse along neurons than along random directions.
#
# **Where local codes are.** Sparseness along neurons does not mean that selectivity lives in neurons: random
# directions of the same trained layers carry comparable numbers of local codes, often more, because a local
# code only needs the classes to be separable along that direction. Local codes appear where training separates
# the classes (the top hidden layers, and paper 000's MLPs), not where the neuron basis is most special.
#
# **What differs from the blog.** The networks (a narrow AlexNet-architecture network on 96-px grey
# images, LeNet and small MLPs instead of Inception on ImageNet), the data (the data set named above, not web
# images), and the number of images (a balanced test subset). At book scale the random-basis statistics use a
# subset of samples and at most `max_units` coordinates per layer (see the settings table); the paper scale
# measures every unit with 100 random bases per layer on a GPU.

# %%
paper = results.results_dir("paper", "60_sparseness", create=False)
if P.scale != "paper" and paper.exists() and any(paper.glob("analysis-*/params.json")):
    display(Markdown(f"Paper-scale results are stored in `{paper}`; re-run this chapter with `--scale paper` "
                     "to show them."))
else:
    display(Markdown("No paper-scale results are stored with the book (they need a GPU: "
                     "`localcodes run 60_sparseness --scale paper`)."))
