"""`python -m bench.drive APP PATH WARMUP N`: GETs of PATH served by APP in process, for bench.callgrind.

WARMUP requests, then "ready" on stdout; N requests once a line arrives on stdin, then
"done"; exit after the next line. Apart from bench/callgrind.py so that it imports nothing of
the benchmark's own: it runs in the peers' virtualenvs too, under their agents' launchers.
"""
import importlib
import select
import sys


def wait_for_line() -> None:
    # Waking every 10 ms lets valgrind's gdbserver take callgrind_control's command meanwhile.
    while not select.select([sys.stdin], [], [], 0.01)[0]:
        pass
    sys.stdin.readline()


def say(word: str) -> None:
    # One write: print's two ("ready", then "\n") let the app's log thread, which writes to the
    # same stdout, put a line between them, and bench.callgrind would wait for "ready" forever.
    sys.stdout.write(word + "\n")
    sys.stdout.flush()


def get(client, path: str, requests: int) -> None:
    for _ in range(requests):
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status}")
        response.close()


def main(app_path: str, path: str, warmup: int, requests: int) -> None:
    """Flush Cruddur's telemetry at the end, as gunicorn.conf.py's worker_exit does."""
    module, _, name = app_path.partition(":")
    app = getattr(importlib.import_module(module), name)
    client = app.test_client()
    get(client, path, warmup)
    say("ready")
    wait_for_line()
    get(client, path, requests)
    say("done")
    wait_for_line()
    if "cruddur.settings" in app.extensions:  # Cruddur's app, or a bench app built by its factory
        from cruddur import observability

        observability.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
