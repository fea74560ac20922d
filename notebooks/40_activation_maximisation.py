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
# # Activation maximisation and its interpretability
#
# Activation maximisation (AM) asks a network what a unit "wants to see": starting from noise, an image is
# changed by gradient ascent until the unit responds as strongly as it can. If the images of a unit show a
# recognisable object, the unit is often called a detector of that object. Paper 001 (§2, §3.3, Table 2) put this
# to a test on AlexNet: it generated **100 AM images per unit** of conv5, fc6 and fc8 (Plug & Play generative
# networks), showed each unit's images as a 10 × 10 panel to **333 people**, and asked *"Can you identify multiple
# examples of an everyday object, place or animal?"* — and if so, which. Its findings:
#
# * fewer than 5% of conv5 and fc6 units had panels that at least 80% of the raters saw an object in, against
#   59% in the output layer fc8;
# * even where people agreed, the object they named only weakly matched the unit's top class or CCMAS class in
#   the hidden layers (34% and 23% for the top class), but almost always did in fc8 (95%);
# * interpretable hidden units were **not** selective: their top-class selectivity was well under 10%, mostly
#   under 1%.
#
# This chapter rebuilds the whole pipeline — the AM images, the panels, a rating protocol and the Table 2 analysis
# — on the AlexNet-architecture network trained in this book, and says at each step where it differs from the
# paper.

# %% tags=["parameters"]
scale = "book"  # smoke | book | paper
dataset = None  # "fractals" (100 formula-driven categories at book scale, chapter 30's network) or "fashion-mnist"
layers = None  # the layers to visualise (paper 001's names)
n_units = None  # units visualised per layer (a seeded random sample; all units if the layer is smaller)
n_images = None  # AM images per unit (the paper: 100, shown as a 10 x 10 panel)
image_prior = None  # "generator" (a PCA generator fitted to the training images) or "fourier" (no data prior)
generator_k = None  # components of the PCA generator
steps = None  # gradient steps per image
lr = None  # Adam's step size on the latent codes (or Fourier coefficients)
diversity = None  # weight of the penalty that keeps a unit's images apart
latent_l2 = None  # weight of the pull back towards typical latent codes (generator prior)
observers_per_arch = None  # automated raters per architecture (an MLP and a CNN family)
observer_epochs = None
observer_train = None  # training images of the observers (fractals: instances the network never saw)
observer_size = None  # the observers' image size (px)
min_confidence = None  # an observer counts an image only if its top class has at least this probability
min_share = None  # ... and says "yes" when more than this share of the panel falls in one class
n_lists = None  # counterbalanced lists for human raters (the paper: 64)
rater = None  # live only: your name, to rate the panels yourself in a running notebook
seed = None

# %% tags=["presets"]
PRESETS = {
    "smoke": {"dataset": "fractals", "layers": ["conv5", "fc6", "fc8"], "n_units": 3, "n_images": 16,
              "image_prior": "generator", "generator_k": 64, "steps": 8, "lr": 0.2, "diversity": 0.3,
              "latent_l2": 0.1, "observers_per_arch": 2, "observer_epochs": 1, "observer_train": 500,
              "observer_size": 32, "min_confidence": 0.5, "min_share": 0.5, "n_lists": 2, "rater": None, "seed": 0},
    "book": {"dataset": "fractals", "layers": ["conv5", "fc6", "fc8"], "n_units": 32, "n_images": 25,
             "image_prior": "generator", "generator_k": 64, "steps": 32, "lr": 0.2, "diversity": 0.3,
             "latent_l2": 0.1, "observers_per_arch": 3, "observer_epochs": 3, "observer_train": 10000,
             "observer_size": 32, "min_confidence": 0.5, "min_share": 0.5, "n_lists": 4, "rater": None, "seed": 0},
    # the book's network and units with the paper's 100 images per unit and four times the steps (about 40 min of
    # CPU): committed as reference results and shown at the book scale
    "reference": {"dataset": "fractals", "layers": ["conv5", "fc6", "fc8"], "n_units": 32, "n_images": 100,
                  "image_prior": "generator", "generator_k": 64, "steps": 128, "lr": 0.2, "diversity": 0.3,
                  "latent_l2": 0.1, "observers_per_arch": 3, "observer_epochs": 3, "observer_train": 10000,
                  "observer_size": 32, "min_confidence": 0.5, "min_share": 0.5, "n_lists": 4, "rater": None,
                  "seed": 0},
    "paper": {"dataset": "fractals", "layers": ["conv5", "fc6", "fc8"], "n_units": 2048, "n_images": 100,
              "image_prior": "generator", "generator_k": 128, "steps": 256, "lr": 0.1, "diversity": 0.3,
              "latent_l2": 0.1, "observers_per_arch": 5, "observer_epochs": 5, "observer_train": 100000,
              "observer_size": 64, "min_confidence": 0.5, "min_share": 0.5, "n_lists": 64, "rater": None,
              "seed": 0},
}
CHOICES = {"dataset": ["fractals", "fashion-mnist"], "image_prior": ["generator", "fourier"],
           "layers": ["conv5", "fc6", "fc7", "fc8"]}
# a parallel build runs this chapter after these: it uses the AlexNet chapter 30 trains
AFTER = ["30_alexnet_selectivity"]
# RANGES: inclusive bounds for numbers (lists: every element); "path" must exist, "text" is free
RANGES = {"n_units": (1, 4096), "n_images": (1, 100000), "generator_k": (1, 4096), "steps": (1, 100000),
          "lr": (1e-06, 100.0), "diversity": (0.0, 100.0), "latent_l2": (0.0, 100.0), "observers_per_arch": (1, 100),
          "observer_epochs": (1, 100), "observer_train": (10, 1_000_000), "observer_size": (8, 256), "min_confidence": (0.0, 1.0),
          "min_share": (0.0, 1.0), "n_lists": (1, 100), "rater": "text", "seed": (0, 2_147_483_647)}

# %%
import time

from IPython.display import Image, Markdown, display

from localcodes import am, book, charts, nets, rating, store
from localcodes.charts import am as am_charts
from localcodes.experiments import abstracts
from localcodes.experiments import am as chapter
from localcodes.experiments.paper000.checks import save_chapter
from localcodes.experiments.paper001 import checks as paper001_checks
from localcodes.experiments.paper001 import table2 as t2

P = book.settings(PRESETS, scale, CHOICES, RANGES, dataset=dataset, layers=layers, n_units=n_units, n_images=n_images,
                  image_prior=image_prior, generator_k=generator_k, steps=steps, lr=lr, diversity=diversity,
                  latent_l2=latent_l2, observers_per_arch=observers_per_arch, observer_epochs=observer_epochs,
                  observer_train=observer_train, observer_size=observer_size, min_confidence=min_confidence, min_share=min_share, n_lists=n_lists,
                  rater=rater, seed=seed)
charts.setup()
folder = chapter.results_folder(P.scale)
net_scale = chapter.network_scale(P.scale)  # the reference results study the book's network
device = store.pick_device()
t_start = time.perf_counter()

model, info = nets.trained_alexnet(net_scale, device=device, dataset=P.dataset)
train = nets.image_data(net_scale, "train", P.dataset)
test = nets.image_data(net_scale, "test", P.dataset)
class_names = list(info["classes"])
display(Markdown(chapter.network_note(info, train, device, P.scale)))

# %% [markdown]
# ## The units and their selectivity
#
# As in paper 001, a unit's selectivity is measured on the images the network classifies correctly (here the
# test split), a convolutional filter's value being its maximum over space. The activation table is recorded
# once (HDF5, resumable) and the measures of the [methods page](methods.md) are computed from it.

# %%
# a retrained network gets its own activation table
table_path, units_all, meta = chapter.selectivity_units(model, P.layers, test, folder, device)
chosen = chapter.choose_units(meta, P.layers, P.n_units, P.seed)
display(Markdown(chapter.units_note(meta, P.layers, chosen)))
chapter.layer_summary(units_all).round(3)

# %% [markdown]
# ## Activation maximisation
#
# Paper 001 used Plug & Play generative networks (Nguyen et al., 2017): the images come out of a deep generator
# network trained on ImageNet, and gradient ascent moves the generator's input code, so the images stay
# photo-like. No such generator can be shipped here. `localcodes.am` offers two image priors:
#
# * **a generator prior** (the default): the simplest generator one can fit to the network's training images,
#   a principal-component model ($x = \bar{x} + \sum_i z_i \sigma_i u_i$, the top `generator_k` components).
#   AM moves the codes $z$, starting from random draws (random plausible images of the data) and pulled gently back
#   towards typical codes (`latent_l2`); images stay in the space of the data's main variations;
# * **no data prior** (`image_prior = "fourier"`): the recipe of the feature-visualisation literature (Olah et
#   al., 2017) — scaled Fourier coefficients at the data's own resolution, resized like the training images.
#
# With either, at every step each image is **randomly shifted, zoomed and rotated** a little, so only features
# that survive such changes grow; every image starts from its own random point, and a **diversity** penalty
# keeps the images of one unit apart (the paper's 100 images per unit were all different, too); for a unit
# behind a ReLU its pre-activation is maximised (same maximiser, no dead gradient), for a filter its maximum
# over space (as it is measured). All units of all layers and all their images are optimised together, in
# batches of a few hundred images.

# %%
cfg = chapter.am_config(info, train, P)
generator, generator_note = chapter.fit_generator(train, P)
if generator_note:
    display(Markdown(generator_note))
t_am = time.perf_counter()
panels, am_images = am.make_panels(model, chosen, P.n_images, cfg, folder, seed=P.seed,
                                   modules=nets.ALEXNET_LAYERS, device=device, progress=False,
                                   generator=generator)
t_am = time.perf_counter() - t_am

# the units' activations over the correctly classified test images, for comparison
panels, effect = chapter.am_effect(panels, table_path, chosen, P.layers)
display(Markdown(chapter.effect_note(len(panels), P.n_images, P.steps, t_am)))
effect.round(2)

# %% [markdown]
# A unit's AM images should drive it well beyond what typical real images do: the first column says by how many
# standard deviations of the unit's activations over the test images. Where the shares of units "beating every
# test image" are below 1, two things hold the images back: the generator prior keeps them close to the data's
# main variations (that is its purpose), and the `book` scale runs only a few dozen steps per image so that the
# chapter fits its share of the book's time budget (the paper scale runs 256 steps, on a GPU).

# %% [markdown]
# ## Panels
#
# Each unit's images as a square panel (the paper's were 10 × 10; here `n_images` per unit, 5 × 5 at the `book`
# scale, so that 32 units per layer fit its time budget), as the raters saw them. For each layer, the
# visualised unit with the highest top-class selectivity:

# %%
units_chosen = units_all.loc[[(layer, u) for layer in P.layers for u in chosen[layer]]]


def show_panel(layer, unit, note=""):
    display(Markdown(chapter.panel_caption(units_all, class_names, layer, unit, note)))
    display(Image(data=chapter.panel_jpeg(am_images[(layer, unit)], P.n_images), format="jpeg"))


for layer in P.layers:
    best = units_chosen.loc[layer]["top_class_selectivity"].idxmax()
    show_panel(layer, int(best))

# %% [markdown]
# ## Raters
#
# ### People (live only)
#
# Paper 001 divided its 3,299 panels into 64 counterbalanced lists (every list with the same mix of conv5, fc6 and
# fc8 panels), each rated by 5–6 people after six practice trials. `localcodes.rating` provides the same protocol:
# the panels are dealt into `n_lists` counterbalanced lists, each new rater gets the next list (in a rotated
# order), and a widget shows one panel at a time with the paper's two questions, storing every answer at once in
# an SQLite file (rater, panel, yes/no, the named object, time) — closing the notebook and coming back resumes
# where the rater stopped.
#
# **No human ratings were collected for this book.** The widget needs a running Python kernel, so it does not
# work in the static pages. To rate the panels yourself, open this chapter as a notebook, set `rater = "your
# name"` in the parameters cell and run it; your answers are added to the Table 2 analysis below.

# %%
store = rating.RatingStore(folder / "ratings.sqlite")
plan = rating.counterbalanced_lists(panels[["layer", "unit", "panel"]], n_lists=P.n_lists, seed=P.seed)
if P.rater:
    order = rating.rater_order(plan, store.rater_index(P.rater))
    session = rating.RatingSession(store, P.rater, order, image_bytes=lambda p: (folder / p).read_bytes())
    display(session.widget)
else:
    counts = plan.groupby(["list", "layer"]).size().unstack(fill_value=0)
    display(Markdown(f"The {len(plan)} panels dealt into {P.n_lists} counterbalanced lists (panels per layer):"))
    display(counts)

# %% [markdown]
# ### An automated observer panel
#
# In place of people, several classifiers trained **independently** of the network (two architectures — a
# one-hidden-layer MLP and a small CNN — each with several random starts and its own order of the data) act as
# raters. With the fractal categories they learn from **instances of the categories the network never saw**
# (people, too, know objects from other pictures than the network's); with Fashion-MNIST they have to share the
# network's training images. Observer *k* looks at every image of a panel; it answers "yes" when more than
# half of the images fall into one class with a probability of at least 0.5, and names that class.
#
# A classifier trained only on the data's classes must put *every* image into one of them — even a texture
# with no object in it, which a person would answer "no" to. So the observers also learn an eleventh class, "no
# object", from **phase-scrambled** training images (each image's spatial-frequency spectrum and pixel
# histograms, with random phases: the texture of the picture without its shape); images put there count for
# no class. Even so, the observers can only name the network's own classes: their "yes" means "looks like one of
# the data set's objects to an independent classifier" — the paper's question, in a narrower world.

# %%
obs_images, obs_labels, obs_source = chapter.observer_images(net_scale, P.dataset, train, P.observer_train,
                                                             P.observer_size, P.seed)
observers, observer_table = rating.train_observers(
    obs_images, obs_labels, per_arch=P.observers_per_arch, epochs=P.observer_epochs, seed=P.seed,
    device=device, test=(test.raw, test.labels), cache_dir=folder / "observers", progress=False)
answers = rating.observer_ratings(observers, am_images, class_names,
                                  panel_ids={(r.layer, r.unit): r.panel for r in panels.itertuples()},
                                  min_confidence=P.min_confidence, min_share=P.min_share)
new = store.add_many(answers)
display(Markdown(chapter.observers_note(observer_table, new, store.count("observer"), obs_source)))
observer_table.round(3)

# %% [markdown]
# ## Table 2: how interpretable are the panels?
#
# Per layer, computed by `localcodes.rating.table2` from the stored answers (percentages ± binomial standard
# errors — the paper's ± are exactly these, e.g. $\sqrt{0.217 \cdot 0.783 / 1332} = 1.1\%$ for conv5):
#
# * **yes answers** — the share of all answers that were "yes";
# * **units ≥ 80% yes** — the share of units whose panel at least 80% of the raters said "yes" to ("consistently
#   interpretable");
# * **agreement among raters** — for those units, the share of "yes" answers naming the most-named object;
# * **overlap with top class / CCMAS class** — for those units, how often the most-named object is the unit's
#   top class or its CCMAS class.

# %%
ratings_obs = chapter.chapter_ratings(store, "observer", panels)
units_for_table = units_chosen.reset_index()
ours = rating.table2(ratings_obs, units_for_table, class_names=class_names)
display(chapter.table2_comparison(ours, len(observer_table), train.name))
display(Markdown(chapter.table2_words(ours)))
summ = rating.unit_summary(ratings_obs)
display(t2.shares(summ, P.layers))

# %% [markdown]
# ### Table 2's claims, judged
#
# Each claim of the paper's Table 2 judged with `localcodes.verdicts` for this network and these observers, the
# **visualised unit** the unit of analysis (one network: a layer's share is the mean of a 0/1 flag per unit, tested
# against the paper's number or another layer's share); the intervals above are 95 % Wilson intervals.

# %%
checks = t2.table2_checks(summ, units_chosen, class_names)
display(paper001_checks.verdict_table(checks))
display(Markdown(paper001_checks.verdict_lines(checks)))
save_chapter(P.scale, chapter.CHAPTER, t2.shares(summ, P.layers).reset_index(), checks, dataset=P.dataset,
             units_per_layer=P.n_units, images_per_unit=P.n_images, steps=P.steps, raters="observers",
             network_scale=net_scale)
chapter.save_unit_results(folder, effect, per_unit_ratings=summ.join(units_chosen, how="inner"))
abstracts.save(P.scale, chapter.CHAPTER, abstracts.paragraph(
    f"Paper 001's Table 2 (chapter 40: AM panels of {P.n_units} units per layer of the {P.dataset} network, "
    f"rated by {len(observer_table)} automated observers; units as the unit)",
    [(c["claim"], c["outcome"]) for c in checks]))

# %%
humans = chapter.chapter_ratings(store, "human", panels)
if len(humans):
    display(Markdown(f"And from the {humans.rater.nunique()} human rater(s) who rated these panels live:"))
    display(chapter.format_table2(rating.table2(humans, units_for_table, class_names=class_names)))

# %% [markdown]
# ### With the paper's 100 images per unit and longer optimisation (reference results)
#
# The same network and units with 100 images per unit (the paper's 10 × 10 panels) and 128 steps per image, too
# slow for the book's budget (about 40 minutes of CPU), computed once with `localcodes run
# 40_activation_maximisation --scale reference` and committed under `results/reference/`:

# %%
if P.scale != "reference":
    for part in chapter.reference_summary(P.layers):
        display(Markdown(part) if isinstance(part, str) else part)

# %% [markdown]
# ## Are interpretable units selective?
#
# Paper 001's second point: every consistently interpretable hidden unit had a top-class selectivity below 10%,
# mostly below 1%. Below, the top-class selectivity of the units the observers found interpretable against all
# visualised units of the layer (two-sided Mann–Whitney U test), and every unit's share of "yes" answers against
# its selectivity (hover for details; the dropdown picks the measure).

# %%
sel = rating.interpretable_selectivity(summ, units_for_table)
display(sel.round(3))
selectivity_note = chapter.interpretable_note(sel)
if selectivity_note:
    display(Markdown(selectivity_note))
per_unit = chapter.per_unit_table(summ, units_chosen, class_names)
am_charts.interpretability_chart(per_unit)

# %% [markdown]
# The panels the observers agreed on most and least, one of each per layer (compare paper 001's Fig. 6):

# %%
for layer, unit, note in chapter.extreme_panels(per_unit, P.layers):
    show_panel(layer, unit, note)

# %% [markdown]
# ## What differs from the paper, and what does not
#
# * **Network and data.** Paper 001 studied the reference CaffeNet trained on ImageNet (1000 classes, colour,
#   227 px); here the narrower AlexNet-architecture network of chapter 30, trained on 100 formula-driven fractal
#   categories in colour at the `book` scale (`dataset = "fashion-mnist"`: ten grey garment classes), so fc8 has 100
#   units, not 1000, and an "object" is a fractal category.
# * **AM method.** Instead of Plug & Play generative networks (a deep generator trained on ImageNet), the image
#   prior is a linear (PCA) generator fitted to the training images: its images look like blurred mixtures of
#   the training images, and it keeps AM closer to the data than a deep generator would. `image_prior = "fourier"` drops the data prior
#   altogether; those images are textures, and the observers answer "no object" to nearly all of them.
# * **Raters.** No people rated anything for this book; an automated observer panel stands in for them, and a
#   live widget lets anyone add human answers. The observers can only name the data's classes, so "agreement"
#   among them is agreement on a class, which makes agreement and overlap easier to reach than for free-text
#   human answers grouped by hand; and they learnt the categories from the same generator's other instances,
#   so they know them as well as the network does, while people know ImageNet's objects from a lifetime.
# * **Scale.** The `book` scale visualises a random sample of 32 units per layer, 25 images each, with a short
#   optimisation; the `paper` scale runs every conv5 filter, 2048 fc6 units and every fc8 unit, 100 images each,
#   with 256 steps, on a GPU.
#
# What carries over is the protocol and the question: whether "this unit's images look like X" says anything
# about how selectively the unit responds to X in real images. The observers' Table 2 and the selectivity
# comparison above answer it for this network.

# %%
store.close()
display(Markdown(f"Chapter computed in {time.perf_counter() - t_start:.0f} s."))
