"""The peers' virtualenvs: one per agent, made from its pins in bench/agents/, kept in bench/.venvs/.

Each agent brings its own OpenTelemetry (or none), so none can share Cruddur's venv. A venv
is made again only when its pin file changed since it was installed.
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

PINS = Path(__file__).with_name("agents")
VENVS = Path(__file__).with_name(".venvs")
NAMES = sorted(path.stem for path in PINS.glob("*.txt"))


def venv(name: str) -> Path:
    """The bin/ folder of the agent's virtualenv, installed first if its pins changed."""
    pins = PINS / f"{name}.txt"
    root = VENVS / name
    digest = hashlib.sha256(pins.read_bytes()).hexdigest()
    stamp = root / ".pins-sha256"
    if not (stamp.exists() and stamp.read_text() == digest):
        print(f"installing the {name} peer's virtualenv from {pins.relative_to(PINS.parent.parent)}", file=sys.stderr)
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
        subprocess.run([str(root / "bin" / "pip"), "install", "-qq", "--disable-pip-version-check",
                        "--no-deps", "-r", str(pins)], check=True)
        stamp.write_text(digest)
    return root / "bin"


if __name__ == "__main__":
    for agent in sys.argv[1:] or NAMES:
        print(venv(agent))
