"""CUDA graphs: the setting is checked, the epoch a graph replays equals eager training (on the CPU), and on a
GPU the replay equals eager launches."""

import numpy as np
import pytest
import torch
from localcodes import engine


def test_cuda_graph_setting_checked(small):
    cfg = engine.TrainConfig(hidden=(8,), epochs=1)
    with pytest.raises(ValueError, match="cuda_graphs"):
        engine.train(small, cfg, cuda_graphs="yes")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA device"):
            engine.train(small, cfg, device="cpu", cuda_graphs=True)
    assert engine.train(small, cfg, device="cpu", cuda_graphs=False).history.shape[0] == 1


def test_epoch_from_predrawn_buffers_equals_eager():
    """What a CUDA graph replays: the epoch body on fixed buffers, with all of an epoch's draws made up front
    (here on the CPU) -- it must give the eagerly trained networks, dropout, noise and step budgets included."""
    data = engine.code_data(n_classes=4, length=40, n_per_class=75, output_length=10, seed=0)  # 300 rows
    cfg = engine.TrainConfig(hidden=(16, 8), lr=0.3, dropout=0.2, noise_std=0.1, batch_size=32, epochs=4)
    configs = [cfg.with_(seed=i, max_steps=25 if i == 1 else None) for i in range(3)]
    eager = engine.Trainer(data, configs, torch.device("cpu"))
    fixed = engine.Trainer(data, configs, torch.device("cpu"))
    assert fixed.n_chunks() > 1  # several chunks of draws per epoch
    for _ in range(4):
        eager.run_epoch()
        fixed.prepare_epoch()
        draws = fixed.predraw()
        fixed.epoch_body(lambda c, draws=draws: draws[c])
        fixed.end_epoch()
    for a, b in zip(eager.params, fixed.params, strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    assert list(fixed.steps_done) == list(eager.steps_done) and fixed.steps_done[1] == 25


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
@pytest.mark.parametrize(
    "kw",
    [
        dict(hidden=(16,), lr=0.5),
        dict(hidden=(16, 8), dropout=0.2, noise_std=0.1, lr=0.3, max_steps=40),
        dict(hidden=(16,), optimizer="adam", lr=0.01, momentum=0.0),
    ],
)
def test_cuda_graph_replay_equals_eager_launches(small, kw):
    """Epochs replayed as CUDA graphs give the eager ensemble, draws, budgets and all (on a GPU only)."""
    cfg = engine.TrainConfig(epochs=12, checkpoints=(0, 5, 12), **kw)
    eager = engine.train(small, cfg, n_networks=4, device="cuda", cuda_graphs=False)
    graph = engine.train(small, cfg, n_networks=4, device="cuda", cuda_graphs=True)
    for a, b in zip(eager.ensemble.weights, graph.ensemble.weights, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    cols = ["network", "epoch", "step", "train_loss", "train_acc", "lc_pairs"]
    np.testing.assert_allclose(
        eager.history[cols].to_numpy(float), graph.history[cols].to_numpy(float), atol=1e-5
    )
