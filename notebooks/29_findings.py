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
# # Paper 000's findings: reproduced or not?
#
# Paper 000 lists seven findings (§1.1). This page gives each a verdict — **reproduced**, **partly** or **not
# reproduced** — computed from the results the local-codes chapters store (nothing here is typed in by hand), at
# the scale this page was built with and, where they exist, from stored `paper`-scale results. A chapter whose
# results are missing gives "not run": run it (`localcodes run CHAPTER --scale SCALE`) and rebuild this page.
#
# How a verdict is reached is written in `localcodes.experiments.paper000.findings` (one function per piece of evidence, named in the
# tables below); several pieces of evidence combine into *reproduced* only if all are reproduced, *not reproduced*
# only if all are not, and *partly* otherwise.
#
# | finding (paper 000, §1.1) | evidence: chapter (file it stores) |
# |---|---|
# | 1. LCs related to lower within-class variance than between-class variance in input | [experiment 3](11_random_sparseness.ipynb), [experiment 7](15_perturbed_prototypes.ipynb) (`checks.parquet`); [experiment 12](20_mnist_invariants.ipynb) (`checks.parquet`) |
# | 2. LCs related to a NN internalising a rule | [experiment 13](21_memorisation.ipynb) (`compare.parquet`) |
# | 3. No. of LCs related to difficulty of the problem and computing power (under- vs over-resourced) | [experiments 1–2](10_hidden_size_and_data.ipynb), [4](12_input_length.ipynb), [5](13_relu_vs_sigmoid.ipynb) (`checks.parquet`); [experiment 9](17_activation_noise.ipynb) (`tests.parquet`) |
# | 4. Large values of dropout increase LCs | [experiment 8](16_dropout.ipynb) (`final.parquet`) |
# | 5. LCs correlate with generalisation performance | [experiment 10](18_training_time.ipynb) (`fits.parquet`) |
# | 6. Large data-sets, softmax and aggressive early stopping reduce the number of LCs | [experiment 2](10_hidden_size_and_data.ipynb) (`checks.parquet`); [experiment 11](19_four_layer.ipynb) (`contrasts.parquet`) |
# | 7. Monitoring the number of LCs can be useful for figuring out when to stop training | [experiment 10](18_training_time.ipynb) (`turning.parquet`) |
#
# The chapters of experiments 1–7 and 12 record each claim of the paper they test in `checks.parquet` (columns
# `finding`, `claim`, `ours`, `holds`; see `localcodes.experiments.paper000.checks`): a claim that holds counts as *reproduced*, one
# that does not as *not reproduced*, one that could not be judged at that scale as *not run*.
# Files live under `results/<scale>/<chapter>/`.

# %% tags=["parameters"]
scale = "book"
stop_tolerance = None

# %% tags=["presets"]
PRESETS = {
    "smoke": {"stop_tolerance": 0.25},
    "book": {"stop_tolerance": 0.25},
    "paper": {"stop_tolerance": 0.25},
}
# a parallel build runs this chapter after these: it reads their stored results
AFTER = [
    "10_hidden_size_and_data",
    "11_random_sparseness",
    "12_input_length",
    "13_relu_vs_sigmoid",
    "14_output_code",
    "15_perturbed_prototypes",
    "16_dropout",
    "17_activation_noise",
    "18_training_time",
    "19_four_layer",
    "20_mnist_invariants",
    "21_memorisation",
]

# %%
import pandas as pd
from IPython.display import HTML, Markdown, display

from localcodes import book
from localcodes.experiments import paper000 as P000

P = book.settings(PRESETS, scale, stop_tolerance=stop_tolerance)
pd.set_option("display.max_colwidth", None)  # the findings are sentences
tables = P000.findings_tables(P.scale, P.stop_tolerance)
have_paper = P000.has_paper_results(tables)
display(Markdown(f"Verdicts at the **`{P.scale}`** scale"
                 + (" and from stored **`paper`**-scale results." if have_paper else
                    "; no `paper`-scale results are stored (`results/paper/` is empty for these chapters).")))

# %% [markdown]
# ## The seven findings

# %%
P000.findings_summary(tables, P.scale)

# %% [markdown]
# ## The evidence behind each verdict
#
# One row per piece of evidence: the chapter it was computed from (the files are named in the table above), the
# verdict and the numbers behind it. The rule for each verdict is in the docstring of the named function.

# %%
display(HTML(P000.evidence_html(tables[P.scale][0])))

# %%
if have_paper:
    display(Markdown("**`paper` scale (stored results)**"))
    display(HTML(P000.evidence_html(tables["paper"][0])))

# %% [markdown]
# ## What the verdicts can and cannot say
#
# * At the `book` scale the networks are smaller, trained for 200 times fewer (200 times larger) steps and
#   repeated far less often than in the paper; a *partly* or *not reproduced* at this scale is a statement about
#   these settings, not a refutation. The chapters say, experiment by experiment, what differs.
# * Findings 1, 3 and 6 rest partly on experiments 1–7 and 12, whose chapters test the paper's claims themselves;
#   this page takes their verdicts (`holds`) as they are, so it inherits their rules.
# * The rules are deliberately simple (a direction and a 5 % test where the paper tested, or a stated tolerance);
#   their thresholds are parameters of the functions in `localcodes.experiments.paper000.findings`.

# %%
stored = P000.stored_chapters(P.scale)
display(Markdown(f"Local-codes chapters with results at `{P.scale}`: " + (", ".join(stored) or "none") + "."))
