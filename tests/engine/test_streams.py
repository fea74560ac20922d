"""Every network owns its random streams: a member does not depend on its ensemble."""

import torch
from localcodes import engine


def test_member_independent_of_its_ensemble_with_dropout_and_noise(small):
    cfg = engine.TrainConfig(hidden=(16,), lr=0.5, epochs=3, dropout=0.3, noise_std=0.2)
    crowd = engine.train(small, [cfg.with_(seed=s) for s in (5, 6, 7)])
    alone = engine.train(small, cfg.with_(seed=6))
    torch.testing.assert_close(
        crowd.ensemble.weights[0][1], alone.ensemble.weights[0][0], atol=1e-6, rtol=1e-5
    )
    # dropout and noise do change training
    clean = engine.train(small, cfg.with_(seed=6, dropout=0.0, noise_std=0.0))
    assert not torch.allclose(clean.ensemble.weights[0][0], alone.ensemble.weights[0][0], atol=1e-4)
