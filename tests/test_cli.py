"""The command line dispatches every benchmark it lists."""

from __future__ import annotations

import pytest
from localcodes import cli


@pytest.mark.parametrize("what", list(cli.BENCHMARKS))
def test_every_listed_benchmark_has_a_bench_main(what, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["bench", what, "--help"])
    assert exit_info.value.code == 0
    assert f"localcodes bench {what}" in capsys.readouterr().out


def test_bench_locality_runs_from_the_cli(capsys):
    assert cli.main(["bench", "locality", "--members", "2", "--steps", "1", "--batch-size", "8"]) == 0
    assert '"speedup"' in capsys.readouterr().out


def test_unknown_benchmark_is_refused(capsys):
    with pytest.raises(SystemExit):
        cli.main(["bench", "nothing"])
    assert "invalid choice" in capsys.readouterr().err
