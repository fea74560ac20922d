"""The command lines ``localcodes record`` and ``localcodes selectivity``, end to end."""

from __future__ import annotations

import sys
import warnings

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from localcodes import cli, nets
from localcodes.selectivity import local_codes, unit_table
from localcodes.selectivity.extract import activations
from localcodes.selectivity.images import ImageFolder
from localcodes.selectivity.tables import model_identity, read_table
from torch import nn

OWN_NET = """
from torch import nn


def build():
    return nn.Sequential(nn.Conv2d(3, 4, 5, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                         nn.Linear(16, 3))


def not_a_model():
    return 3
"""


def _build() -> nn.Module:  # the same network as OWN_NET's build
    return nn.Sequential(nn.Conv2d(3, 4, 5, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                         nn.Linear(16, 3))


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

    assert "kept 12 of 12 images (all images" in capsys.readouterr().out
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


def test_cli_records_your_own_network_from_a_factory_file(tmp_path, capsys, make_folder):
    folder = make_folder(tmp_path / "imgs")
    (tmp_path / "ownnet.py").write_text(OWN_NET)
    out = tmp_path / "own.h5"
    rc = cli.main(["record", "--model", f"{tmp_path}/ownnet.py:build", "--images", str(folder), "--input-size", "32",
                   "--seed", "3", "--pooling", "mean", "--all-images", "--batch-size", "5", "--device", "cpu",
                   "--layers", "1", "4", "-o", str(out)])  # -o: the table after --layers
    assert rc == 0 and "kept 12 of 12 images (all images" in capsys.readouterr().out
    meta = read_table(out)
    assert meta["layers"] == ["1", "4"] and meta["pooling"] == "mean" and meta["units"] == {"1": 4, "4": 3}
    assert meta["model"]["factory"].endswith("ownnet.py:build") and "seed 3" in meta["model"]["weights"]
    torch.manual_seed(3)
    ref = activations(_build(), ["1", "4"], ImageFolder(folder, size=32), pooling="mean")
    with h5py.File(out) as f:
        for layer in ("1", "4"):
            np.testing.assert_allclose(f[f"acts/{layer}"][:], ref[layer].numpy(), rtol=1e-5, atol=1e-6)


def test_cli_records_a_packaged_factory_with_weights_and_the_table_first(tmp_path, capsys, make_folder,
                                                                         monkeypatch):
    folder = make_folder(tmp_path / "imgs")
    (tmp_path / "lc_test_ownnet.py").write_text(OWN_NET)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "lc_test_ownnet", raising=False)
    torch.manual_seed(7)
    net = _build()
    torch.save(net.state_dict(), tmp_path / "w.pth")
    out = tmp_path / "own.h5"
    rc = cli.main(["record", str(out), "--model", "lc_test_ownnet:build", "--weights", str(tmp_path / "w.pth"),
                   "--images", str(folder), "--input-size", "32", "--layers", "4", "--device", "cpu"])
    assert rc == 0
    meta = read_table(out)
    assert meta["model"]["weights"] == str(tmp_path / "w.pth") and meta["correct_only"]
    assert meta["model"]["weights_sha256"] == model_identity(net)["weights_sha256"]
    printed = capsys.readouterr().out
    assert f"kept {meta['n_rows']} of 12 images (the correctly classified ones; --all-images keeps all" in printed


def test_cli_records_a_torch_export_program(tmp_path, capsys, make_folder):
    folder = make_folder(tmp_path / "imgs")
    torch.manual_seed(0)
    net = _build().eval()
    program = torch.export.export(net, (torch.zeros(4, 3, 32, 32),),
                                  dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(program, tmp_path / "net.pt2")
    out = tmp_path / "exported.h5"
    rc = cli.main(["record", str(out), "--model", str(tmp_path / "net.pt2"), "--images", str(folder),
                   "--input-size", "32", "--layers", "1", "4", "--batch-size", "5", "--all-images", "--device", "cpu"])
    assert rc == 0
    ref = activations(net, ["1", "4"], ImageFolder(folder, size=32))
    with h5py.File(out) as f:
        for layer in ("1", "4"):
            np.testing.assert_allclose(f[f"acts/{layer}"][:], ref[layer].numpy(), rtol=1e-5, atol=1e-5)
    assert read_table(out)["model"]["file"] == str(tmp_path / "net.pt2")


def test_cli_layers_then_out_is_refused_not_swallowed(tmp_path, capsys, make_folder):
    folder = make_folder(tmp_path / "imgs", per_class=1)
    common = ["--images", str(folder), "--random-init", "--width", "0.25", "--all-images", "--device", "cpu"]
    out = tmp_path / "OUT.h5"
    assert cli.main(["record", *common, "--layers", "fc6", "fc7", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no output table" in err and "put OUT before --layers" in err and str(out) in err
    assert not out.exists()
    assert cli.main(["record", str(out), *common, "--layers", "fc6", "fc7"]) == 0
    assert read_table(out)["layers"] == ["fc6", "fc7"]
    assert cli.main(["record", *common, "--layers", "fc6", "--layers", "fc8", "-o", str(tmp_path / "o.h5")]) == 0
    assert read_table(tmp_path / "o.h5")["layers"] == ["fc6", "fc8"]  # --layers extends
    assert cli.main(["record", str(out), *common, "-o", str(tmp_path / "o.h5")]) == 2
    assert "not both" in capsys.readouterr().err
    assert cli.main(["selectivity", "--layers", "fc8", str(out)]) == 2
    assert "give TABLE before the options" in capsys.readouterr().err


def test_cli_selectivity_options_reach_the_measures(tmp_path, capsys, make_folder):
    folder = make_folder(tmp_path / "imgs")
    table = tmp_path / "acts.h5"
    assert cli.main(["record", str(table), "--images", str(folder), "--random-init", "--width", "0.25",
                     "--layers", "fc8", "prob", "--all-images", "--device", "cpu"]) == 0
    assert cli.main(["selectivity", str(table), "--layers", "prob", "-k", "3", "--pooling", "images",
                     "--batch-rows", "5", "-o", str(tmp_path / "sel"), "--device", "cpu"]) == 0
    assert not (tmp_path / "sel" / "fc8.parquet").exists()
    with h5py.File(table) as f:
        acts, labels = f["acts/prob"][:], f["labels"][:]
    got = pd.read_parquet(tmp_path / "sel" / "prob.parquet")
    pd.testing.assert_frame_equal(got, unit_table(acts, labels, k=3, pooling="images"), check_exact=False)


@pytest.mark.parametrize("argv, message", [
    (["--model", "{ownnet}:build"], "--layers is required with --model .*: name the modules to record; its "
                                    "modules: ['0', '1', '2', '3', '4']"),
    (["--model", "{ownnet}:build", "--layers", "4", "--random-init"], "--random-init only go with --model alexnet"),
    (["--model", "{ownnet}:build", "--layers", "4", "--width", "2"], "--width only go with --model alexnet"),
    (["--model", "{ownnet}:not_a_model", "--layers", "4"], "the factory returned int, not an nn.Module"),
    (["--model", "{ownnet}:missing", "--layers", "4"], "has no attribute 'missing'"),
    (["--model", "no_such_module_for_localcodes:build", "--layers", "4"], "cannot import 'no_such_module"),
    (["--model", "resnet", "--layers", "4"], "neither an existing file nor a factory; give one of: "
                                             "package.module:factory"),
    (["--model", "{ownnet}:build", "--layers", "9"], "layer '9' does not exist in Sequential"),
    (["--model", "{ownnet}:build", "--layers", "4", "--device", "gpu"], "--device must be cpu, cuda, cuda:N or auto"),
])
def test_cli_names_what_is_wrong_with_a_model(argv, message, tmp_path, capsys, make_folder):
    folder = make_folder(tmp_path / "imgs", per_class=1)
    (tmp_path / "ownnet.py").write_text(OWN_NET)
    argv = [a.replace("{ownnet}", str(tmp_path / "ownnet.py")) for a in argv]
    assert cli.main(["record", str(tmp_path / "t.h5"), "--images", str(folder), *argv]) == 2
    err = capsys.readouterr().err
    assert message.split(".*")[0] in err and message.split(".*")[-1] in err, err
    assert not (tmp_path / "t.h5").exists()


def test_cli_refuses_a_torchscript_file_saying_what_to_do(tmp_path, capsys, make_folder):
    folder = make_folder(tmp_path / "imgs", per_class=1)
    with warnings.catch_warnings():  # torch deprecates TorchScript, which is why it is refused
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(_build()), tmp_path / "net.pt")
    assert cli.main(["record", str(tmp_path / "t.h5"), "--model", str(tmp_path / "net.pt"), "--images", str(folder),
                     "--layers", "4"]) == 2
    err = capsys.readouterr().err
    assert "TorchScript" in err and "no forward hooks" in err and "torch.export.save" in err
    torch.save(_build().state_dict(), tmp_path / "w.pth")
    assert cli.main(["record", str(tmp_path / "t.h5"), "--model", str(tmp_path / "w.pth"), "--images", str(folder),
                     "--layers", "4"]) == 2
    assert "a state dict goes to --weights" in capsys.readouterr().err


def test_cli_refuses_an_unknown_conv_pooling(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["record", str(tmp_path / "t.h5"), "--images", str(tmp_path), "--pooling", "avg"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "--pooling: invalid choice: 'avg'" in err and "max" in err and "mean" in err
