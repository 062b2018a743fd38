"""Test-only: what a request thread sends. Python imports this module at start-up in a process
that has this folder on PYTHONPATH (tests/audit/__init__.py's `environment()` puts it there for
the reliability suite's gunicorn); it does nothing unless CRUDDUR_AUDIT_DIR is set too.

An audit hook (PEP 578) sees every socket.connect, sendto, sendmsg and name lookup the process
makes, whoever makes it, in C or Python. While a Flask request is being handled on the calling
thread, it appends one JSON line to CRUDDUR_AUDIT_DIR/<pid>.jsonl: the event, the thread, and
the socket's kind and address. The master installs it before forking, so every worker has it.
"""
import json
import os
import socket
import sys
import threading

EVENTS = {"socket.connect", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
          "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr", "socket.getnameinfo"}


def _on_a_request_thread() -> bool:
    flask = sys.modules.get("flask")  # not imported yet: no request is being handled
    return flask is not None and flask.has_request_context()


def _describe(event: str, args: tuple) -> dict:
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        sock, address = args[0], args[-1]
        # SocketKind: under gevent the hook sees the _socket.socket that gevent's socket wraps, whose type is
        # an int (and which is always non-blocking: gevent waits on the loop, so whether a send blocks is not told).
        return {"kind": socket.SocketKind(sock.type).name, "address": repr(address)}
    return {"address": repr(args[:2])}


def _hook(event: str, args: tuple) -> None:
    if event not in EVENTS or not _on_a_request_thread():
        return
    record = {"event": event, "thread": threading.current_thread().name, **_describe(event, args)}
    descriptor = os.open(os.path.join(_DIRECTORY, f"{os.getpid()}.jsonl"), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(descriptor, (json.dumps(record) + "\n").encode())  # one write: whole lines, threads or not
    finally:
        os.close(descriptor)


_DIRECTORY = os.environ.get("CRUDDUR_AUDIT_DIR")
if _DIRECTORY:
    sys.addaudithook(_hook)
