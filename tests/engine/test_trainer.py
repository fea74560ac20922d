"""The batched trainer: per-network budgets, stopping rules, resume after a kill, refusals, and local codes at
the book's settings."""

import numpy as np
import pytest
import torch
from localcodes import engine


def test_per_network_budgets_freeze_finished_networks(small):
    cfg = engine.TrainConfig(hidden=(16,), lr=0.5)
    res = engine.train(
        small,
        [cfg.with_(seed=0, epochs=2), cfg.with_(seed=1, epochs=5), cfg.with_(seed=2, epochs=9, max_steps=13)],
    )
    f = res.final.set_index("network")
    # 48 examples / batch 32 → 2 steps per epoch; the step budget of 13 runs out during epoch 7
    assert f.epoch.tolist() == [2, 5, 7] and (f.stop_reason == "budget").all()
    assert f.step.tolist() == [4, 10, 13]
    short = engine.train(small, cfg.with_(seed=0, epochs=2))
    torch.testing.assert_close(res.ensemble.weights[0][0], short.ensemble.weights[0][0], atol=1e-6, rtol=1e-5)


def test_stop_on_training_accuracy(small):
    cfg = engine.TrainConfig(hidden=(16,), lr=2.0, epochs=200, stop="train_acc", acc_target=0.99)
    res = engine.train(
        small, [cfg.with_(seed=0), cfg.with_(seed=1, acc_target=1.0), cfg.with_(seed=2, epochs=1)]
    )
    f = res.final.set_index("network")
    assert f.loc[0, "stop_reason"] == "train_acc" and f.loc[0, "train_acc"] >= 0.99
    assert f.loc[0, "epochs_to_acc"] == f.loc[0, "epoch"] < 200
    assert f.loc[1, "epoch"] >= f.loc[0, "epoch"] or f.loc[1, "train_acc"] == 1.0
    assert f.loc[2, "stop_reason"] == "budget" and f.loc[2, "epoch"] == 1
    # one epoch earlier the accuracy was below the target (it stopped at the first epoch that reached it)
    e = int(f.loc[0, "epoch"])
    before = engine.train(small, cfg.with_(seed=0, stop="budget", epochs=e - 1))
    assert before.final.train_acc.iloc[0] < 0.99


def test_stop_on_validation_loss(small):
    # shuffled targets: the net memorises, so the loss on fresh codewords with their real classes soon rises
    mem = engine.Dataset(
        small.X,
        np.random.default_rng(0).permutation(small.y),
        small.targets,
        X_val=small.X_test,
        y_val=small.y_test,
    )
    cfg = engine.TrainConfig(hidden=(16,), lr=2.0, epochs=60, stop="val_loss", patience=3)
    res = engine.train(mem, cfg, n_networks=2)
    f = res.final
    assert (f.stop_reason == "val_loss").all() and (f.epoch < 60).all()
    # replay the rule on the full validation-loss curve of the same networks trained without stopping
    curve = engine.train(mem, cfg.with_(stop="budget", checkpoints=range(1, 61)), n_networks=2).history
    for r, row in f.iterrows():
        losses = curve[curve.network == r].sort_values("epoch").val_loss.to_numpy()
        best, wait, stop_at = np.inf, 0, None
        for epoch, v in enumerate(losses, 1):
            if v < best:
                best, wait = v, 0
            else:
                wait += 1
                if wait >= 3:
                    stop_at = epoch
                    break
        assert row.epoch == stop_at


def test_resume_after_a_kill_gives_the_same_network(small, tmp_path, monkeypatch):
    cfg = engine.TrainConfig(hidden=(16,), lr=0.5, epochs=6, dropout=0.2, checkpoints=(0, 3, 6))
    full = engine.train(small, cfg, n_networks=2)
    state = tmp_path / "state.pt"
    original = engine.Trainer.finish_epoch

    def killer(self):
        if self.epoch == 4:
            raise KeyboardInterrupt("simulated kill")
        return original(self)

    monkeypatch.setattr(engine.Trainer, "finish_epoch", killer)
    with pytest.raises(KeyboardInterrupt):
        engine.train(small, cfg, n_networks=2, state_path=state, save_every_s=0)
    assert state.exists()
    monkeypatch.setattr(engine.Trainer, "finish_epoch", original)
    resumed = engine.train(small, cfg, n_networks=2, state_path=state)
    assert not state.exists()
    torch.testing.assert_close(resumed.ensemble.weights[0], full.ensemble.weights[0])
    cols = ["network", "epoch", "train_acc", "lc_pairs"]
    assert resumed.history[cols].equals(full.history[cols])


def test_bad_training_calls_refused(small):
    no_val = engine.code_data(n_classes=4, length=40, n_per_class=5, output_length=10)
    with pytest.raises(ValueError, match="validation"):
        engine.train(no_val, engine.TrainConfig(hidden=(4,), stop="val_loss", epochs=1))
    with pytest.raises(ValueError, match="share"):
        engine.train(small, [engine.TrainConfig(hidden=(4,)), engine.TrainConfig(hidden=(5,))])
    with pytest.raises(ValueError, match="unknown training setting"):
        engine.TrainConfig.from_dict({"hiden": [3]})
    with pytest.raises(ValueError, match="X must be"):
        engine.Dataset(np.zeros(5), np.zeros(5), np.eye(2))


def test_local_codes_emerge_at_book_scale():
    # the documented book setting: standard code (500 bits, 10 classes, 500 examples), 500 sigmoid units
    data = engine.code_data(n_per_class=50, seed=0)
    cfg = engine.TrainConfig(hidden=(500,), **engine.BOOK_DEFAULTS)
    res = engine.train(data, cfg, n_networks=2)
    f = res.final
    assert (f.train_acc == 1.0).all()
    assert (f.lc_pairs >= 3).all(), f.lc_pairs.tolist()
