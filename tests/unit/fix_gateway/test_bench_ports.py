"""The benchmarks' (and the integration tests') free-port picker."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest

from fix_gateway import bench


class ProbeGettingPorts:
    """A stand-in socket whose bind(0) gets the next port of a script, as a kernel may give them."""

    script: list[int] = []

    def __init__(self, *args: object) -> None:
        self.port = 0

    def __enter__(self) -> "ProbeGettingPorts":
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def bind(self, address: tuple[str, int]) -> None:
        self.port = self.script.pop(0)

    def getsockname(self) -> tuple[str, int]:
        return "127.0.0.1", self.port


def test_a_port_the_kernel_offers_twice_in_a_row_is_given_only_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "_PORTS_GIVEN", set())
    monkeypatch.setattr(ProbeGettingPorts, "script", [51805, 51805, 51806])
    monkeypatch.setattr(bench, "socket", SimpleNamespace(socket=ProbeGettingPorts))  # bench's sockets only
    assert [bench.free_port(), bench.free_port()] == [51805, 51806]


def test_the_ports_given_are_free_and_distinct() -> None:
    ports = [bench.free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    for port in ports[:5]:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))  # nothing holds it
