"""The batched ensemble: equivalence with a plain loop, independence of members, measures, stopping,
resume."""

import numpy as np
import pytest
import torch
from localcodes import selectivity, train


@pytest.fixture(autouse=True)
def one_thread():
    # the test machine is shared: one intra-op thread avoids oversubscription stalls (results do not change)
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def small():
    return train.code_data(
        n_classes=4,
        length=40,
        n_per_class=12,
        n_test_per_class=20,
        n_val_per_class=10,
        output_length=10,
        seed=0,
    )


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
    data = small if not kw.get("softmax") else train.array_data(small.X, small.y, output="onehot")
    cfg = train.TrainConfig(**kw, epochs=4)
    res = train.train(data, cfg, n_networks=3)
    model = train.train_plain(data, cfg.with_(seed=1))
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    for layer, lin in enumerate(linears):
        w = res.ensemble.weights[layer][1]
        assert not torch.allclose(w, res.ensemble.weights[layer][0])  # networks differ from each other
        torch.testing.assert_close(lin.weight.detach().T, w, atol=2e-5, rtol=1e-4)
        torch.testing.assert_close(lin.bias.detach(), res.ensemble.biases[layer][1, 0], atol=2e-5, rtol=1e-4)


def test_member_independent_of_its_ensemble_with_dropout_and_noise(small):
    cfg = train.TrainConfig(hidden=(16,), lr=0.5, epochs=3, dropout=0.3, noise_std=0.2)
    crowd = train.train(small, [cfg.with_(seed=s) for s in (5, 6, 7)])
    alone = train.train(small, cfg.with_(seed=6))
    torch.testing.assert_close(
        crowd.ensemble.weights[0][1], alone.ensemble.weights[0][0], atol=1e-6, rtol=1e-5
    )
    # dropout and noise do change training
    clean = train.train(small, cfg.with_(seed=6, dropout=0.0, noise_std=0.0))
    assert not torch.allclose(clean.ensemble.weights[0][0], alone.ensemble.weights[0][0], atol=1e-4)


def test_checkpoint_rows_and_accuracy_definitions(small):
    cfg = train.TrainConfig(hidden=(16,), lr=1.0, epochs=6, checkpoints=(0, 2, 6))
    res = train.train(small, cfg, n_networks=2)
    h = res.history
    assert h.groupby("network")["epoch"].apply(list).tolist() == [[0, 2, 6], [0, 2, 6]]
    assert h.loc[h.epoch == 6, "final"].all() and not h.loc[h.epoch < 6, "final"].any()
    # recompute the final accuracies from the trained networks
    p = res.ensemble.forward(small.X)
    t = torch.as_tensor(small.targets[small.y])
    err = (p - t).abs().amax(-1)
    final = res.final
    np.testing.assert_allclose(final.train_acc, (err < 0.5).float().mean(1).numpy(), atol=1e-6)
    np.testing.assert_allclose(final.train_pm, (err <= 0.1).float().mean(1).numpy(), atol=1e-6)
    assert {"test_acc", "test_pm", "val_loss", "lc_pairs", "lc_units", "lc_pairs_h1"} <= set(h.columns)


def test_local_code_counts_equal_selectivity_local_codes():
    data = train.code_data(n_per_class=20, seed=1)
    cfg = train.TrainConfig(hidden=(60, 30), lr=2.0, epochs=40)
    res = train.train(data, cfg, n_networks=2)
    for r, row in res.final.iterrows():
        total = 0
        for layer in (0, 1):
            acts, labels = train.network_activations(res.ensemble, data, network=r, layer=layer)
            assert len(acts) == row.n_correct
            lc = selectivity.local_codes(acts, labels) if len(np.unique(labels)) > 1 else None
            n = 0 if lc is None else len(lc)
            assert row[f"lc_pairs_h{layer + 1}"] == n
            if lc is not None:
                assert row[f"lc_units_h{layer + 1}"] == lc.unit.nunique()
                assert row[f"lc_pairs_on_h{layer + 1}"] == (lc.kind == "on").sum()
            total += n
        assert row.lc_pairs == total


def test_count_local_codes_by_hand():
    # 1 network, 3 classes, 3 units: unit 0 on-codes class 0; unit 1 off-codes class 2; unit 2 ties (none)
    acts = torch.tensor([[0.9, 0.5, 0.3], [0.8, 0.6, 0.5], [0.1, 0.5, 0.5], [0.2, 0.7, 0.2], [0.3, 0.1, 0.1]])
    labels = torch.tensor([0, 0, 1, 1, 2])
    C = 3
    mins = torch.full((1, C, 3), torch.inf).scatter_reduce(
        1, labels[None, :, None].expand(1, 5, 3), acts[None], "amin"
    )
    maxs = torch.full((1, C, 3), -torch.inf).scatter_reduce(
        1, labels[None, :, None].expand(1, 5, 3), acts[None], "amax"
    )
    counts = torch.bincount(labels, minlength=C)[None].float()
    lc = train.count_local_codes(mins, maxs, counts)
    ref = selectivity.local_codes(acts.numpy(), labels.numpy())
    assert lc["pairs"].item() == len(ref)
    assert lc["on"][0].nonzero().tolist() == [[0, 0]]  # (class 0, unit 0)
    assert (lc["off"][0].nonzero().tolist()) == ref.loc[ref.kind == "off", ["cls", "unit"]].values.tolist()
    # a network that got no example of two classes right has no local codes at all
    lc1 = train.count_local_codes(mins, maxs, torch.tensor([[5.0, 0.0, 0.0]]))
    assert lc1["pairs"].item() == 0


def test_per_network_budgets_freeze_finished_networks(small):
    cfg = train.TrainConfig(hidden=(16,), lr=0.5)
    res = train.train(
        small,
        [cfg.with_(seed=0, epochs=2), cfg.with_(seed=1, epochs=5), cfg.with_(seed=2, epochs=9, max_steps=13)],
    )
    f = res.final.set_index("network")
    # 48 examples / batch 32 → 2 steps per epoch; the step budget of 13 runs out during epoch 7
    assert f.epoch.tolist() == [2, 5, 7] and (f.stop_reason == "budget").all()
    assert f.step.tolist() == [4, 10, 13]
    short = train.train(small, cfg.with_(seed=0, epochs=2))
    torch.testing.assert_close(res.ensemble.weights[0][0], short.ensemble.weights[0][0], atol=1e-6, rtol=1e-5)


def test_stop_on_training_accuracy(small):
    cfg = train.TrainConfig(hidden=(16,), lr=2.0, epochs=200, stop="train_acc", acc_target=0.99)
    res = train.train(
        small, [cfg.with_(seed=0), cfg.with_(seed=1, acc_target=1.0), cfg.with_(seed=2, epochs=1)]
    )
    f = res.final.set_index("network")
    assert f.loc[0, "stop_reason"] == "train_acc" and f.loc[0, "train_acc"] >= 0.99
    assert f.loc[0, "epochs_to_acc"] == f.loc[0, "epoch"] < 200
    assert f.loc[1, "epoch"] >= f.loc[0, "epoch"] or f.loc[1, "train_acc"] == 1.0
    assert f.loc[2, "stop_reason"] == "budget" and f.loc[2, "epoch"] == 1
    # one epoch earlier the accuracy was below the target (it stopped at the first epoch that reached it)
    e = int(f.loc[0, "epoch"])
    before = train.train(small, cfg.with_(seed=0, stop="budget", epochs=e - 1))
    assert before.final.train_acc.iloc[0] < 0.99


def test_stop_on_validation_loss(small):
    # shuffled targets: the net memorises, so the loss on fresh codewords with their real classes soon rises
    mem = train.Dataset(
        small.X,
        np.random.default_rng(0).permutation(small.y),
        small.targets,
        X_val=small.X_test,
        y_val=small.y_test,
    )
    cfg = train.TrainConfig(hidden=(16,), lr=2.0, epochs=60, stop="val_loss", patience=3)
    res = train.train(mem, cfg, n_networks=2)
    f = res.final
    assert (f.stop_reason == "val_loss").all() and (f.epoch < 60).all()
    # replay the rule on the full validation-loss curve of the same networks trained without stopping
    curve = train.train(mem, cfg.with_(stop="budget", checkpoints=range(1, 61)), n_networks=2).history
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
    cfg = train.TrainConfig(hidden=(16,), lr=0.5, epochs=6, dropout=0.2, checkpoints=(0, 3, 6))
    full = train.train(small, cfg, n_networks=2)
    state = tmp_path / "state.pt"
    original = train._Trainer._finish_epoch

    def killer(self):
        if self.epoch == 4:
            raise KeyboardInterrupt("simulated kill")
        return original(self)

    monkeypatch.setattr(train._Trainer, "_finish_epoch", killer)
    with pytest.raises(KeyboardInterrupt):
        train.train(small, cfg, n_networks=2, state_path=state, save_every_s=0)
    assert state.exists()
    monkeypatch.setattr(train._Trainer, "_finish_epoch", original)
    resumed = train.train(small, cfg, n_networks=2, state_path=state)
    assert not state.exists()
    torch.testing.assert_close(resumed.ensemble.weights[0], full.ensemble.weights[0])
    cols = ["network", "epoch", "train_acc", "lc_pairs"]
    assert resumed.history[cols].equals(full.history[cols])


def test_hidden_activations_shapes(small):
    res = train.train(small, train.TrainConfig(hidden=(7, 5), epochs=1), n_networks=3)
    hs = res.ensemble.hidden(small.X)
    assert [tuple(h.shape) for h in hs] == [(3, 48, 7), (3, 48, 5)]
    assert res.ensemble.forward(small.X).shape == (3, 48, 10)
    one = res.ensemble.member(2)
    torch.testing.assert_close(one.hidden(small.X, 1)[0], hs[1][2])


def test_per_network_datasets(small):
    other = train.code_data(
        n_classes=4,
        length=40,
        n_per_class=12,
        n_test_per_class=20,
        n_val_per_class=10,
        output_length=10,
        seed=9,
    )
    cfg = train.TrainConfig(hidden=(16,), lr=0.5, epochs=3)
    both = train.train([small, other], [cfg.with_(seed=0), cfg.with_(seed=1)])
    alone = train.train(other, cfg.with_(seed=1))
    torch.testing.assert_close(
        both.ensemble.weights[0][1], alone.ensemble.weights[0][0], atol=1e-6, rtol=1e-5
    )


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(activation="tanh"), "activation"),
        (dict(dropout=1.0), "dropout"),
        (dict(loss="ce"), "softmax"),
        (dict(optimizer="rmsprop"), "optimizer"),
        (dict(stop="never"), "stop"),
        (dict(hidden=()), "hidden"),
        (dict(lr=0), "lr"),
        (dict(batch_size=0), "batch_size"),
        (dict(noise_std=-1), "noise_std"),
    ],
)
def test_bad_settings_refused(kwargs, name):
    with pytest.raises(ValueError, match=name):
        train.TrainConfig(**kwargs)


def test_bad_training_calls_refused(small):
    no_val = train.code_data(n_classes=4, length=40, n_per_class=5, output_length=10)
    with pytest.raises(ValueError, match="validation"):
        train.train(no_val, train.TrainConfig(hidden=(4,), stop="val_loss", epochs=1))
    with pytest.raises(ValueError, match="share"):
        train.train(small, [train.TrainConfig(hidden=(4,)), train.TrainConfig(hidden=(5,))])
    with pytest.raises(ValueError, match="unknown training setting"):
        train.TrainConfig.from_dict({"hiden": [3]})
    with pytest.raises(ValueError, match="X must be"):
        train.Dataset(np.zeros(5), np.zeros(5), np.eye(2))


def test_local_codes_emerge_at_book_scale():
    # the documented book setting: standard code (500 bits, 10 classes, 500 examples), 500 sigmoid units
    data = train.code_data(n_per_class=50, seed=0)
    cfg = train.TrainConfig(hidden=(500,), **train.BOOK_DEFAULTS)
    res = train.train(data, cfg, n_networks=2)
    f = res.final
    assert (f.train_acc == 1.0).all()
    assert (f.lc_pairs >= 3).all(), f.lc_pairs.tolist()


def _dispatched_ops(fn) -> list[str]:
    """The operators ``fn`` dispatches that compute (views and allocations launch no kernel)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    ops: list[str] = []

    class Count(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            name = func.overloadpacket.__name__
            if not func.is_view and not name.startswith(("empty", "lift_fresh", "detach", "_unsafe_view")):
                ops.append(name)
            return func(*args, **(kwargs or {}))

    with Count():
        fn()
    return ops


@pytest.mark.parametrize("hidden", [(16,), (12, 8)])
def test_kernel_count_of_a_step_matches_the_projection(small, hidden):
    cfg = train.TrainConfig(hidden=hidden, lr=0.5, epochs=1, batch_size=8)
    tr = train._Trainer(small, [cfg.with_(seed=i) for i in range(3)], torch.device("cpu"))
    tr._prepare_epoch()
    ops = _dispatched_ops(lambda: tr._epoch_body(lambda c: ([], [])))
    assert len(ops) / tr.n_steps == train.kernels_per_step(len(hidden) + 1), ops[: len(ops) // tr.n_steps]


def test_cuda_graph_setting_checked(small):
    cfg = train.TrainConfig(hidden=(8,), epochs=1)
    with pytest.raises(ValueError, match="cuda_graphs"):
        train.train(small, cfg, cuda_graphs="yes")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA device"):
            train.train(small, cfg, device="cpu", cuda_graphs=True)
    assert train.train(small, cfg, device="cpu", cuda_graphs=False).history.shape[0] == 1


def test_epoch_from_predrawn_buffers_equals_eager():
    """What a CUDA graph replays: the epoch body on fixed buffers, with all of an epoch's draws made up front
    (here on the CPU) -- it must give the eagerly trained networks, dropout, noise and step budgets included."""
    data = train.code_data(n_classes=4, length=40, n_per_class=75, output_length=10, seed=0)  # 300 rows
    cfg = train.TrainConfig(hidden=(16, 8), lr=0.3, dropout=0.2, noise_std=0.1, batch_size=32, epochs=4)
    configs = [cfg.with_(seed=i, max_steps=25 if i == 1 else None) for i in range(3)]
    eager = train._Trainer(data, configs, torch.device("cpu"))
    fixed = train._Trainer(data, configs, torch.device("cpu"))
    assert fixed._n_chunks() > 1  # several chunks of draws per epoch
    for _ in range(4):
        eager._epoch()
        fixed._prepare_epoch()
        draws = fixed._predraw()
        fixed._epoch_body(lambda c, draws=draws: draws[c])
        fixed._end_epoch()
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
    cfg = train.TrainConfig(epochs=12, checkpoints=(0, 5, 12), **kw)
    eager = train.train(small, cfg, n_networks=4, device="cuda", cuda_graphs=False)
    graph = train.train(small, cfg, n_networks=4, device="cuda", cuda_graphs=True)
    for a, b in zip(eager.ensemble.weights, graph.ensemble.weights, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    cols = ["network", "epoch", "step", "train_loss", "train_acc", "lc_pairs"]
    np.testing.assert_allclose(
        eager.history[cols].to_numpy(float), graph.history[cols].to_numpy(float), atol=1e-5
    )

