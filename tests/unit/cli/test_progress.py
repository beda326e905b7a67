"""Long commands show progress on a terminal and nothing anywhere else: ``dry-run`` run as a
subprocess with stderr on a pseudo-terminal, and with stderr on a pipe."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios
from pathlib import Path

import pytest

from bench.workers import PURPOSEGATE

KEYS = Path(__file__).resolve().parents[2] / "golden" / "keys.json"


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("progress") / "sample.jsonl"
    subprocess.run(
        [str(PURPOSEGATE), "sample", "--seed", "3", "--customers", "50", "--events", "3000",
         "--out", str(path)],
        check=True, capture_output=True,
    )  # fmt: skip
    return path


def _dry_run(stream: Path, out: Path, stderr: int) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(PURPOSEGATE), "dry-run", "--input", str(stream), "--out", str(out), "--keys",
         str(KEYS)],
        stdout=subprocess.PIPE, stderr=stderr, check=True, timeout=300,
        env={**os.environ, "TERM": "xterm"},
    )  # fmt: skip


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the terminal's other end is closed and drained
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_when_stderr_is_a_terminal_then_dry_run_draws_a_progress_bar(
    stream: Path, tmp_path: Path
) -> None:
    controller, terminal = pty.openpty()
    # a new pseudo-terminal is 0 columns wide: size it like a person's window
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        done = _dry_run(stream, tmp_path / "out", terminal)
    finally:
        os.close(terminal)
    shown = _read_all(controller).decode(errors="replace")
    os.close(controller)
    assert "dry-run:" in shown and "\r" in shown  # a bar redrawn in place
    assert b"dry-run:" in done.stdout  # the summary stays on stdout


def test_when_stderr_is_not_a_terminal_then_dry_run_is_silent_there(
    stream: Path, tmp_path: Path
) -> None:
    done = _dry_run(stream, tmp_path / "out", subprocess.PIPE)
    assert done.stderr == b""
