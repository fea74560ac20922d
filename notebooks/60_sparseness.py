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
mlp_lr = None
basis_statistic = None
seed = None

# %% tags=["presets"]
PRESETS = {
    "smoke": {"networks": ["alexnet", "lenet", "mlp"], "n_images": 100, "draws": 4, "lc_draws": 2,
              "max_samples": 2000, "max_units": 64, "n_pairs": 0, "lenet_train": 500, "lenet_epochs": 1,
              "mlp_hidden": [50], "mlp_epochs": 30, "mlp_per_class": 10, "mlp_optimizer": "sgd", "mlp_lr": 2.0,
              "basis_statistic": "population_hoyer", "seed": 0},
    "book": {"networks": ["alexnet", "lenet", "mlp"], "n_images": 1000, "draws": 10, "lc_draws": 10,
             "max_samples": 5000, "max_units": 256, "n_pairs": 0, "lenet_train": 5000, "lenet_epochs": 2,
             "mlp_hidden": [500], "mlp_epochs": 225, "mlp_per_class": 50, "mlp_optimizer": "sgd", "mlp_lr": 2.0,
             "basis_statistic": "population_hoyer", "seed": 0},
    "paper": {"networks": ["alexnet", "lenet", "mlp"], "n_images": 2000, "draws": 100, "lc_draws": 100,
              "max_samples": 100000, "max_units": 0, "n_pairs": 0, "lenet_train": 60000, "lenet_epochs": 10,
              "mlp_hidden": [500], "mlp_epochs": 45000, "mlp_per_class": 50, "mlp_optimizer": "sgd",
              "mlp_lr": 0.01, "basis_statistic": "population_hoyer", "seed": 0},
}
# basis_statistic: the statistic whose neuron-basis advantage the basis-test verdicts judge
CHOICES = {"networks": ["alexnet", "lenet", "mlp"], "mlp_optimizer": ["sgd", "adam"],
           "basis_statistic": ["population_hoyer", "lifetime_hoyer", "population_vinje_gallant",
                               "lifetime_vinje_gallant", "population_kurtosis", "lifetime_kurtosis"]}
# a parallel build runs this chapter after these: it analyses chapter 30's AlexNet and 50's LeNets
AFTER = ["30_alexnet_selectivity", "50_locality_prior"]
# RANGES: inclusive bounds for numbers (lists: every element); "path" must exist, "text" is free
RANGES = {"n_images": (1, 100000), "draws": (1, 1000), "lc_draws": (1, 1000), "max_samples": (1, 10000000),
          "max_units": (1, 100000), "n_pairs": (0, 100000), "lenet_train": (10, 60000), "lenet_epochs": (1, 100),
          "mlp_hidden": (1, 10000), "mlp_epochs": (1, 100000), "mlp_per_class": (1, 10000), "mlp_lr": (1e-06, 100.0),
          "seed": (0, 2_147_483_647)}

# %%
import logging
import time

import pandas as pd
from IPython.display import Markdown, display

from localcodes import book, store, charts
from localcodes import sparseness as sp
from localcodes.charts import sparseness as sp_charts
from localcodes.experiments import abstracts
from localcodes.experiments import sparseness as spx

P = book.settings(PRESETS, scale, CHOICES, RANGES, networks=networks, n_images=n_images, draws=draws, lc_draws=lc_draws,
                  max_samples=max_samples, max_units=max_units, n_pairs=n_pairs, lenet_train=lenet_train,
                  lenet_epochs=lenet_epochs, mlp_hidden=mlp_hidden, mlp_epochs=mlp_epochs, mlp_per_class=mlp_per_class,
                  mlp_optimizer=mlp_optimizer, mlp_lr=mlp_lr, basis_statistic=basis_statistic, seed=seed)
charts.setup()
pd.set_option("display.precision", 3)
pd.set_option("display.max_colwidth", None)  # the comparison tables hold sentences
logging.getLogger("pooch").setLevel(logging.WARNING)  # the offline loader's failed download attempt is noise here
device = store.pick_device()
start = time.perf_counter()
frames, info = spx.analyse_all(P.scale, vars(P), networks=P.networks, device=device, progress=False)
layers, basis, hists, lcs = frames["layers"], frames["basis"], frames["histograms"], frames["local_codes"]
pre_basis = frames["pre_basis"]
print(f"scale {P.scale}: {len(info)} networks analysed on {store.device_name(device)} "
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
spx.settings_table(P)

# %% [markdown]
# ## The networks and their data
#
# * **AlexNet** — the AlexNet-architecture network of the AlexNet chapters (`nets.trained_alexnet`), trained
#   here on chapter 30's 100 fractal categories in colour (no ImageNet, no pretrained weights offline); measured at conv1–conv5 (after ReLU),
#   fc6, fc7 (after ReLU) and fc8 (the linear read-out), on a balanced test subset kept where the *trained*
#   network is correct. *Untrained* is the same architecture with PyTorch's default initialisation, on the same
#   images.
# * **LeNet** — the locality chapter's LeNet (`locality.LeNet`), the control arm and the arm with the locality
#   prior (`linear`), trained together with `locality.train_stack` (SGD, lr 0.01, momentum 0.5, weight decay
#   0.01, batch 64) on a subset of the training images; layers conv1, conv2 (after pool and ReLU), fc1, fc2
#   (the 49-unit LP/control layer after BatchNorm and ReLU) and the output logits.
# * **MLP** — paper 000's three-layer network on its prototype code (10 classes × 50 codewords of length 500),
#   sigmoid and ReLU hidden layers, sigmoid outputs, trained by `localcodes.engine`; measured on the training
#   codewords it classifies correctly (paper 000 counts local codes on the training set).

# %%
spx.info_table(info)

# %%
if (note := spx.image_data_note(info)) is not None:
    display(Markdown(note))

# %% [markdown]
# ## Share of non-zero activations, layer by layer
#
# The blog's first observation. The table lists the share of non-zero activations of every layer; the chart
# shows it, or any other measure, across depth for the network chosen in the dropdown (trained and untrained).
# The output layers are linear read-outs (logits) or sigmoids, which are never exactly zero, and the sigmoid
# hidden layers have no zeros either: for them only the other statistics say anything.

# %%
spx.nonzero_table(layers)

# %%
spx.sparsest_table(layers)

# %%
display(Markdown(spx.zeros_note(layers)))

# %%
sp_charts.depth_chart(layers, title="measures across depth")

# %% [markdown]
# ## Histograms of the non-zero activations
#
# As in the blog, the zeros are left out of the histograms and their share is written in each panel; counts are
# on a log axis. Choose the network in the dropdown. The non-zero activations of trained ReLU layers have long,
# roughly exponential tails (straight lines on the log axis), like those paper 001 found in AlexNet.

# %%
sp_charts.histogram_chart(hists, layers)

# %% [markdown]
# ## Sparsening and decorrelation across depth (the blog's second figure)
#
# Blue: the share of zero activations; red: the decorrelation between the patterns of two images, with its 95 %
# interval. Solid lines are the trained network, dashed the untrained one.

# %%
sp_charts.blog_chart(layers, title="sparsening and decorrelation across depth")

# %%
rho = spx.sparsening_vs_decorrelation(layers)
spx.trends_table(layers, rho)

# %%
if (note := spx.decorrelation_note(layers)) is not None:
    display(Markdown(note))

# %% [markdown]
# The table gives Spearman's rank correlation across the hidden layers (output layer left out) between the share
# of zeros and the decorrelation — the blog's second figure in one number; networks with fewer than three hidden
# layers have none. With five to seven layers per network such a correlation is weak evidence either way.

# %% [markdown]
# ## Is the neuron basis special?
#
# The neuron basis (red dot) against random orthonormal bases (grey bar: smallest to largest over the draws;
# black tick: their mean), per layer, for the chosen network and statistic. A red dot above the grey bar means
# the activations are sparser (or heavier-tailed) along the neurons than along every random direction tried.

# %%
summary = sp.basis_summary(basis, by=["variant", "layer", "depth"]).reset_index()
sp_charts.basis_chart(summary, title="neuron basis vs random bases")

# %%
display(Markdown("z = (neuron − mean of random bases) / sd of random bases, per layer and statistic "
                 f"({P.draws} random bases). Positive: sparser / heavier-tailed along the neurons."))
spx.z_table(summary)

# %%
# three kinds of layer: rectified hidden layers, sigmoid hidden layers and the read-out (each network's last layer)
kind = spx.add_layer_kinds(layers)
display(Markdown("Over all (layer, statistic) cases: how often the neuron basis is sparser than every random "
                 "basis, how often it is less sparse than every one, and the median z."))
spx.verdict_table(summary, kind)

# %% [markdown]
# ## Learning or rectification? The basis test before and after the non-linearity
#
# A ReLU sets coordinates *of the neuron basis* to zero, so a rectified vector is sparse along the neurons and
# dense after a random rotation whatever the weights are: an untrained network passes the test above by
# construction (compare its rows). The test says something about *learning* only as a contrast: trained against
# untrained networks, and on the **pre-activations** (each hidden layer's input to its ReLU or sigmoid, recorded
# by the same hooks), where rectification has not yet acted. The statistic is the neuron basis's advantage in
# the chosen measure (neuron − mean of the random bases), averaged over a network's ReLU hidden layers (a
# sigmoid layer has no zeros to make its basis special, so the sigmoid MLP is left out); its unit is the
# network (one of each architecture and arm, the closest this chapter has to seeds), because the layers of one
# network are one ordered chain, not independent observations. z scores are not used here: z divides by the
# spread over random bases, which shrinks as the layer has more samples.

# %%
display(Markdown(f"Statistic: **{P.basis_statistic}**. Per network, mean over its ReLU hidden layers "
                 "(advantage; "
                 "share of hidden layers where the neuron basis beats every random basis):"))
display(sp.alignment_table(basis, pre_basis, layers, P.basis_statistic).round(3))
display(Markdown("Trained above untrained (paired by network):\n\n"
                 + spx.alignment_verdicts(layers, basis, pre_basis, P.basis_statistic)))

# %% [markdown]
# ## Local codes: in the neuron basis and along random directions
#
# If the neuron basis is special, are local codes (a class whose activations are disjoint from all others, the
# book's definition) a property of neurons? We count local codes in the neuron basis and in random bases of the
# same layer (for conv layers, each direction's maximum over space, as for filters in paper 001), with the same
# number of directions on both sides. *On* codes are the "grandmother cell" kind (the class above all others);
# a random direction can also carry *off* codes, which rectified neurons rarely can (their floor is zero for many
# examples), so we compare units with on-codes.

# %%
found = spx.local_codes_found(lcs, basis, layers)
if found is not None:
    display(Markdown("Layers where local codes were found (in either basis): the neuron basis's advantage in "
                     "lifetime sparseness (Hoyer; neuron − random mean, and z) beside the units with on-codes "
                     "among the same number of neurons and random directions."))
    display(found[["nonzero", "advantage", "z", "units_measured", "neuron_on_units", "random_on_units",
                   "random_on_units_max"]].round(2))
else:
    found = pd.DataFrame()
    display(Markdown("Local codes were not counted in random bases in this run (`lc_draws = 0`)."))

# %%
if len(found):
    display(Markdown(spx.on_code_bullets(found, kind)))

# %% [markdown]
# How to read this. Local codes appear where training separates the classes — the top hidden layers of the
# trained networks and the MLPs — and not in untrained networks. A random direction of a layer is as good a
# "unit" as a neuron for a linear read-out, so the comparison asks whether selectivity is tied to the neurons.
# The bullets above say, for this run, where on-codes sit more often. In a ReLU layer a neuron advantage is weak
# evidence of learning on its own, since rectification alone makes that basis special (previous section). In a
# sigmoid layer whose classes sit in tight clusters, many directions through the layout separate one class from
# all others, so random directions can carry more local codes than the neurons. A local code is a statement about
# a direction; only in a layer whose basis is special beyond rectification is it a statement about a neuron.
# Local codes are rare in the image networks: with hundreds of test images per class, a class has to be perfectly
# separated along one direction.

# %% [markdown]
# ## The blog's observations and ours

# %% [markdown]
# Every cell below is computed from this run. The claims about depth are judged on the networks with at least
# three rectified hidden layers (the image networks; the MLPs have one hidden layer), one number per network,
# tested against zero across networks; with a handful of networks "inconclusive" is the honest outcome when the
# networks disagree, and the verdict then says how many would decide it. The last column applies the same test
# to the untrained networks alone: a claim that untrained networks also pass is a property of rectification,
# not of learning. The blog's observation that Inception's layers 2, 4 and 6 are sparser but less decorrelated
# than 1, 3 and 5 concerns Inception's modules, which these networks do not have; it is not tested.

# %%
comparison = spx.blog_comparison(layers, basis, pre_basis, P.basis_statistic)
abstracts.save(P.scale, spx.CHAPTER, abstracts.paragraph(
    "Sparseness across layers (chapter 60: the blog's claims, trained networks as the unit)",
    list(zip(comparison.index, comparison["verdict (trained)"]))))
comparison

# %% [markdown]
# **What differs from the blog, and from the paper scale.** The networks (a narrow AlexNet-architecture network
# on 96-px colour images of 100 fractal categories, LeNet and small MLPs instead of Inception on ImageNet), the
# data (the data set named above, not web images) and the number of images (a balanced test subset). At book scale the random-basis
# statistics use at most `max_samples` samples and `max_units` coordinates per layer and 10 random bases (see
# the settings table), the LeNets are those of the locality chapter when it has run (else a short training
# here), and the MLPs use the book's training shortcut of the local-codes chapters (SGD at lr 2.0 for 225
# epochs instead of lr 0.01 for 45,000). The paper scale measures every unit with 100 random bases per layer and
# trains as the original papers did, on a GPU.

# %%
display(Markdown(spx.paper_note(P.scale)))
