"""The benchmark (bench/, issue 6) still runs end to end: a tiny run, not a measurement."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.profile import PY_SPY
from bench.report import BEGIN, END

pytestmark = pytest.mark.live
REPO = Path(__file__).resolve().parent.parent


def require(tool: str, found: bool, install: str) -> None:
    """A missing tool skips locally, but fails CI, where `make test` installs it."""
    if not found:
        message = f"{tool} is missing: {install}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def row(table: str, key: str) -> list[str]:
    (line,) = [line for line in table.splitlines() if line.startswith(f"| {key} |")]
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_a_tiny_run_prints_the_table_with_ratios_and_loses_nothing(tmp_path):
    require("wrk", shutil.which("wrk") is not None, "apt-get install wrk")
    require("py-spy", PY_SPY.exists(), "pip install -r bench/requirements.txt")
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# kept\n{BEGIN}\nold\n{END}\nalso kept\n")

    result = subprocess.run(
        [sys.executable, "-m", "bench", "--variants", "a,b,c,d", "--rounds", "1", "--seconds", "1",
         "--warmup", "1", "--scaling", "", "--servers", "gthread-1x4", "--memory-requests", "300",
         "--profile-seconds", "1", "--doc", str(doc)],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout

    header = row(out, "")
    assert header[2:5] == ["req/s", "× bare", "p50 ms"]
    bare, journal, cruddur, console = (row(out, key) for key in "abcd")
    assert bare[3] == "1.00"
    for cells in (journal, cruddur, console):
        assert re.fullmatch(r"\d+\.\d\d", cells[3]) and float(cells[2]) > 0
    # Every answer was a 2xx, carried its trace id, and left its span and access line.
    assert [cells[-4:] for cells in (cruddur, console)] == [["0", "0", "0", "0"]] * 2
    for section in ("### Targets of issue 6", "| gthread-1x4 |", "### Memory", "### Where (c)'s time goes",
                    "| MainThread |"):
        assert section in out
    assert doc.read_text().startswith(f"# kept\n{BEGIN}\nCommand: `python -m bench")
    assert doc.read_text().endswith(f"{END}\nalso kept\n")
