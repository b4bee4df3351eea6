"""``footaudio serve``: routines on a phone over the home network, and new ones made from it.

``app(folder, token)`` is a plain ASGI app (Starlette) for any ASGI server; ``run`` serves it
with uvicorn on loopback, or on the LAN address with an access token.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
from collections.abc import Callable
from pathlib import Path

from ..errors import UsageError
from .app import app

__all__ = ["DEFAULT_PORT", "access_url", "app", "lan_address", "new_token", "open_socket", "qr_text", "run"]

DEFAULT_PORT = 8765
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
"""Host names a loopback server answers to; any other name is a page trying DNS rebinding."""


def lan_address() -> str:
    """This machine's address on the home network (the one its default route uses)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        # Connecting a UDP socket sends nothing; it only picks the outgoing interface.
        probe.connect(("192.0.2.1", 9))
        address = probe.getsockname()[0]
    except OSError:
        address = ""
    finally:
        probe.close()
    if not address or address.startswith("127.") or address == "0.0.0.0":
        raise UsageError(
            "this machine has no network address to serve on; connect it to the network, or leave out --lan."
        )
    return address


def new_token() -> str:
    """A random access token for the LAN address."""
    return secrets.token_urlsafe(16)


def access_url(host: str, port: int, token: str | None = None) -> str:
    """The page's address, with the token when there is one."""
    return f"http://{host}:{port}/" + (f"?token={token}" if token else "")


def qr_text(url: str) -> str:
    """A QR code of ``url`` drawn with text blocks for a terminal."""
    import io

    import segno

    out = io.StringIO()
    segno.make(url, error="m").terminal(out=out, compact=True)
    return out.getvalue()


def open_socket(host: str, port: int) -> socket.socket:
    """A listening socket, bound now so a port in use fails with a message before anything starts."""
    # IPPROTO_TCP named explicitly: asyncio sets TCP_NODELAY on accepted connections only then, and without
    # it every response on a kept-alive connection waits about 40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(
            f"cannot listen on {host} port {port} ({exc.strerror}); use --port with another number."
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _quiet_stop(record: logging.LogRecord) -> bool:
    """Downloads cut off by stopping the server are expected, not errors worth a traceback."""
    cancelled = record.exc_info is not None and isinstance(record.exc_info[1], asyncio.CancelledError)
    return not cancelled and "timeout graceful shutdown exceeded" not in record.getMessage()


def run(
    folder: Path,
    *,
    lan: bool = False,
    port: int = DEFAULT_PORT,
    say: Callable[[str], None] = print,
) -> None:
    """Serve ``folder`` until Ctrl-C or SIGTERM (each stops it within a second).

    On loopback by default; with ``lan`` on this machine's network address, with a new
    access token in the printed URL and its QR code.
    """
    import uvicorn

    if not 1 <= port <= 65535:
        raise UsageError(f"--port {port} is not a port number; use one from 1 to 65535, e.g. --port 8765.")
    if not folder.is_dir():
        raise UsageError(f"folder {folder} does not exist; give the folder your routines are in, e.g. out/.")
    host = lan_address() if lan else "127.0.0.1"
    token = new_token() if lan else None
    sock = open_socket(host, port)
    url = access_url(host, sock.getsockname()[1], token)
    say(f"Serving {folder} on {url}")
    if lan:
        say("Scan this with the phone (same Wi-Fi); the link carries the access token:")
        say(qr_text(url))
    say("Press Ctrl-C to stop.")
    logging.getLogger("uvicorn.error").addFilter(_quiet_stop)
    config = uvicorn.Config(
        app(folder, token, hosts=None if lan else LOOPBACK_NAMES),
        log_level="warning",
        # Downloads still running when asked to stop get this long, so stopping takes well under a second.
        timeout_graceful_shutdown=0.1,  # type: ignore[arg-type]  # uvicorn passes it to asyncio, which takes floats
        proxy_headers=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
