"""Request rates: serve an app in a subprocess on loopback and drive it with a bounded load generator.

The load generator is ``wrk`` (Debian package ``wrk``) replaying a file of request paths through
``paths.lua``; without it, an asyncio + httpx client with the same connection count and duration.
Both stop by themselves after the duration; every process started here is stopped by its own id.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
Tick = Callable[[float], None]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def citybase_command() -> list[str]:
    exe = Path(sys.executable).parent / "citybase"
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-c", "from citybase.cli.main import main; main()"]


class Server:
    """One server process on 127.0.0.1:port, started in its own session and stopped by its pid."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log: Path, health: str = "/health") -> None:
        self.name = name
        self.health = health
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cmd = [c.replace("{port}", str(self.port)) for c in cmd]
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            self.cmd, env={**os.environ, **self.env}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        out.close()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} server exited with {self.proc.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(self.url + self.health, timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{self.name} server did not answer within 90 s; see {self.log}")

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=120) as r:
        return json.loads(r.read())


@dataclass
class RunResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    errors: int
    server_cpu: float  # cores the server process used on average
    machine_cpu: float  # fraction of all cores busy (server + database + load generator + anything else)
    load_avg: float  # 1-minute load average when the run started (other work on the machine shows here)
    loadgen: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def drive(
    server: Server, paths_file: Path, *, connections: int, duration: float, loadgen: str, tick: Tick
) -> RunResult:
    """Run the load generator against ``server`` for ``duration`` seconds."""
    load_avg = os.getloadavg()[0]
    cpu0, (busy0, total0) = server.cpu_seconds(), machine_busy()
    if loadgen == "wrk":
        stats = _wrk(server.url, paths_file, connections, duration, tick)
    else:
        stats = asyncio.run(_httpx_load(server.url, paths_file, connections, duration, tick))
    cpu1, (busy1, total1) = server.cpu_seconds(), machine_busy()
    seconds = stats["duration_us"] / 1e6
    return RunResult(
        requests=stats["requests"],
        seconds=round(seconds, 2),
        rps=stats["requests"] / seconds if seconds else 0.0,
        p50_ms=stats["p50_us"] / 1000,
        p95_ms=stats["p95_us"] / 1000,
        p99_ms=stats["p99_us"] / 1000,
        mean_ms=stats["mean_us"] / 1000,
        errors=sum(stats[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")),
        server_cpu=round((cpu1 - cpu0) / seconds, 2) if seconds else 0.0,
        machine_cpu=round((busy1 - busy0) / max(1, total1 - total0), 2),
        load_avg=round(load_avg, 2),
        loadgen=loadgen,
    )


def combine(runs: list[RunResult]) -> dict[str, Any]:
    """Rounds of one case and side: rates over the summed time; latency percentiles as the mean of the rounds'."""
    requests = sum(r.requests for r in runs)
    seconds = sum(r.seconds for r in runs)

    def mean(key: str) -> float:
        return round(sum(getattr(r, key) for r in runs) / len(runs), 3)

    return {
        "requests": requests,
        "seconds": round(seconds, 2),
        "rps": requests / seconds if seconds else 0.0,
        **{k: mean(k) for k in ("p50_ms", "p95_ms", "p99_ms", "mean_ms", "server_cpu", "machine_cpu", "load_avg")},
        "errors": sum(r.errors for r in runs),
        "loadgen": runs[0].loadgen,
        "rounds": [r.as_dict() for r in runs],
    }


def pick_loadgen(wanted: str) -> str:
    if wanted == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if wanted == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk not found: apt-get install -y wrk, or use --loadgen python")
    return wanted


def _wrk(url: str, paths_file: Path, connections: int, duration: float, tick: Tick) -> dict[str, Any]:
    cmd = [
        "wrk", "-t1", f"-c{connections}", f"-d{int(duration)}s", "--timeout", "30s",
        "-s", str(BENCH / "paths.lua"), url, "--", str(paths_file),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    started = time.monotonic()
    try:
        while proc.poll() is None:
            if time.monotonic() - started > duration + 60:
                proc.kill()
                raise RuntimeError("wrk did not stop in time")
            tick(min(duration, time.monotonic() - started))
            time.sleep(0.5)
    finally:
        if proc.poll() is None:
            proc.kill()
    out = proc.stdout.read() if proc.stdout else ""
    for line in out.splitlines():
        if line.startswith("WRKJSON "):
            return dict(json.loads(line.removeprefix("WRKJSON ")))
    raise RuntimeError(f"wrk gave no result:\n{out}")


async def _httpx_load(url: str, paths_file: Path, connections: int, duration: float, tick: Tick) -> dict[str, Any]:
    import httpx

    paths = paths_file.read_text().splitlines()
    latencies: list[float] = []
    errors = 0
    counter = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        start = time.perf_counter()
        deadline = start + duration

        async def worker(offset: int) -> None:
            nonlocal errors, counter
            i = offset
            while time.perf_counter() < deadline:
                i += 1
                t0 = time.perf_counter()
                try:
                    r = await client.get(paths[i % len(paths)])
                    await r.aread()
                    if r.status_code >= 400:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - t0)
                counter += 1
                if counter % 200 == 0:
                    tick(min(duration, time.perf_counter() - start))

        await asyncio.gather(*(worker(k * 7919) for k in range(connections)))
        elapsed = time.perf_counter() - start
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1e6 if latencies else 0.0

    return {
        "requests": len(latencies),
        "duration_us": elapsed * 1e6,
        "p50_us": pct(50),
        "p95_us": pct(95),
        "p99_us": pct(99),
        "mean_us": sum(latencies) / len(latencies) * 1e6 if latencies else 0.0,
        "connect_errors": 0,
        "read_errors": 0,
        "write_errors": 0,
        "status_errors": errors,
        "timeouts": 0,
    }
