"""Certificates made by a test with ``openssl``: a CA, a broker certificate for 127.0.0.1 signed
by it, a client certificate with a password-protected key, and a second CA that signed neither
(the "wrong CA"). PEM files, which both Kafka (``ssl.keystore.type=PEM``) and Python read.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

KEY_PASSWORD = "key-pw-5b1e0c97"  # a throwaway test key's password
DAYS = "2"


@dataclass(frozen=True)
class Certificates:
    ca: Path
    other_ca: Path
    #: the broker's key and certificate chain in one PEM file (Kafka's PEM keystore)
    broker_keystore: Path
    client_cert: Path
    #: the client's key, encrypted with ``KEY_PASSWORD``
    client_key: Path


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def _self_signed_ca(folder: Path, name: str) -> tuple[Path, Path]:
    key, cert = folder / f"{name}.key", folder / f"{name}.pem"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
             "-out", str(cert), "-days", DAYS, "-subj", f"/CN=purposegate test {name}")  # fmt: skip
    return key, cert


def _signed(folder: Path, name: str, ca: tuple[Path, Path], extensions: str | None) -> Path:
    key, csr, cert = (folder / f"{name}.{ext}" for ext in ("key", "csr", "pem"))
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
             "-subj", f"/CN={name}")  # fmt: skip
    command = ["x509", "-req", "-in", str(csr), "-CA", str(ca[1]), "-CAkey", str(ca[0]),
               "-CAcreateserial", "-out", str(cert), "-days", DAYS]  # fmt: skip
    if extensions:
        ext_file = folder / f"{name}.ext"
        ext_file.write_text(extensions + "\n")
        command += ["-extfile", str(ext_file)]
    _openssl(*command)
    return cert


def make_certificates(folder: Path) -> Certificates:
    """Everything a TLS test needs, in ``folder`` (which the test's tmp_path owns)."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is required to make the TLS test's certificates")
    folder.mkdir(parents=True, exist_ok=True)
    ca = _self_signed_ca(folder, "ca")
    _, other_ca = _self_signed_ca(folder, "other-ca")
    broker = _signed(folder, "broker", ca, "subjectAltName=IP:127.0.0.1,DNS:localhost")
    keystore = folder / "broker-keystore.pem"
    keystore.write_bytes((folder / "broker.key").read_bytes() + broker.read_bytes())
    client = _signed(folder, "client", ca, None)
    encrypted = folder / "client-encrypted.key"
    _openssl("pkey", "-in", str(folder / "client.key"), "-aes256", "-out", str(encrypted),
             "-passout", f"pass:{KEY_PASSWORD}")  # fmt: skip
    (folder / "client.key").unlink()
    return Certificates(ca[1], other_ca, keystore, client, encrypted)
