"""Accuracies and local-code counts, against their definitions and ``selectivity.local_codes``."""

import numpy as np
import torch
from localcodes import engine, selectivity


def test_checkpoint_rows_and_accuracy_definitions(small):
    cfg = engine.TrainConfig(hidden=(16,), lr=1.0, epochs=6, checkpoints=(0, 2, 6))
    res = engine.train(small, cfg, n_networks=2)
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
    data = engine.code_data(n_per_class=20, seed=1)
    cfg = engine.TrainConfig(hidden=(60, 30), lr=2.0, epochs=40)
    res = engine.train(data, cfg, n_networks=2)
    for r, row in res.final.iterrows():
        total = 0
        for layer in (0, 1):
            acts, labels = engine.network_activations(res.ensemble, data, network=r, layer=layer)
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
    lc = engine.count_local_codes(mins, maxs, counts)
    ref = selectivity.local_codes(acts.numpy(), labels.numpy())
    assert lc["pairs"].item() == len(ref)
    assert lc["on"][0].nonzero().tolist() == [[0, 0]]  # (class 0, unit 0)
    assert (lc["off"][0].nonzero().tolist()) == ref.loc[ref.kind == "off", ["cls", "unit"]].values.tolist()
    # a network that got no example of two classes right has no local codes at all
    lc1 = engine.count_local_codes(mins, maxs, torch.tensor([[5.0, 0.0, 0.0]]))
    assert lc1["pairs"].item() == 0
