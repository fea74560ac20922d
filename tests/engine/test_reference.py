"""The plain reference loop computes the same network as an ensemble member."""

import pytest
import torch
from localcodes import engine


@pytest.mark.parametrize(
    "kw",
    [
        dict(hidden=(16,), optimizer="sgd", lr=0.5),
        dict(hidden=(16,), optimizer="sgd", lr=0.2, momentum=0.5, batch_size=7),
        dict(hidden=(12, 8), activation="relu", softmax=True, optimizer="adam", lr=0.01),
        dict(hidden=(12,), softmax=True, loss="bce", optimizer="adam", lr=0.01),
    ],
)
def test_member_equals_plain_loop(small, kw):
    data = small if not kw.get("softmax") else engine.array_data(small.X, small.y, output="onehot")
    cfg = engine.TrainConfig(**kw, epochs=4)
    res = engine.train(data, cfg, n_networks=3)
    model = engine.train_plain(data, cfg.with_(seed=1))
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    for layer, lin in enumerate(linears):
        w = res.ensemble.weights[layer][1]
        assert not torch.allclose(w, res.ensemble.weights[layer][0])  # networks differ from each other
        torch.testing.assert_close(lin.weight.detach().T, w, atol=2e-5, rtol=1e-4)
        torch.testing.assert_close(lin.bias.detach(), res.ensemble.biases[layer][1, 0], atol=2e-5, rtol=1e-4)
