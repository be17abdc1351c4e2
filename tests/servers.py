"""Fake servers on loopback for the edges of connecting: one that accepts and never answers,
and a PostgreSQL look-alike that asks for a cleartext password and records what it gets."""

from __future__ import annotations

import socket
import struct
import threading
from types import TracebackType


class SilentServer:
    """Accepts TCP connections and never sends a byte; ``accepted`` is set at the first."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.accepted = threading.Event()
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # closed
                return
            self._held.append(conn)
            self.accepted.set()

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._listener.close()
        for conn in self._held:
            conn.close()


class PasswordCatcher(SilentServer):
    """Speaks just enough of the PostgreSQL protocol to ask the client for its password in
    clear (AuthenticationCleartextPassword), records it in ``passwords``, then refuses."""

    def __init__(self) -> None:
        super().__init__()
        self.passwords: list[str] = []

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._held.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        try:
            while True:  # SSLRequest / GSSENCRequest first: say no, then the startup packet
                size = struct.unpack("!I", _read(conn, 4))[0]
                body = _read(conn, size - 4)
                code = struct.unpack("!I", body[:4])[0]
                if code in (80877103, 80877104):
                    conn.sendall(b"N")
                    continue
                break
            conn.sendall(b"R" + struct.pack("!II", 8, 3))  # cleartext password, please
            kind = _read(conn, 1)
            size = struct.unpack("!I", _read(conn, 4))[0]
            body = _read(conn, size - 4)
            if kind == b"p":
                self.passwords.append(body.rstrip(b"\0").decode())
            fields = b"SFATAL\0C28P01\0Mpassword authentication failed (fake server)\0\0"
            conn.sendall(b"E" + struct.pack("!I", len(fields) + 4) + fields)
        except (OSError, struct.error):
            pass
        finally:
            self.accepted.set()
            conn.close()


def _read(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data
