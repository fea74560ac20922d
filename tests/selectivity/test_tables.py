"""HDF5 activation tables: recording (correct images only, resumable to the same file), reading and measuring."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
from localcodes import nets, store
from localcodes.selectivity import tables
from localcodes.selectivity.extract import activations
from torch.utils.data import DataLoader, TensorDataset


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


def test_record_counts_images_from_a_dataloader_and_a_list_of_batches(tmp_path):
    model, data, correct = _images_and_model(n=40)
    ref = tables.record(model, ["fc8"], data, tmp_path / "ref.h5", batch_size=8, progress=False)
    x, y = data.images, data.labels
    loader = DataLoader(TensorDataset(x, y), batch_size=8)  # 5 batches of 40 images
    batches = [(x[i : i + 8], y[i : i + 8]) for i in range(0, 40, 8)]
    for name, images in (("loader", loader), ("list", batches)):
        path = tables.record(model, ["fc8"], images, tmp_path / f"{name}.h5", batch_size=8, progress=False)
        meta = tables.read_table(path)
        assert (meta["n_images"], meta["images_done"], meta["complete"]) == (40, 40, True)
        with h5py.File(path) as f, h5py.File(ref) as g:
            assert f["ids"][:].tolist() == torch.arange(40)[correct].tolist()  # positions in the loader or list
            assert g["ids"][:].tolist() == (torch.arange(40)[correct] + 1000).tolist()  # the ImageData's ids
            np.testing.assert_array_equal(f["acts/fc8"][:], g["acts/fc8"][:])
    # a cut-short recording from a loader is partial, and the next call without max_batches finishes it
    part = tables.record(model, ["fc8"], loader, tmp_path / "part.h5", batch_size=8, max_batches=2, progress=False)
    assert (tables.read_table(part)["images_done"], tables.read_table(part)["complete"]) == (16, False)
    tables.record(model, ["fc8"], loader, part, batch_size=8, progress=False)
    _same_file(tmp_path / "loader.h5", part)
    with pytest.raises(ValueError, match="shuffle"):
        tables.record(model, ["fc8"], DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True),
                      tmp_path / "shuffled.h5", progress=False)


def test_a_table_cut_short_by_max_batches_is_partial_and_reused_for_the_same_max_batches(tmp_path):
    model, data, _ = _images_and_model(n=40)
    whole = tables.record(model, ["fc8"], data, tmp_path / "whole.h5", batch_size=6, chunk_rows=8, progress=False)
    part = tmp_path / "part.h5"
    for _ in range(2):  # the same request twice: the second call reuses the first one's table
        tables.record(model, ["fc8"], data, part, batch_size=6, chunk_rows=8, max_batches=2, progress=False)
        meta = tables.read_table(part)
        assert (meta["images_done"], meta["batches_done"], meta["complete"]) == (12, 2, False)
    tables.record(model, ["fc8"], data, part, batch_size=6, chunk_rows=8, max_batches=4, progress=False)
    assert tables.read_table(part)["images_done"] == 24
    with pytest.raises(ValueError, match=r"holds 4 batches.*max_batches=3"):
        tables.record(model, ["fc8"], data, part, batch_size=6, chunk_rows=8, max_batches=3, progress=False)
    tables.record(model, ["fc8"], data, part, batch_size=6, chunk_rows=8, progress=False)
    assert tables.read_table(part)["complete"]
    with h5py.File(whole) as f, h5py.File(part) as g:
        np.testing.assert_array_equal(f["acts/fc8"][:], g["acts/fc8"][:])
    with pytest.raises(ValueError, match="max_batches must be"):
        tables.record(model, ["fc8"], data, tmp_path / "z.h5", max_batches=0, progress=False)


def _garbage_into_first_chunk(path, dataset):
    with h5py.File(path) as f:
        info = f[dataset].id.get_chunk_info(0)
    size = min(8192, info.size - 8)  # finite garbage, clear of the chunk's checksum
    with open(path, "r+b") as fh:
        fh.seek(info.byte_offset)
        fh.write(np.full(size // 4, 0.125, dtype=np.float32).tobytes())


def test_a_corrupted_chunk_is_an_error_naming_the_table(tmp_path):
    model, data, _ = _images_and_model(n=40)
    recorded = tables.record(model, ["fc7", "fc8"], data, tmp_path / "rec.h5", batch_size=8, chunk_rows=16,
                             correct_only=False, progress=False)
    synthetic = tables.synthetic_table(tmp_path / "syn.h5", rows=5000, units=40, classes=10, chunk_rows=1024,
                                       chunk_units=16, progress=False)
    for path, layer in ((recorded, "fc7"), (synthetic, "synthetic")):
        tables.measure_table(path, k=5, progress=False)  # intact: fine
        _garbage_into_first_chunk(path, f"acts/{layer}")
        with pytest.raises(OSError, match=f"{path}.*corrupt"):
            tables.measure_table(path, k=5, progress=False)
        with pytest.raises(OSError, match=f"{path}.*corrupt"):
            tables.read_units(path, layer, [0, 1])
        with h5py.File(path) as f:
            names = []
            f.visit(names.append)
            datasets = [f[name] for name in names if isinstance(f[name], h5py.Dataset)]
            assert len(datasets) >= 3 and all(ds.fletcher32 for ds in datasets)


def test_a_truncated_table_is_an_error_naming_it(tmp_path):
    model, data, _ = _images_and_model(n=40)
    path = tables.record(model, ["fc8"], data, tmp_path / "t.h5", batch_size=8, correct_only=False, progress=False)
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(size // 2)
    for call in (lambda: tables.read_table(path), lambda: tables.measure_table(path, k=2, progress=False),
                 lambda: tables.read_units(path, "fc8"),
                 lambda: tables.record(model, ["fc8"], data, path, batch_size=8, correct_only=False, progress=False)):
        with pytest.raises(OSError, match=f"{path}.*corrupt or truncated"):
            call()


def test_record_says_how_many_rows_it_kept_of_how_many(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(store.BOOK_RUN_ENV, raising=False)  # the bar and its summary are shown
    model, data, correct = _images_and_model(n=40)
    path = tables.record(model, ["fc8"], data, tmp_path / "t.h5", batch_size=8)
    kept = int(correct.sum())
    assert f"t.h5: kept {kept} of 40 images (the correctly classified ones" in capsys.readouterr().err
    meta = tables.read_table(path)
    assert (meta["n_rows"], meta["images_done"], meta["n_correct"]) == (kept, 40, kept)
    tables.record(model, ["fc8"], data, tmp_path / "all.h5", batch_size=8, correct_only=False)
    assert "all.h5: kept 40 of 40 images (all images)" in capsys.readouterr().err
    tables.record(model, ["fc8"], data, tmp_path / "quiet.h5", batch_size=8, progress=False)
    assert "kept" not in capsys.readouterr().err


def test_conv_pooling_is_part_of_a_tables_identity(tmp_path):
    model, data, correct = _images_and_model(n=24)
    path = tables.record(model, ["conv5", "fc8"], data, tmp_path / "mean.h5", batch_size=8, pooling="mean",
                         progress=False)
    assert tables.read_table(path)["pooling"] == "mean"
    ref = activations(model, ["conv5"], data.images[correct], pooling="mean")["conv5"]
    with h5py.File(path) as f:
        np.testing.assert_allclose(f["acts/conv5"][:], ref.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"made differently \(pooling differ"):
        tables.record(model, ["conv5", "fc8"], data, path, batch_size=8, progress=False)  # max is not resumed as mean
    with pytest.raises(ValueError, match=r"pooling must be one of \('max', 'mean'\).*got 'avg'"):
        tables.record(model, ["conv5"], data, tmp_path / "bad.h5", pooling="avg", progress=False)
    assert not (tmp_path / "bad.h5").exists()  # refused before anything was written


def test_a_table_from_before_the_pooling_choice_is_a_max_table(tmp_path):
    model, data, _ = _images_and_model(n=24)
    path = tables.record(model, ["conv5"], data, tmp_path / "old.h5", batch_size=8, progress=False)
    with h5py.File(path, "a") as f:
        del f.attrs["pooling"]  # as tables were written before the choice existed
    assert tables.record(model, ["conv5"], data, path, batch_size=8, progress=False) == path  # reused as it is
    with pytest.raises(ValueError, match="pooling differ"):
        tables.record(model, ["conv5"], data, path, batch_size=8, pooling="mean", progress=False)
