"""Paper 001 (*Selectivity metrics can overestimate the selectivity of units: a case study on AlexNet*): what the
AlexNet chapter compares with and how it judges it.

* ``reported`` — the paper's numbers (Tables 1, A1, A2, Figs. 3–5, §2), each with its source;
* ``checks`` — the paper's claims judged with ``localcodes.verdicts``, units as the unit of analysis;
* ``classes`` — the measures on subsets of the classes of one table (and of synthetic units).

The chapter's data and tables are in ``localcodes.experiments.alexnet``.
"""

from . import checks, classes, reported

__all__ = ["checks", "classes", "reported"]
