"""Batched ensembles of small MLPs for paper 000: R networks in one tensor program, measured as they learn.

The pieces, in the order a chapter uses them
--------------------------------------------
* **Data** (:mod:`.data`) — :class:`Dataset` (train inputs ``X`` (N, D) float, classes ``y``, one target vector
  per class, optional test and validation sets). Make one from a prototype code with :func:`code_data`
  (experiments 1–11, 13) or from any float matrix with :func:`array_data` (MNIST-format digits with hot-pixel
  invariants, experiment 12: ``array_data(digits.flat(), digits.labels, output="onehot")``).
* **Settings** (:mod:`.config`) — :class:`TrainConfig`: hidden sizes (any number of hidden layers),
  sigmoid/ReLU, softmax or not, BCE or cross-entropy, dropout after every hidden layer, activation noise, SGD or
  Adam, batch size, the U(-0.05, 0.05) init, the stopping rule (``"budget"`` of epochs and/or steps,
  ``"val_loss"``, ``"train_acc"``) and the ``checkpoints`` (epochs) at which the networks are measured
  (:func:`log_checkpoints`). ``PAPER_DEFAULTS`` are the authors' settings; ``BOOK_DEFAULTS`` the fast settings
  for the book scale (read its comment before using it).
* **Training** (:mod:`.trainer`) — :func:`train` trains R networks at once (one :class:`TrainConfig` each, or
  one for all) and returns a :class:`TrainResult`: the trained :class:`Ensemble` and ``history``, a DataFrame
  with one row per network per checkpoint (accuracies, losses, local-code counts, epochs to 99 %).
  :class:`Trainer` is the loop itself, to drive an epoch at a time.
* **Looking inside** (:mod:`.ensemble`, :mod:`.measures`) — :meth:`Ensemble.hidden` (hidden activations of every
  network, (R, N, U)) and :func:`network_activations` (one network's activations on the examples it classifies
  correctly, with labels: the input of ``selectivity.local_codes`` and ``charts.jitterplot``).
* **Sweeps** (:mod:`.sweeps`) — :func:`sweep` runs a grid of conditions × repeats (batching whatever can share
  one ensemble), in-process or on a ``dask.distributed`` scheduler, writing one Parquet part per finished
  ensemble to a :class:`localcodes.store.ResultsStore`; a killed sweep resumes and recomputes nothing already
  stored. Run-time estimates and projections are benchmarks: ``localcodes.bench.train``.
* **On a GPU** (:mod:`.graphs`) — small ensembles are bound by kernel launches (~24 per optimiser step), not
  arithmetic. So on a CUDA device each epoch after the first (a warm-up) is captured once as a CUDA graph and
  replayed (one launch per epoch; ``cuda_graphs=``), and :func:`sweep` trains several ensembles at once on their
  own CUDA streams (``concurrent=``, default 6 on CUDA), e.g. experiment 1's six hidden sizes. Neither changes
  the numbers beyond float rounding; ``scripts/gpu_check.sh`` runs the GPU tests and benchmarks on a lent GPU.

Measures: **classification accuracy** = every output bit within 0.5 of its target; **pattern-matching accuracy**
= every bit within 0.1. **Local codes** are counted per network on the training set, on the examples that
network classifies correctly (``lc_examples="correct"``, the paper's definition; ``"all"`` uses every example),
per hidden layer: ``lc_pairs`` (unit, class) pairs, split into ``lc_on``/``lc_off``, ``lc_units`` (units with
at least one local code, ``lc_units_on``/``lc_units_off``), ``lc_classes`` (classes with at least one). Per
layer columns carry the suffix ``_h1``, ``_h2``…; the unsuffixed columns sum over hidden layers. The counts
equal ``selectivity.local_codes`` on the same table (tested).

Randomness (:mod:`.streams`): each network owns four ``torch.Generator`` streams derived from its ``seed``
(init, data order, dropout, noise), so a network's numbers do not depend on which other networks share its
ensemble; without dropout and noise an ensemble member equals the same network trained alone by a plain PyTorch
loop (:func:`train_plain`, :mod:`.reference`; tested to float tolerance). Same seed → same numbers on the same
device.

Example (experiment 1 at book scale)::

    from localcodes import engine
    data = engine.code_data(n_per_class=50, seed=0)
    cfg = engine.TrainConfig(hidden=(500,), **engine.BOOK_DEFAULTS, checkpoints=engine.log_checkpoints(225, 10))
    res = engine.train(data, [cfg.with_(seed=s) for s in range(5)])
    res.history[["network", "epoch", "train_acc", "lc_pairs", "lc_units"]]
"""

from .config import (
    ACTIVATIONS,
    BOOK_DEFAULTS,
    BOOK_EPOCH_SCALE,
    LOSSES,
    OPTIMIZERS,
    PAPER_DEFAULTS,
    PER_NETWORK,
    STOPS,
    TRAIN_KEYS,
    TrainConfig,
    log_checkpoints,
)
from .data import Dataset, array_data, code_data
from .ensemble import Ensemble
from .measures import count_local_codes, network_activations
from .reference import train_plain
from .sweeps import (
    AUTO_CONCURRENT_CUDA,
    DASK_ENV,
    SweepTask,
    auto_max_networks,
    data_identity,
    expand_grid,
    group_tasks,
    split_params,
    sweep,
    sweep_tasks,
    use_dask,
)
from .trainer import Trainer, TrainResult, train

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "OPTIMIZERS",
    "STOPS",
    "PAPER_DEFAULTS",
    "BOOK_DEFAULTS",
    "BOOK_EPOCH_SCALE",
    "PER_NETWORK",
    "TRAIN_KEYS",
    "Dataset",
    "code_data",
    "array_data",
    "TrainConfig",
    "Ensemble",
    "TrainResult",
    "Trainer",
    "train",
    "train_plain",
    "count_local_codes",
    "network_activations",
    "log_checkpoints",
    "expand_grid",
    "sweep",
    "AUTO_CONCURRENT_CUDA",
    "DASK_ENV",
    "use_dask",
    "SweepTask",
    "sweep_tasks",
    "split_params",
    "group_tasks",
    "auto_max_networks",
    "data_identity",
]
