"""The ensemble's forward pass and its members."""

import torch
from localcodes import engine


def test_hidden_activations_shapes(small):
    res = engine.train(small, engine.TrainConfig(hidden=(7, 5), epochs=1), n_networks=3)
    hs = res.ensemble.hidden(small.X)
    assert [tuple(h.shape) for h in hs] == [(3, 48, 7), (3, 48, 5)]
    assert res.ensemble.forward(small.X).shape == (3, 48, 10)
    one = res.ensemble.member(2)
    torch.testing.assert_close(one.hidden(small.X, 1)[0], hs[1][2])
