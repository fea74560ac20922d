"""Activation tables: recording (HDF5, resumable, correct images only), the folder reader and the CLI."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from localcodes import cli, nets, record
from localcodes.selectivity import local_codes, unit_table
from PIL import Image


def _folder(root, classes=("n01", "n02", "n03"), per_class=4, seed=0):
    rng = np.random.default_rng(seed)
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            h, w = int(rng.integers(230, 300)), int(rng.integers(230, 320))
            img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
            img[..., c] = 255  # each class tinted, so the images differ by class
            Image.fromarray(img).save(root / name / f"img{i}.{'png' if i % 2 else 'jpg'}")
    (root / "n01" / "notes.txt").write_text("not an image")
    return root


def test_image_folder_reader(tmp_path):
    folder = record.ImageFolder(_folder(tmp_path / "imgs"), size=227)
    assert folder.class_names == ["n01", "n02", "n03"] and len(folder) == 12
    assert folder.labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    x, y, i = folder[5]
    assert x.shape == (3, 227, 227) and y == 1 and i == 5
    # normalised with ImageNet's statistics: channel 1 of class n02 is saturated (255 → (1 - mean) / std)
    assert x[1].max() == pytest.approx((1 - 0.456) / 0.224, rel=1e-4)
    xb, yb, ib = next(folder.batches(5, start=10))
    assert xb.shape == (2, 3, 227, 227) and ib.tolist() == [10, 11]
    with pytest.raises(ValueError, match="does not exist"):
        record.ImageFolder(tmp_path / "missing")
    (tmp_path / "flat").mkdir()
    with pytest.raises(ValueError, match="no class sub-folders"):
        record.ImageFolder(tmp_path / "flat")


def test_cli_record_then_selectivity_end_to_end(tmp_path, capsys):
    folder = _folder(tmp_path / "imgs")
    table = tmp_path / "acts.h5"
    rc = cli.main(["record", str(table), "--images", str(folder), "--random-init", "--width", "0.25",
                   "--batch-size", "5", "--all-images", "--device", "cpu"])
    assert rc == 0
    meta = record.read_table(table)
    assert meta["complete"] and meta["n_rows"] == 12 and meta["layers"] == ["conv5", "fc6", "fc7", "fc8", "prob"]
    assert meta["units"] == {"conv5": 64, "fc6": 1024, "fc7": 1024, "fc8": 3, "prob": 3}
    assert meta["model"]["architecture"] == "AlexNet" and "random initialisation" in meta["model"]["weights"]
    with h5py.File(table) as f:
        assert f["acts/fc6"].chunks[1] == 64  # tall chunks: a block of units over all images
        files = [s.decode() for s in f["files"][:]]
        labels, acts = f["labels"][:], f["acts/fc8"][:]
    assert files[0].startswith("n01/") and labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4

    rc = cli.main(["selectivity", str(table), "-k", "5", "--out", str(tmp_path / "sel"), "--device", "cpu"])
    assert rc == 0
    for layer in meta["layers"]:
        t = pd.read_parquet(tmp_path / "sel" / f"{layer}.parquet")
        assert len(t) == meta["units"][layer]
    got = pd.read_parquet(tmp_path / "sel" / "fc8.parquet")
    pd.testing.assert_frame_equal(got, unit_table(acts, labels, k=5), check_exact=True)
    codes = pd.read_parquet(tmp_path / "sel" / "fc8_local_codes.parquet")
    pd.testing.assert_frame_equal(codes.reset_index(drop=True), local_codes(acts, labels), check_exact=True)


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
    whole = record.record(model, layers, data, tmp_path / "whole.h5", batch_size=6, chunk_rows=8, progress=False)
    with h5py.File(whole) as f:
        assert f["ids"][:].tolist() == (torch.arange(40)[correct] + 1000).tolist()
        np.testing.assert_array_equal(f["labels"][:], f["predictions"][:])
        assert f.attrs["n_correct"] == int(correct.sum()) and f.attrs["complete"]
    ref = record.activations(model, layers, data.images[correct], batch_size=7)
    with h5py.File(whole) as f:
        for name in layers:
            np.testing.assert_allclose(f[f"acts/{name}"][:], ref[name].numpy(), rtol=1e-5, atol=1e-6)

    part = tmp_path / "part.h5"
    record.record(model, layers, data, part, batch_size=6, chunk_rows=8, max_batches=3, progress=False)
    meta = record.read_table(part)
    assert not meta["complete"] and 0 < meta["images_done"] < 40
    with h5py.File(part, "a") as f:  # a write cut short after growing the datasets: junk rows past n_rows
        n = f.attrs["n_rows"]
        for name in ("labels", "predictions", "ids"):
            f[name].resize((n + 3,))
        for name in layers:
            f[f"acts/{name}"].resize((n + 3, f[f"acts/{name}"].shape[1]))
            f[f"acts/{name}"][n:] = 99.0
    record.record(model, layers, data, part, batch_size=6, chunk_rows=8, progress=False)
    _same_file(whole, part)

    with pytest.raises(ValueError, match="made differently.*layers"):
        record.record(model, ["fc6"], data, part, batch_size=6, progress=False)


def test_bad_tables_and_layers_are_named(tmp_path):
    model, data, _ = _images_and_model(n=12)
    with pytest.raises(ValueError, match="layer 'fc9' does not exist"):
        record.record(model, ["fc9"], data, tmp_path / "x.h5", progress=False)
    with pytest.raises(ValueError, match="needs labels"):
        record.record(model, ["fc8"], data.images, tmp_path / "y.h5", progress=False)
    path = record.record(model, ["fc8", "prob"], data, tmp_path / "t.h5", batch_size=4, correct_only=False,
                         progress=False)
    with pytest.raises(ValueError, match=r"layer 'fc9' is not in .*holds \['fc8', 'prob'\]"):
        record.measure_table(path, ["fc9"], k=2, progress=False)
    with h5py.File(path, "a") as f:  # labels and rows disagree
        f["labels"].resize((f["labels"].shape[0] - 2,))
    with pytest.raises(ValueError, match=r"'fc8' has 12 rows but the table has 10 labels"):
        record.measure_table(path, k=2, progress=False)
    with pytest.raises(ValueError, match="does not exist"):
        record.read_table(tmp_path / "none.h5")


def test_cli_rejects_weights_that_do_not_fit(tmp_path, capsys):
    folder = _folder(tmp_path / "imgs", per_class=1)
    weights = tmp_path / "w.pth"
    torch.save(nets.AlexNet(num_classes=3, width=0.25).state_dict(), weights)
    rc = cli.main(["record", str(tmp_path / "a.h5"), "--images", str(folder), "--weights", str(weights)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "do not fit AlexNet" in err and "features.0.weight" in err
    rc = cli.main(["record", str(tmp_path / "a.h5"), "--images", str(folder)])
    assert rc == 2 and "--random-init" in capsys.readouterr().err


def test_bench_runs_small(tmp_path, capsys):
    out = record.bench_main(["--rows", "3000", "--units", "16", "--classes", "5", "--dir", str(tmp_path), "-k", "10"])
    assert out["stream"]["wall_s"] > 0 and out["memory"]["wall_s"] > 0 and out["speed_ratio"] > 0
    assert "peak memory" in capsys.readouterr().out
