"""Data sets: one per network, stacked in one ensemble."""

import torch
from localcodes import engine


def test_per_network_datasets(small):
    other = engine.code_data(
        n_classes=4,
        length=40,
        n_per_class=12,
        n_test_per_class=20,
        n_val_per_class=10,
        output_length=10,
        seed=9,
    )
    cfg = engine.TrainConfig(hidden=(16,), lr=0.5, epochs=3)
    both = engine.train([small, other], [cfg.with_(seed=0), cfg.with_(seed=1)])
    alone = engine.train(other, cfg.with_(seed=1))
    torch.testing.assert_close(
        both.ensemble.weights[0][1], alone.ensemble.weights[0][0], atol=1e-6, rtol=1e-5
    )
