"""``localcodes.record`` is the public entry point to activation tables: it re-exports the recorder, the image
folder, the HDF5 tables and the command lines from ``localcodes.selectivity``."""

from __future__ import annotations

import inspect

from localcodes import record
from localcodes.selectivity import cli, extract, images, models, tables


def test_the_facade_exports_the_public_names():
    assert record.record is tables.record and record.read_table is tables.read_table
    assert record.measure_table is tables.measure_table and record.read_units is tables.read_units
    assert record.model_identity is tables.model_identity and record.synthetic_table is tables.synthetic_table
    assert record.activations is extract.activations and record.iter_activations is extract.iter_activations
    assert record.resolve_layers is extract.resolve_layers and record.PROB == extract.PROB == "prob"
    assert record.ImageFolder is images.ImageFolder and record.FORMAT == tables.FORMAT
    assert record.main is cli.main and record.selectivity_main is cli.selectivity_main
    assert record.load_model is models.load_model and record.CONV_POOLINGS == extract.CONV_POOLINGS == ("max", "mean")
    assert all(hasattr(record, name) for name in record.__all__)


def test_the_conv_pooling_is_a_choice_of_every_recorder():
    for fn in (record.activations, record.iter_activations, record.record):
        assert inspect.signature(fn).parameters["pooling"].default == "max", fn.__name__
