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
# # Grow your own local codes
#
# Paper 000 found that local codes — hidden units whose activations for one class are disjoint from every other
# class's — emerge in small feed-forward networks trained on codes with a class invariant, and that how many
# emerge depends on the network and its training: the hidden-layer size, dropout, noise on the activations, how
# sparse the code is and what the network must output. This page lets you try that yourself.
#
# * **Live** (`make lab` opens this chapter in JupyterLab; run all cells): sliders for the hidden size, dropout,
#   activation noise, the code's sparseness and the output code, and a *grow* button. Each press trains a small
#   ensemble on the CPU in a few seconds (`localcodes.engine`) and shows its local-code count, a jitterplot of one
#   network's units and what the selectivity measures say about them; a table keeps your runs side by side.
# * **Static** (this page in the built book): the same ensemble grown once with the page's settings, the four
#   knobs turned one at a time, and an explorer over every network the chapters of experiments 1, 3, 4, 8 and 9
#   stored for this build: choose the experiment and the measure in the menus under the chart.
#
# The networks are paper 000's (500-bit prototype codes, 10 classes, sigmoid hidden units, no softmax), trained
# with the book's SGD schedule (lr 2.0, `engine.BOOK_DEFAULTS`) on fewer codewords and epochs than the chapters
# use, so that one press takes seconds: compare directions, not counts, with the chapters.

# %% tags=["parameters"]
scale = "book"
n_hidden = None
dropout = None
noise_std = None
sparseness = None
output = None
networks = None
n_per_class = None
epochs = None
seed = None

# %% tags=["presets"]
# n_hidden, dropout, noise_std (σ of the activation noise), sparseness (S_R: the random fill's share of ones) and
# output: the recipe grown first (the widget starts from it); networks per ensemble, codewords per class and epochs
# set how long one press takes (book: about two seconds on one CPU core).
PRESETS = {
    "smoke": {"n_hidden": 50, "dropout": 0.0, "noise_std": 0.0, "sparseness": 0.3333333333333333,
              "output": "distributed", "networks": 2, "n_per_class": 10, "epochs": 100, "seed": 0},
    "book": {"n_hidden": 250, "dropout": 0.0, "noise_std": 0.0, "sparseness": 0.3333333333333333,
             "output": "distributed", "networks": 3, "n_per_class": 20, "epochs": 200, "seed": 0},
    "paper": {"n_hidden": 500, "dropout": 0.0, "noise_std": 0.0, "sparseness": 0.3333333333333333,
              "output": "distributed", "networks": 10, "n_per_class": 50, "epochs": 225, "seed": 0},
}
CHOICES = {"output": ["distributed", "onehot"]}
# RANGES: inclusive bounds for numbers (lists: every element); "path" must exist, "text" is free
RANGES = {"n_hidden": (1, 5000), "dropout": (0.0, 0.95), "noise_std": (0.0, 10.0), "sparseness": (0.01, 0.9),
          "networks": (1, 50), "n_per_class": (1, 1000), "epochs": (1, 10000), "seed": (0, 2_147_483_647)}
# the explorer reads the networks these chapters stored (a parallel build runs this page after them)
AFTER = ["10_hidden_size_and_data", "11_random_sparseness", "14_output_code", "16_dropout", "17_activation_noise"]

# %%
from IPython.display import Markdown, display

from localcodes import book, charts
from localcodes.experiments import paper000 as P000
from localcodes.experiments import teaching as T

P = book.settings(PRESETS, scale, CHOICES, RANGES, n_hidden=n_hidden, dropout=dropout, noise_std=noise_std,
                  sparseness=sparseness, output=output, networks=networks, n_per_class=n_per_class, epochs=epochs,
                  seed=seed)
LIVE = charts.setup() == "live"  # a kernel of your own (make lab), not the book's build
P000.set_cpu_threads(1)  # small networks: a 2nd thread gains little and is slow on shared cores
RECIPE = T.Recipe(n_hidden=P.n_hidden, dropout=P.dropout, noise_std=P.noise_std, sparseness=P.sparseness,
                  output=P.output, networks=P.networks, n_per_class=P.n_per_class, epochs=P.epochs, seed=P.seed)
assert set(T.STORED) <= set(AFTER), "the page must run after every chapter whose networks it explores"
display(Markdown(f"**Scale `{P.scale}`**: {RECIPE.networks} networks of {RECIPE.label()}, "
                 f"{10 * RECIPE.n_per_class} training codewords, {RECIPE.epochs} epochs of SGD (lr {T.LR})."))

# %% [markdown]
# ## Grow one ensemble
#
# The recipe above, grown once: how many local codes each network has, a jitterplot of one network's units (each
# point one training codeword it classifies correctly, its activation on *x*; choose a unit in the menu — local-code
# units first, widest gap first, then three without one), and the share of its units that each selectivity measure
# calls selective (the thresholds of the [Introduction](01_introduction.ipynb)).

# %%
grown = T.grow(RECIPE)
display(Markdown(T.summary(grown)))
display(T.measures(grown))
T.jitterplot(grown)

# %% [markdown]
# ## Your turn (live)
#
# Move the sliders and press *grow*. Things to try, each the claim of one of paper 000's experiments:
# a larger hidden layer (experiment 1); a sparser code, S_R = 1/9 (experiment 3: a larger share of each codeword is
# the class invariant); a one-hot output code (experiment 4); dropout of 50–90 % (experiment 8); activation noise
# (experiment 9).

# %%
if LIVE:
    grower = T.Grower(RECIPE)
    display(grower.widget)
    grower.regrow()
else:
    display(Markdown("*The widget needs a running Python kernel, so it is not part of the static page. Run "
                     "`make lab` in a checkout and run this chapter's cells; the explorer below works here.*"))

# %% [markdown]
# ## The four knobs, one at a time
#
# What the widget would show for each of four changes from the recipe above, grown here with the same seeds (so
# the networks differ only in the change):

# %%
CHANGES = {"dropout 70 %": {"dropout": 0.7}, "activation noise σ = 1": {"noise_std": 1.0},
           "sparser code, S_R = 1/9": {"sparseness": T.SPARSENESS["1/9"]}, "one-hot output": {"output": "onehot"}}
T.compare(RECIPE, CHANGES, grown)

# %% [markdown]
# ## Explore the stored sweeps
#
# Every network that the chapters of experiments 1 (hidden size), 3 (sparseness), 4 (output code), 8 (dropout) and
# 9 (activation noise) trained and stored at this scale: one point per network, a line through the means of each
# hidden size. The menus choose the experiment and the measure; the slider hides networks below a training
# accuracy. These networks were trained on the chapters' own settings (more codewords and epochs than above).

# %%
stored = T.stored_networks(P.scale)
if stored.empty:
    display(Markdown(f"*No networks are stored at the `{P.scale}` scale yet: run the chapters "
                     f"{', '.join(T.STORED)} (`localcodes build` runs them before this page).*"))
else:
    display(Markdown(f"{len(stored)} stored networks from {stored['chapter'].nunique()} chapters."))
    display(T.explorer(stored))
