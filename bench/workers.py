"""Run ``purposegate worker`` as a subprocess, as production does (and easy to SIGKILL); the
integration tests and the benchmarks start their workers with it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from config.settings import REPO_ROOT, Settings

#: The ``purposegate`` console script of the environment running this (beside its interpreter:
#: a virtualenv's ``bin/``), wherever that environment lives.
PURPOSEGATE = Path(sys.executable).with_name("purposegate")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that reproduces ``settings`` in a child process."""
    env = {
        "KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "PURPOSEGATE_TOPIC_PREFIX": settings.topic_prefix,
        "PURPOSEGATE_APP_ID": settings.app_id,
        "PURPOSEGATE_PARTITIONS": str(settings.partitions),
        "PURPOSEGATE_DATA_DIR": str(settings.data_dir),
    }
    if settings.pseudonym_keys_file:
        env["PURPOSEGATE_PSEUDONYM_KEYS_FILE"] = str(settings.pseudonym_keys_file)
    if "wire_format" in settings.model_fields_set:
        env["PURPOSEGATE_WIRE_FORMAT"] = settings.wire_format
    if settings.schema_registry_url:
        env["SCHEMA_REGISTRY_URL"] = settings.schema_registry_url
    return env


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    web_port: int
    log_path: Path

    @classmethod
    def start(
        cls,
        settings: Settings,
        workdir: Path,
        web_port: int,
        extra_env: dict[str, str],
        command: Sequence[str] = (str(PURPOSEGATE), "worker"),
    ) -> WorkerProcess:
        log_path = workdir / f"worker-{web_port}.log"
        env = {
            **os.environ,
            **settings_env(settings),
            "PURPOSEGATE_WEB_PORT": str(web_port),
            "PURPOSEGATE_DATA_DIR": str(workdir / f"data-{web_port}"),
            **extra_env,
        }
        with log_path.open("wb") as log:
            process = subprocess.Popen(  # noqa: S603 - our own entry points, no shell
                list(command), env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT
            )
        return cls(process, web_port, log_path)

    def health(self) -> dict[str, object] | None:
        answer = self.health_response()
        return answer[1] if answer else None

    def health_response(self) -> tuple[int, dict[str, object]] | None:
        """``(HTTP status, JSON body)`` of ``/health`` (a 503 has a body too), or None."""
        url = f"http://127.0.0.1:{self.web_port}/health"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            try:
                return error.code, json.loads(error.read())
            except ValueError:
                return None
        except OSError:
            return None

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until the worker has partitions assigned and its tables recovered."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.log_tail()}")
            health = self.health()
            if health and health.get("status") == "ok":
                return
            time.sleep(0.3)
        raise AssertionError(f"worker not ready within {timeout}s:\n{self.log_tail()}")

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.web_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback)
            text: str = response.read().decode()
            return text

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no final commit."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait for a clean exit; SIGKILL if it does not come."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode
