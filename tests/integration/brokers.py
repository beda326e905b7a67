"""A broker of a test's own (own port, own run folder under tmp_path), for the tests that stop
it or give it a SASL or TLS listener: the session's broker is never touched.

It runs ``deploy/kafka/kafka.sh`` with ``KAFKA_PORT`` and ``PURPOSEGATE_RUN_DIR``; the jars are
shared with the session broker through a link, so nothing is downloaded again.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KAFKA_SH = REPO / "deploy" / "kafka" / "kafka.sh"
SHARED_JARS = Path(os.environ.get("PURPOSEGATE_RUN_DIR", REPO / ".run")) / "kafka-lib"


def _free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def two_free_ports() -> int:
    """A port whose successor is free too (the controller listens on KAFKA_PORT + 1)."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port < 65000 and _free(port + 1):
            return port
    raise AssertionError("no two free ports in a row")


@dataclass(frozen=True)
class OwnBroker:
    port: int
    run_dir: Path
    extra_properties: Path | None
    #: SCRAM credentials created when the storage is formatted (``kafka.sh``'s KAFKA_SCRAM_USERS)
    scram_users: Path | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.run_dir / f"kafka-{self.port}" / "logs" / "server.log"

    def _kafka_sh(self, action: str) -> None:
        env = {**os.environ, "KAFKA_PORT": str(self.port), "PURPOSEGATE_RUN_DIR": str(self.run_dir)}
        if self.extra_properties:
            env["KAFKA_EXTRA_PROPERTIES"] = str(self.extra_properties)
        if self.scram_users:
            env["KAFKA_SCRAM_USERS"] = str(self.scram_users)
        subprocess.run([str(KAFKA_SH), action], check=True, env=env, capture_output=True)

    def up(self) -> None:
        self._kafka_sh("up")

    def down(self) -> None:
        self._kafka_sh("down")


@contextmanager
def own_broker(
    tmp_path: Path, extra_properties: str | None = None, scram_users: Sequence[str] = ()
) -> Iterator[OwnBroker]:
    """Start a broker of this test's own; stop it and leave its folder for inspection.

    ``scram_users`` are ``kafka-storage format --add-scram`` values, e.g.
    ``SCRAM-SHA-512=[name=pipeline,password=...]``: KRaft stores SCRAM users in its metadata
    log, so they are written when the storage is formatted, before the broker starts.
    """
    run_dir = tmp_path / "broker-run"
    run_dir.mkdir()
    assert (SHARED_JARS / ".complete").exists(), "the session broker's jars are not fetched"
    (run_dir / "kafka-lib").symlink_to(SHARED_JARS)
    port = two_free_ports()
    extra = None
    if extra_properties is not None:
        extra = tmp_path / "extra.properties"
        extra.write_text(extra_properties.replace("{port}", str(port)).replace(
            "{controller_port}", str(port + 1)))  # fmt: skip
    users = None
    if scram_users:
        users = tmp_path / "scram-users.txt"
        users.write_text("".join(f"{user}\n" for user in scram_users))
    broker = OwnBroker(port, run_dir, extra, users)
    broker.up()
    try:
        yield broker
    finally:
        broker.down()
