"""The backend image, checked without a Docker engine: its instructions, and its command run here."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.processes import BACKEND_DIR, Gunicorn

DOCKERFILE = (BACKEND_DIR / "Dockerfile").read_text()


def instruction(name: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.startswith(name + " ")]


def test_base_is_a_current_slim_python():
    (base,) = instruction("FROM")
    match = re.fullmatch(r"python:3\.(\d+)-slim(-\w+)?", base)
    assert match and int(match.group(1)) >= 12, base
    assert "buster" not in base and "bullseye" not in base


def test_runs_as_a_non_root_user_and_exposes_4567():
    assert instruction("USER") and instruction("USER")[-1] not in ("root", "0")
    assert instruction("EXPOSE") == ["4567"]
    assert "FLASK_ENV" not in DOCKERFILE and "FLASK_DEBUG" not in DOCKERFILE


def test_installs_pinned_requirements_only():
    assert any("pip install -r requirements.txt" in run for run in instruction("RUN"))
    for line in (BACKEND_DIR / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert re.fullmatch(r"[a-z0-9_.\-\[\]]+==[\w.]+", line), f"unpinned: {line}"


@pytest.mark.live
def test_command_serves_the_api_and_passes_the_healthcheck_outside_docker():
    (cmd,) = instruction("CMD")
    command = json.loads(cmd)
    assert command == ["gunicorn", "app:app"]
    (healthcheck,) = instruction("HEALTHCHECK")
    probe = json.loads(healthcheck.split(" CMD ", 1)[1])
    assert "/api/health" in probe[-1]
    with Gunicorn(command=command) as server:
        assert requests.get(f"{server.url}/api/activities/home", timeout=5).status_code == 200
        # As in the container: the probe finds the server on PORT, whatever port that is (the image's python).
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "PORT": str(server.port)}
        assert subprocess.run(probe, env=env).returncode == 0
