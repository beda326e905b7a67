"""A real Prometheus server for the tests: the shipped config with test timings, one target."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.workers import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO / "deploy" / "prometheus"


@dataclass
class Prometheus:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def get(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=10) as response:  # noqa: S310 (loopback)
            return json.loads(response.read())

    def query(self, expr: str) -> dict[str, Any]:
        """``/api/v1/query``; an HTTP 400/422 (bad PromQL) comes back as its error body."""
        try:
            body: dict[str, Any] = self.get("/api/v1/query", query=expr)
        except urllib.error.HTTPError as exc:
            body = json.loads(exc.read())
        return body

    def value(self, expr: str) -> float:
        result = self.query(expr)["data"]["result"]
        return float(result[0]["value"][1]) if result else 0.0

    def log_tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-40:])


def _prometheus_config(tmp_path: Path, worker_port: int) -> Path:
    """deploy/prometheus/prometheus.yml as shipped, with test timings and this test's target."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    config["rule_files"] = [str(PROMETHEUS_DIR / rule) for rule in config["rule_files"]]
    targets = tmp_path / "targets.yml"
    targets.write_text(yaml.safe_dump([{"targets": [f"127.0.0.1:{worker_port}"]}]))
    (job,) = config["scrape_configs"]
    job["file_sd_configs"] = [{"files": [str(targets)], "refresh_interval": "1s"}]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@contextlib.contextmanager
def start_prometheus(tmp_path: Path, worker_port: int) -> Iterator[Prometheus]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus not on PATH: run deploy/prometheus/install.sh (make test does)")
    port = free_port()
    log_path = tmp_path / "prometheus.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={_prometheus_config(tmp_path, worker_port)}",
                f"--storage.tsdb.path={tmp_path / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Prometheus(process, f"http://127.0.0.1:{port}", log_path)
    try:
        wait_for(lambda: _ready(server), 30, lambda: f"Prometheus not ready:\n{server.log_tail()}")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _ready(server: Prometheus) -> bool:
    if server.process.poll() is not None:
        raise AssertionError(f"Prometheus exited:\n{server.log_tail()}")
    try:
        with urllib.request.urlopen(f"{server.url}/-/ready", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


def wait_for(done: Any, timeout: float, message: Any) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return
        time.sleep(0.5)
    raise AssertionError(message())
