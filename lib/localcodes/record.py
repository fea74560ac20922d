"""Activation tables, the public entry point: hooks on named layers, in memory (``activations``) or streamed to
HDF5 (``record``), and the measures of a recorded table (``measure_table``).

Conventions of paper 001: a convolutional layer's value for an image is each filter's maximum over space
(``pooling="max"``; ``"mean"`` is the other choice); only correctly classified images are kept in a recorded table
(it says how many it kept of how many); ``prob`` is softmax(fc8). With ``device=None`` a model runs where it is; a
device moves it there for the run and back. The pieces live in ``localcodes.selectivity``: ``extract`` (the
hook-based recorder), ``images`` (an ImageNet-style folder), ``models`` (your network from
``package.module:factory`` or a ``torch.export`` file), ``tables`` (the HDF5 tables) and ``cli`` (``localcodes
record`` and ``localcodes selectivity``); the benchmark is ``localcodes.bench.selectivity``.
"""

from .selectivity.cli import main, selectivity_main
from .selectivity.extract import CONV_POOLINGS, PROB, activations, iter_activations, resolve_layers
from .selectivity.images import IMAGE_SUFFIXES, IMAGENET_MEAN, IMAGENET_STD, ImageFolder
from .selectivity.models import load_model
from .selectivity.tables import FORMAT, measure_table, model_identity, read_table, read_units, record, synthetic_table

__all__ = [
    "resolve_layers",
    "activations",
    "iter_activations",
    "ImageFolder",
    "load_model",
    "model_identity",
    "record",
    "read_table",
    "measure_table",
    "read_units",
    "synthetic_table",
    "main",
    "selectivity_main",
    "FORMAT",
    "PROB",
    "CONV_POOLINGS",
    "IMAGE_SUFFIXES",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
]
