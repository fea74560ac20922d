"""HDF5 activation tables: recording (correct images only, resumable to the same file), reading and measuring."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
from localcodes import nets
from localcodes.selectivity import tables
from localcodes.selectivity.extract import activations


def _images_and_model(n=40, seed=0):
    """A tiny grey image set whose labels are the network's prediction for 2 of every 3 images."""
    torch.manual_seed(seed)
    model = nets.AlexNet(num_classes=4, in_channels=1, width=0.125, pool_size=1).eval()
    raw = torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8)
    data = nets.ImageData(raw, torch.zeros(n, dtype=torch.int64), torch.arange(n) + 1000, 64, 0.5, 0.25,
                          "random", "test", "train", ["a", "b", "c", "d"])
    with torch.no_grad():
        pred = model(data.images).argmax(1)
    wrong = torch.arange(n) % 3 == 2
    data.labels = torch.where(wrong, (pred + 1) % 4, pred)
    return model, data, ~wrong


def _same_file(p, q):
    with h5py.File(p) as f, h5py.File(q) as g:
        assert {k: str(v) for k, v in f.attrs.items()} == {k: str(v) for k, v in g.attrs.items()}
        names = []
        f.visit(names.append)
        other = []
        g.visit(other.append)
        assert names == other
        for name in names:
            if isinstance(f[name], h5py.Dataset):
                np.testing.assert_array_equal(f[name][:], g[name][:])
                assert f[name].chunks == g[name].chunks


def test_record_keeps_correct_images_and_resumes_to_the_same_file(tmp_path):
    model, data, correct = _images_and_model()
    layers = ["conv5", "fc7", "prob"]
    whole = tables.record(model, layers, data, tmp_path / "whole.h5", batch_size=6, chunk_rows=8, progress=False)
    with h5py.File(whole) as f:
        assert f["ids"][:].tolist() == (torch.arange(40)[correct] + 1000).tolist()
        np.testing.assert_array_equal(f["labels"][:], f["predictions"][:])
        assert f.attrs["n_correct"] == int(correct.sum()) and f.attrs["complete"]
    ref = activations(model, layers, data.images[correct], batch_size=7)
    with h5py.File(whole) as f:
        for name in layers:
            np.testing.assert_allclose(f[f"acts/{name}"][:], ref[name].numpy(), rtol=1e-5, atol=1e-6)

    part = tmp_path / "part.h5"
    tables.record(model, layers, data, part, batch_size=6, chunk_rows=8, max_batches=3, progress=False)
    meta = tables.read_table(part)
    assert not meta["complete"] and 0 < meta["images_done"] < 40
    with h5py.File(part, "a") as f:  # a write cut short after growing the datasets: junk rows past n_rows
        n = f.attrs["n_rows"]
        for name in ("labels", "predictions", "ids"):
            f[name].resize((n + 3,))
        for name in layers:
            f[f"acts/{name}"].resize((n + 3, f[f"acts/{name}"].shape[1]))
            f[f"acts/{name}"][n:] = 99.0
    tables.record(model, layers, data, part, batch_size=6, chunk_rows=8, progress=False)
    _same_file(whole, part)

    with pytest.raises(ValueError, match="made differently.*layers"):
        tables.record(model, ["fc6"], data, part, batch_size=6, progress=False)


def test_bad_tables_and_layers_are_named(tmp_path):
    model, data, _ = _images_and_model(n=12)
    with pytest.raises(ValueError, match="layer 'fc9' does not exist"):
        tables.record(model, ["fc9"], data, tmp_path / "x.h5", progress=False)
    with pytest.raises(ValueError, match="needs labels"):
        tables.record(model, ["fc8"], data.images, tmp_path / "y.h5", progress=False)
    path = tables.record(model, ["fc8", "prob"], data, tmp_path / "t.h5", batch_size=4, correct_only=False,
                         progress=False)
    with pytest.raises(ValueError, match=r"layer 'fc9' is not in .*holds \['fc8', 'prob'\]"):
        tables.measure_table(path, ["fc9"], k=2, progress=False)
    with h5py.File(path, "a") as f:  # labels and rows disagree
        f["labels"].resize((f["labels"].shape[0] - 2,))
    with pytest.raises(ValueError, match=r"'fc8' has 12 rows but the table has 10 labels"):
        tables.measure_table(path, k=2, progress=False)
    with pytest.raises(ValueError, match="does not exist"):
        tables.read_table(tmp_path / "none.h5")
