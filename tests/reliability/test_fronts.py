"""The fault fronts themselves: a front that is down refuses, as a port with nothing on it does,
and still holds its port, so no other socket can take it before the service comes back."""
import socket

import pytest
import requests

from tests.peers.faults import FaultyHTTP, FaultyUDP
from tests.peers.otlp import OtlpReceiver


def test_an_http_front_that_is_down_refuses_holds_its_port_and_comes_back():
    with OtlpReceiver() as receiver, FaultyHTTP(receiver.url) as front:
        front.set("down")
        with pytest.raises(requests.ConnectionError):
            requests.post(front.url + "/v1/traces", timeout=2)
        with socket.socket() as other, pytest.raises(OSError, match="in use"):
            other.bind(("127.0.0.1", front.port))
        front.set("healthy")
        assert requests.post(front.url + "/v1/traces", timeout=2).status_code == 200


def test_a_udp_front_that_is_down_refuses_holds_its_port_and_comes_back():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        daemon.settimeout(2)
        with FaultyUDP("127.0.0.1:%d" % daemon.getsockname()[1]) as front, \
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.connect(("127.0.0.1", front.port))
            sender.settimeout(2)
            front.set("down")
            sender.send(b"lost")
            with pytest.raises(ConnectionRefusedError):  # the ICMP port unreachable, as told to a connected sender
                sender.recv(1)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other, pytest.raises(OSError, match="in use"):
                other.bind(("127.0.0.1", front.port))
            front.set("healthy")
            sender.send(b"relayed")
            assert daemon.recv(16) == b"relayed"
