"""The README's own-network example runs as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from localcodes.store import project_root


def test_the_own_network_example_runs_as_written(tmp_path):
    readme = (Path(project_root()) / "README.md").read_text()
    block = re.search(r"<!-- own-network -->\n```python\n(.*?)```", readme, re.S)
    assert block, "the README lost its own-network example"
    script = tmp_path / "example.py"
    script.write_text(block.group(1))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "local codes" in done.stdout and (tmp_path / "jitterplot.html").stat().st_size > 10_000
