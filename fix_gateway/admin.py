"""The operator's endpoint: a Unix socket on the running venue, one JSON request per line.

Local by construction (a file under var/, guarded by file permissions), so no
password travels. `fixex admin` is its client. Requests are executed by the venue's
one writer (under its lock), like every other change.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from pathlib import Path
from typing import Callable

log = logging.getLogger("fixex.admin")
MAX_REQUEST_BYTES = 64 * 1024


class AdminServer:
    def __init__(self, path: Path, handle: Callable[[str, list[str]], dict]) -> None:
        self.path = Path(path)
        self._handle = handle
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self.path.unlink()  # left by a process that was killed
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._socket.bind(str(self.path))
        os.chmod(self.path, 0o600)  # the operator's account only
        self._socket.listen(8)
        self._thread = threading.Thread(target=self._serve, name="fixex-admin", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        listening, self._socket = self._socket, None
        if listening is not None:
            try:  # wakes the accept() below at once: close() alone does not on Linux
                listening.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listening.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.path.exists():
            self.path.unlink()

    def _serve(self) -> None:
        listening = self._socket
        while self._socket is not None:
            try:
                connection, _ = listening.accept()
            except OSError:
                return  # shut down by stop()
            with connection:
                connection.settimeout(5)
                try:
                    reply = self._answer(self._read_line(connection))
                except (OSError, ValueError) as error:
                    reply = {"ok": False, "error": f"bad request: {error}"}
                try:
                    connection.sendall(json.dumps(reply).encode() + b"\n")
                except OSError:
                    pass

    @staticmethod
    def _read_line(connection: socket.socket) -> bytes:
        data = b""
        while b"\n" not in data:
            chunk = connection.recv(4096)
            if not chunk:
                break
            data += chunk
            if len(data) > MAX_REQUEST_BYTES:
                raise ValueError("request too long")
        return data

    def _answer(self, line: bytes) -> dict:
        request = json.loads(line.decode() or "{}")
        if not isinstance(request, dict) or not isinstance(request.get("command"), str):
            return {"ok": False, "error": 'a request is {"command": "...", "args": [...]}'}
        args = request.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            return {"ok": False, "error": "args must be a list of strings"}
        log.info("admin: %s %s", request["command"], " ".join(args))
        return self._handle(request["command"], args)


def admin_request(path: Path, command: str, args: list[str], timeout: float = 10.0) -> dict:
    """Send one request to a running venue's admin socket and return its answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(timeout)
        client.connect(str(path))
        client.sendall(json.dumps({"command": command, "args": args}).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = client.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data.decode())
