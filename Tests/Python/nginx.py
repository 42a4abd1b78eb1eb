"""A real HTTP server for the shard tests and benchmarks: Debian's nginx, serving one folder on a
loopback port with range requests and keep-alive, started and stopped by the caller.

    with NginxServer(folder) as server:
        url = server.url + "/train-000000.tar"
        ...
        server.stop()      # the server disappears mid-run

    with serve_folder(folder) as url:   # in a test: skips it when nginx is not installed
        ...

Python's http.server cannot be used: it has no Range support.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

CONFIG = """
daemon off;
master_process off;
worker_processes 1;
user root;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    default_type application/octet-stream;
    sendfile on;
    keepalive_timeout 60s;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


def nginx_binary() -> Optional[str]:
    """nginx's path, or None when it is not installed."""
    return shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NginxServer:
    """nginx serving `root` at `url` (http://127.0.0.1:PORT) until `stop()` or the `with` ends."""

    def __init__(self, root: Path) -> None:
        binary = nginx_binary()
        if binary is None:
            raise FileNotFoundError("nginx is not installed (apt-get install nginx)")
        self.work = Path(tempfile.mkdtemp(prefix="augload-nginx-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (self.work / "nginx.conf").write_text(CONFIG.format(work=self.work, port=self.port, root=Path(root).resolve()))
        self.process: Optional[subprocess.Popen] = subprocess.Popen(
            [binary, "-p", str(self.work), "-c", str(self.work / "nginx.conf")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    error = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                    self.stop()
                    raise RuntimeError(f"nginx did not start on port {self.port}: {error}")
                time.sleep(0.02)

    def stop(self) -> None:
        """Stops the server now (idempotent); its port stops answering."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            if self.process.stderr:
                self.process.stderr.close()
            self.process = None
        shutil.rmtree(self.work, ignore_errors=True)

    def __enter__(self) -> "NginxServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def serve_folder(root: Path) -> Iterator[str]:
    """nginx serving `root` for the `with` block, as its base URL (``http://127.0.0.1:PORT``);
    skips the calling test when nginx is not installed. ``NginxServer`` can also be stopped early."""
    if nginx_binary() is None:
        import pytest

        pytest.skip("nginx is not installed (apt-get install nginx)")
    with NginxServer(root) as server:
        yield server.url
