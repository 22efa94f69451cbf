"""A closed-loop HTTP/1.1 load generator on raw keep-alive sockets, for 127.0.0.1 only.

Requests are serialised once up front, so the client spends a few microseconds of Python per
request and leaves the CPU to the server (the machine has 2 cores, shared by both sides). Each
connection cycles through its own list of requests; a few processes with a thread per
connection keep the GIL out of the way. Latency is measured per request, send to last byte.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import socket
import threading
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

HOST = "127.0.0.1"  # never anything else: this is a loopback benchmark
RECONNECT_EVERY = 200  # requests; re-spreads keep-alive connections over the gunicorn workers
_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_CLOSE = re.compile(rb"\r\nconnection:[ \t]*close", re.IGNORECASE)
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies: Sequence[float]  # seconds, sorted
    first_error: str | None
    client_cpu: float  # CPU seconds used by the load generator during the window
    server_cpu: float  # CPU seconds used by the server workers during the window

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        if not self.latencies:
            return float("nan")
        return self.latencies[min(len(self.latencies) - 1, int(share * len(self.latencies)))]


def request_bytes(
    method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}", "User-Agent: promptify-bench/1"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def exchange(sock: socket.socket, request: bytes) -> tuple[int, bytes, bool]:
    """Send one request and read its whole response: (status, body, server keeps the connection)."""
    sock.sendall(request)
    data = b""
    while (end := data.find(b"\r\n\r\n")) < 0:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed before the response headers")
        data += chunk
    head, body = data[:end], data[end + 4 :]
    status = int(head[9:12])
    match = _LENGTH.search(head)
    length = int(match.group(1)) if match else 0
    while len(body) < length:
        chunk = sock.recv(max(65536, length - len(body)))
        if not chunk:
            raise ConnectionError("connection closed in the middle of a response")
        body += chunk
    return status, body, _CLOSE.search(head) is None


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection((HOST, port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


@dataclass
class _Tally:
    count: int = 0
    errors: int = 0
    first_error: str | None = None


def _connection_loop(
    port: int,
    requests: Sequence[bytes],
    measure_at: float,
    stop_at: float,
    latencies: array,
    tally: _Tally,
    lock: threading.Lock,
) -> None:
    sock, sent, index = _connect(port), 0, 0
    while (started := time.monotonic()) < stop_at:
        try:
            status, body, keep = exchange(sock, requests[index % len(requests)])
        except OSError as error:
            status, body, keep = 0, repr(error).encode(), False
        finished = time.monotonic()
        index += 1
        sent += 1
        if started >= measure_at and finished <= stop_at:
            with lock:
                tally.count += 1
                latencies.append(finished - started)
                if status not in (200, 304):  # 304: the closed-state poll's answer
                    tally.errors += 1
                    tally.first_error = tally.first_error or f"{status} {body[:300]!r}"
        if not keep or sent % RECONNECT_EVERY == 0:
            sock.close()
            sock = _connect(port)
    sock.close()


def _client_process(
    port: int,
    plans: list[list[bytes]],
    measure_at: float,
    stop_at: float,
    out: multiprocessing.connection.Connection,
) -> None:
    latencies, tally, lock = array("d"), _Tally(), threading.Lock()
    threads = [
        threading.Thread(
            target=_connection_loop, args=(port, plan, measure_at, stop_at, latencies, tally, lock)
        )
        for plan in plans
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.send((tally.count, tally.errors, tally.first_error, latencies.tobytes()))
    out.close()


def cpu_seconds(pids: Sequence[int]) -> float:
    """utime + stime of the processes, from /proc/<pid>/stat."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / _TICKS


def run_load(
    port: int,
    plans: list[list[bytes]],
    *,
    duration: float,
    warmup: float,
    processes: int = 2,
    server_pids: Sequence[int] = (),
) -> LoadResult:
    """Drive `len(plans)` keep-alive connections (each cycling its requests) for warmup +
    duration seconds; count and time only the requests that finish in the last `duration`."""
    context = multiprocessing.get_context("fork")
    measure_at = time.monotonic() + 0.3 + warmup
    stop_at = measure_at + duration
    children = []
    for share in range(processes):
        mine = plans[share::processes]
        if not mine:
            continue
        receive, send = context.Pipe(duplex=False)
        child = context.Process(
            target=_client_process, args=(port, mine, measure_at, stop_at, send), daemon=True
        )
        child.start()
        children.append((child, receive))
    client_pids = [child.pid for child, _ in children if child.pid]
    time.sleep(max(0.0, measure_at - time.monotonic()))
    cpu_before = cpu_seconds(client_pids), cpu_seconds(server_pids)
    time.sleep(max(0.0, stop_at - time.monotonic()))
    cpu_after = cpu_seconds(client_pids), cpu_seconds(server_pids)
    count = errors = 0
    first_error: str | None = None
    latencies = array("d")
    for child, receive in children:
        if not receive.poll(60):
            raise RuntimeError("a load generator process did not report")
        n, e, first, raw = receive.recv()
        child.join(10)
        count, errors, first_error = count + n, errors + e, first_error or first
        latencies.frombytes(raw)
    return LoadResult(
        count,
        errors,
        duration,
        sorted(latencies),
        first_error,
        cpu_after[0] - cpu_before[0],
        cpu_after[1] - cpu_before[1],
    )
