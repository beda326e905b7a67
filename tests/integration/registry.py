"""The schema registry of the test session: the one ``SCHEMA_REGISTRY_URL`` names (`make test`
starts one), or the local Apicurio that ``deploy/registry/registry.sh`` builds and runs."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REGISTRY_SCRIPT = REPO / "deploy" / "registry" / "registry.sh"


def wire_env() -> dict[str, str]:
    """Settings of the session's wire format: Confluent with the session's registry, else
    single-object (a deployment without a registry)."""
    url = os.environ.get("SCHEMA_REGISTRY_URL")
    return {"SCHEMA_REGISTRY_URL": url} if url else {"PURPOSEGATE_WIRE_FORMAT": "single-object"}


def local_registry() -> Iterator[str]:
    """``SCHEMA_REGISTRY_URL``, or a local registry started here (stopped afterwards when it
    was started here); skips, with the reason, only where neither can run."""
    given = os.environ.get("SCHEMA_REGISTRY_URL")
    if given:
        yield given
        return
    if not REGISTRY_SCRIPT.exists() or shutil.which("java") is None or shutil.which("mvn") is None:
        pytest.skip("no schema registry: set SCHEMA_REGISTRY_URL, or install Java 17 and Maven")
    env = {**os.environ, "REGISTRY_PORT": os.environ.get("REGISTRY_PORT", "18081")}

    def script(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(REGISTRY_SCRIPT), command],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )

    was_running = script("status").returncode == 0
    started = script("up")
    if started.returncode != 0:
        pytest.skip(f"local schema registry cannot run here: {started.stderr.strip()[-400:]}")
    yield script("url").stdout.strip()
    if not was_running:
        script("down")
