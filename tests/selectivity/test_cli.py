"""The command lines ``localcodes record`` and ``localcodes selectivity``, end to end."""

from __future__ import annotations

import h5py
import pandas as pd
import torch
from localcodes import cli, nets
from localcodes.selectivity import local_codes, unit_table
from localcodes.selectivity.tables import read_table


def test_cli_record_then_selectivity_end_to_end(tmp_path, capsys, make_folder):
    folder = make_folder(tmp_path / "imgs")
    table = tmp_path / "acts.h5"
    rc = cli.main(["record", str(table), "--images", str(folder), "--random-init", "--width", "0.25",
                   "--batch-size", "5", "--all-images", "--device", "cpu"])
    assert rc == 0
    meta = read_table(table)
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


def test_cli_rejects_weights_that_do_not_fit(tmp_path, capsys, make_folder):
    folder = make_folder(tmp_path / "imgs", per_class=1)
    weights = tmp_path / "w.pth"
    torch.save(nets.AlexNet(num_classes=3, width=0.25).state_dict(), weights)
    rc = cli.main(["record", str(tmp_path / "a.h5"), "--images", str(folder), "--weights", str(weights)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "do not fit AlexNet" in err and "features.0.weight" in err
    rc = cli.main(["record", str(tmp_path / "a.h5"), "--images", str(folder)])
    assert rc == 2 and "--random-init" in capsys.readouterr().err
