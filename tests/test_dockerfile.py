"""The backend image, checked without a Docker engine: its instructions, and its command run here."""
import json
import re
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


def test_healthcheck_probes_health():
    (healthcheck,) = instruction("HEALTHCHECK")
    assert "http://127.0.0.1:4567/api/health" in healthcheck


@pytest.mark.live
def test_command_serves_the_api_outside_docker():
    (cmd,) = instruction("CMD")
    command = json.loads(cmd)
    assert command == ["gunicorn", "app:app"]
    with Gunicorn(command=command) as server:
        assert requests.get(f"{server.url}/api/activities/home", timeout=5).status_code == 200
