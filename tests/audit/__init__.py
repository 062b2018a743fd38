"""Reading what tests/audit/sitecustomize.py recorded in a server's processes."""
from __future__ import annotations

import json
import os
from pathlib import Path

HERE = Path(__file__).resolve().parent


def environment(directory: Path) -> dict[str, str]:
    """The variables that make a Python process (and the workers it forks) record into `directory`."""
    path = os.environ.get("PYTHONPATH")
    return {"CRUDDUR_AUDIT_DIR": str(directory), "PYTHONPATH": f"{HERE}{os.pathsep}{path}" if path else str(HERE),
            # gevent's default resolver looks names up on a thread of its own, where the hook sees no request:
            # its blocking one looks them up on the request's greenlet.
            "GEVENT_RESOLVER": "block"}


def records_by_process(directory: Path) -> dict[int, list[dict]]:
    """Everything recorded so far, by process id, in the order it happened."""
    # Each record is one whole line, appended by one write: a line without its newline is still being written.
    return {int(file.stem): [json.loads(line) for line in file.read_text().split("\n")[:-1]]
            for file in sorted(directory.glob("*.jsonl"))}


def records(directory: Path) -> list[dict]:
    """Everything recorded so far, every process's, each record with its "pid"."""
    return [{**record, "pid": pid} for pid, found in records_by_process(directory).items() for record in found]
