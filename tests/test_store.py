"""The results store: atomic Parquet parts, cache keys, cached computations."""

import pandas as pd
import pytest
from localcodes import store
from localcodes.store import ResultsStore, cached


def test_store_parts_roundtrip_and_atomic(tmp_path):
    parts = ResultsStore(tmp_path / "s")
    assert parts.read().empty and parts.done_keys() == set()
    parts.write_part("a", pd.DataFrame({"condition": ["x", "x"], "repeat": [0, 1], "v": [1.0, 2.0]}))
    parts.write_part("b", pd.DataFrame({"condition": ["y"], "repeat": [0], "v": [3.0]}))
    assert parts.done_keys() == {("x", 0), ("x", 1), ("y", 0)}
    assert sorted(parts.read().v) == [1.0, 2.0, 3.0]

    bad = pd.DataFrame({"condition": ["z"], "repeat": [0], "v": [object()]})  # not serialisable → fails
    with pytest.raises(Exception):  # noqa: B017 - pyarrow raises its own error type
        parts.write_part("c", bad)
    assert not parts.has("c") and not list(parts.path.glob(".*tmp"))
    with pytest.raises(ValueError, match="key"):
        parts.part_path("../evil")


def test_key_depends_on_every_value_and_not_on_order():
    a = store.key({"lr": 0.1, "epochs": 3, "widths": [100, 500]})
    assert a == store.key({"widths": [100, 500], "epochs": 3, "lr": 0.1})
    assert a != store.key({"lr": 0.1, "epochs": 4, "widths": [100, 500]})
    assert a != store.key({"lr": 0.1, "epochs": 3, "widths": [500, 100]})
    assert len(a) == 12 and all(c in "0123456789abcdef" for c in a)


def test_cached_reuses_equal_parameters_and_recomputes_others(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"t": pd.DataFrame({"v": [float(len(calls))]})}

    first = store.cached(tmp_path / "c", {"n": 1}, compute)
    again = store.cached(tmp_path / "c", {"n": 1}, compute)
    pd.testing.assert_frame_equal(first["t"], again["t"])
    assert len(calls) == 1
    other = store.cached(tmp_path / "c", {"n": 2}, compute)
    assert len(calls) == 2 and other["t"].v.iloc[0] == 2.0
    (tmp_path / "c" / "t.parquet").unlink()  # a lost frame recomputes rather than failing
    store.cached(tmp_path / "c", {"n": 2}, compute)
    assert len(calls) == 3


def test_read_keeps_one_copy_of_a_network_written_twice(tmp_path):
    # two writers that both trained (x, 0) before stores were claimed: later reads must count it once
    parts = ResultsStore(tmp_path / "s")
    rows = pd.DataFrame({"condition": ["x", "x", "x", "x"], "repeat": [0, 0, 1, 1], "epoch": [0, 3, 0, 3],
                         "v": [1.0, 2.0, 3.0, 4.0]})
    parts.write_part("a", rows)
    parts.write_part("b", rows[rows.repeat == 0].assign(v=[1.5, 2.5]))
    parts.write_part("c", pd.DataFrame({"condition": ["y"], "repeat": [0], "epoch": [0], "v": [5.0]}))
    got = parts.read()
    assert len(got) == 5 and not got.duplicated(["condition", "repeat", "epoch"]).any()
    assert sorted(got.v) == [1.0, 2.0, 3.0, 4.0, 5.0]  # a network's rows all come from one part
    assert sorted(parts.read(columns=["v"]).v) == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_a_claim_is_held_by_one_writer_until_released(tmp_path):
    parts = ResultsStore(tmp_path / "s")
    first = parts.claim("x|0")
    assert first is not None
    assert parts.claim("x|0") is None  # another writer (here: another handle) cannot take it
    other = parts.claim("x|1")
    assert other is not None
    first.release()
    again = parts.claim("x|0")
    assert again is not None
    again.release()
    other.release()
    assert parts.read().empty and parts.parts() == []  # claims are not parts
    assert (parts.path / ".claims" / ".gitignore").read_text() == "*\n"  # nor committed with the results


def test_source_digest_follows_the_code(tmp_path, monkeypatch):
    pkg = tmp_path / "digestpkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "train.py").write_text("LR = 0.1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    store.source_digest.cache_clear()
    before = store.source_digest("digestpkg")
    assert before == store.source_digest("digestpkg") != store.source_digest("digestpkg", "localcodes.store")
    (pkg / "sub" / "train.py").write_text("LR = 0.2\n")
    store.source_digest.cache_clear()  # (one process keeps the digest of the code it loaded)
    assert store.source_digest("digestpkg") != before
    store.source_digest.cache_clear()


def test_a_corrupt_stored_part_is_an_error_naming_it(tmp_path):
    parts = ResultsStore(tmp_path / "s")
    path = parts.write_part("a", pd.DataFrame({"condition": ["x"], "repeat": [0], "v": [1.0]}))
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(OSError, match="corrupt or truncated") as err:
        parts.read()
    assert str(path) in str(err.value)
    with pytest.raises(OSError, match="corrupt or truncated"):
        parts.done_keys()


def test_an_unreadable_cache_is_said_and_computed_again(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"t": pd.DataFrame({"a": [1, 2]})}

    cached(tmp_path / "c", {"p": 1}, compute)
    (tmp_path / "c" / "t.parquet").write_bytes(b"not parquet")
    with pytest.warns(UserWarning, match="is unreadable") as caught:
        again = cached(tmp_path / "c", {"p": 1}, compute)
    assert str(tmp_path / "c") in str(caught[0].message)
    assert len(calls) == 2 and again["t"]["a"].tolist() == [1, 2]
