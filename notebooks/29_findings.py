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
# Paper 000 (*Under what circumstances do local codes emerge in feed-forward neural networks*) lists seven
# findings (§1.1). Every chapter of its experiments tests the claims it can, each with one of the rules of
# `localcodes.verdicts` (a one-sided test for "more" or "fewer", an equivalence test with a stated margin for "no
# difference", AIC for a shape; networks as the unit), and stores them in `results/<scale>/<chapter>/checks.parquet`.
# This page reads them all — nothing here is typed in by hand — and derives each finding's outcome from its claims'
# outcomes by the rule printed below. A chapter not run at this scale (or whose stored checks predate the verdict
# rules) gives "not run": run it (`localcodes run CHAPTER --scale SCALE`) and rebuild this page.
#
# | finding (paper 000, §1.1) | chapters whose claims bear on it |
# |---|---|
# | 1. LCs related to lower within-class variance than between-class variance in input | [experiment 3](11_random_sparseness.ipynb), [7](15_perturbed_prototypes.ipynb), [12](20_mnist_invariants.ipynb) |
# | 2. LCs related to a NN internalising a rule | [experiment 13](21_memorisation.ipynb) |
# | 3. No. of LCs related to difficulty of the problem and computing power (under- vs over-resourced) | [experiments 1–2](10_hidden_size_and_data.ipynb), [4](12_input_length.ipynb), [5](13_relu_vs_sigmoid.ipynb), [9](17_activation_noise.ipynb) |
# | 4. Large values of dropout increase LCs | [experiment 8](16_dropout.ipynb) |
# | 5. LCs correlate with generalisation performance | [experiment 10](18_training_time.ipynb) |
# | 6. Large data-sets, softmax and aggressive early stopping reduce the number of LCs | [experiment 2](10_hidden_size_and_data.ipynb), [11](19_four_layer.ipynb) |
# | 7. Monitoring the number of LCs can be useful for figuring out when to stop training | [experiment 10](18_training_time.ipynb) |

# %% tags=["parameters"]
scale = "book"

# %% tags=["presets"]
PRESETS = {"smoke": {}, "book": {}, "paper": {}}
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
CHOICES = {}
# RANGES: inclusive bounds for numbers (lists: every element); "path" must exist, "text" is free
RANGES = {}

# %%
import pandas as pd
from IPython.display import HTML, Markdown, display

from localcodes import book
from localcodes.experiments import paper000 as P000
from localcodes.store import atomic_path, results_dir

P = book.settings(PRESETS, scale, CHOICES, RANGES)
pd.set_option("display.max_colwidth", None)  # the findings are sentences
assert set(P000.CHECKS_CHAPTERS) <= set(AFTER), "the page must run after every chapter it reads"
tables = P000.findings_tables(P.scale)
have_paper = P000.has_paper_results(tables)
display(Markdown(f"Outcomes at the **`{P.scale}`** scale"
                 + (" and from stored **`paper`**-scale results." if have_paper else
                    "; no `paper`-scale checks are stored (`results/paper/` holds none for these chapters).")))
display(Markdown("**The rule.** " + P000.RULE))

# %% [markdown]
# ## Abstract
#
# Computed from the stored verdicts only; the build also writes it to `results/<scale>/29_findings/abstract.md`
# for the book's index page.

# %%
text = P000.abstract(P.scale)
with atomic_path(results_dir(P.scale, "29_findings") / "abstract.md") as tmp:
    tmp.write_text(text)
display(Markdown(text))

# %% [markdown]
# ## The seven findings
#
# Each finding's outcome (by the rule above) and how many of its claims had each outcome.

# %%
P000.findings_summary(tables, P.scale)

# %% [markdown]
# ## Claims per outcome

# %%
P000.outcome_counts(tables)

# %% [markdown]
# ## The evidence: every claim
#
# One row per claim a chapter tested (linked to its chapter), with the test, the number of networks (n), the
# effect and its interval, p, the outcome and — where inconclusive — about how many networks a side would decide
# it. Claims without a finding number are details of an experiment that bear on none of the seven.

# %%
display(HTML(P000.evidence_html(tables[P.scale][0], paper=tables["paper"][0] if have_paper else None)))

# %% [markdown]
# ## What the outcomes can and cannot say
#
# * At the `book` scale the networks are smaller, trained with 200-times larger steps for 200 times fewer epochs
#   and repeated far less often than in the paper: an outcome at this scale is a statement about these settings.
#   An *inconclusive* claim says how many networks would decide it; a *not reproduced* or *contradicted* one is
#   a measured disagreement at these settings, not a refutation of the paper's.
# * The smallest effects of interest and the equivalence margins are stated in each chapter; a different margin
#   can change an outcome, which is why each row names its test.

# %%
stored = P000.stored_chapters(P.scale)
display(Markdown(f"Local-codes chapters with results at `{P.scale}`: " + (", ".join(stored) or "none") + "."))
