"""The local stack's ports: each server's port is free when chosen, and outside the range the
kernel hands to outgoing connections, so the stack's own clients cannot take it first."""

import socket

from attendance_stack.processes import LOWEST_PORT, _ephemeral_ports, free_port


def test_ports_are_free_distinct_and_below_the_ephemeral_range() -> None:
    low, high = _ephemeral_ports()
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)
    assert all(LOWEST_PORT <= port < low for port in ports), (low, high, ports)
    for port in ports[:5]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))  # nothing took it


def test_an_outgoing_connection_never_gets_a_port_the_stack_chose() -> None:
    low, _ = _ephemeral_ports()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        clients = [socket.create_connection(server.getsockname()) for _ in range(20)]
        try:
            # So they never take a port free_port() chose, which is always below `low`.
            assert all(c.getsockname()[1] >= low for c in clients)
        finally:
            for c in clients:
                c.close()
