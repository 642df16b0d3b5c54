"""A free TCP port on 127.0.0.1, for the servers tests start (fakes, uvicorn, `streamlit run`)."""

from __future__ import annotations

import socket


def free_port() -> int:
    # The OS picks an unused port; it is released at once, so a server started right after can bind it.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
