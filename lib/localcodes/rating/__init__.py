"""Rating activation-maximisation panels, and paper 001's Table 2 analysis of the ratings.

Paper 001 (§3.3, App. A1) showed 10 x 10 AM panels to 333 people, each rating a counterbalanced list of about
52 panels: "Can you identify multiple examples of an everyday object, place or animal?", and if so, "which".
Here two kinds of raters write to one SQLite store (:mod:`.store`: rater, kind, layer, unit, panel, yes/no, the
named object, time):

1. **people** — :class:`RatingSession` (:mod:`.widget`), an ipywidgets rater that shows a rater's list in its
   counterbalanced order (:mod:`.lists`), records every answer at once and resumes where the rater stopped (it
   needs a live kernel);
2. **automated observers** — small classifiers trained independently on the network's data (:mod:`.observers`);
   observer *k* says "yes" to a panel when most of its images fall, with confidence, into one class, and names
   that class.

:mod:`.analysis` turns the ratings into Table 2 and asks whether interpretable units are selective.
"""

from .analysis import PAPER_TABLE2, canonical_name, interpretable_selectivity, table2, unit_summary
from .lists import counterbalanced_lists, rater_order
from .observers import (
    OBSERVER_ARCHS,
    ObserverEnsemble,
    observer_predictions,
    observer_ratings,
    phase_scrambled,
    train_observers,
)
from .store import KINDS, RatingStore
from .widget import NAME_QUESTION, QUESTION, RatingSession

__all__ = [
    "QUESTION",
    "NAME_QUESTION",
    "KINDS",
    "PAPER_TABLE2",
    "RatingStore",
    "counterbalanced_lists",
    "rater_order",
    "RatingSession",
    "OBSERVER_ARCHS",
    "ObserverEnsemble",
    "train_observers",
    "observer_predictions",
    "phase_scrambled",
    "observer_ratings",
    "canonical_name",
    "unit_summary",
    "table2",
    "interpretable_selectivity",
]
