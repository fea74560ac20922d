"""The locality prior: a wiring cost for fully connected layers, the networks that carry it, and the measures
of what it does.

* ``layer`` — the grid, the prior ``P_ij = 1 / f(1 + d_ij)`` and the ``LocalityPrior`` layer ``y = (W ⊙ P)x + b``;
* ``models`` — ``LeNet`` with the extra layer, the classifier ``Head`` and their batched stacks (one member per
  arm and seed);
* ``training`` — ``train_stack`` and ``evaluate_stack``;
* ``clustering`` — per-class maps on the grid, their 2-D variance and the paired tests;
* ``pruning`` — pruning ``W ⊙ P`` after training and the wiring of what is kept.
"""

from .clustering import (
    class_maps,
    clustering_table,
    image_level_test,
    paired_clustering_tests,
    permuted_variance,
    variance_2d,
)
from .layer import (
    DECAYS,
    LocalityPrior,
    StackedLinear,
    grid_coords,
    grid_distance,
    grid_prior,
    grid_side,
    wiring_penalty,
)
from .models import (
    ARMS,
    AlexNetLP,
    AlexNetLPStack,
    Head,
    HeadStack,
    LeNet,
    LeNetStack,
    arm_decay,
    members_table,
    seeded,
)
from .pruning import prune_by_magnitude, pruning_curve, score_ranks, wiring_lengths
from .training import OPTIMIZERS, evaluate_stack, train_stack

__all__ = [
    "DECAYS",
    "ARMS",
    "AlexNetLP",
    "AlexNetLPStack",
    "OPTIMIZERS",
    "grid_side",
    "grid_coords",
    "grid_distance",
    "grid_prior",
    "LocalityPrior",
    "StackedLinear",
    "wiring_penalty",
    "Head",
    "HeadStack",
    "LeNet",
    "LeNetStack",
    "arm_decay",
    "seeded",
    "members_table",
    "train_stack",
    "evaluate_stack",
    "class_maps",
    "variance_2d",
    "permuted_variance",
    "clustering_table",
    "paired_clustering_tests",
    "image_level_test",
    "score_ranks",
    "prune_by_magnitude",
    "wiring_lengths",
    "pruning_curve",
]
