"""The committed reference results: a small stored piece is computed again here and found identical."""

from pathlib import Path

import pandas as pd
import pytest
import torch
from localcodes.experiments import calibration as C
from localcodes.store import project_root

STORED = Path(project_root()) / "results" / "reference" / C.CHAPTER
BOOK = "lr 2.0 × 225 (book)"


@pytest.mark.skipif(not (STORED / "100-units").exists(), reason="no reference results committed yet")
def test_the_book_schedule_at_100_units_recomputes_the_stored_networks_exactly(tmp_path, monkeypatch):
    stored = C.load("reference")
    stored = stored[(stored["point"] == "100 units") & (stored["schedule"] == BOOK) & (stored["repeat"] < 2)]
    assert len(stored), "the stored reference results lack the book schedule at 100 units"
    monkeypatch.setenv("LOCALCODES_RESULTS", str(tmp_path))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the reference runs: the same numbers need the same reduction order
    try:
        again = C.run_point("smoke", "100 units", [BOOK], repeats=2)
    finally:
        torch.set_num_threads(threads)
    keys = ["repeat", "epoch"]
    cols = ["lc_pairs", "lc_units", "lc_on", "lc_off", "train_acc"]
    a, b = (f.sort_values(keys).reset_index(drop=True) for f in (again, stored))
    pd.testing.assert_frame_equal(a[keys + cols], b[keys + cols])  # counts and accuracy exactly
    # losses to float rounding: two networks here were one ensemble of five in the stored run
    pd.testing.assert_series_equal(a["train_loss"], b["train_loss"], check_exact=False, rtol=1e-5)
