"""Kafka security settings reach every client, and a failed connection reads as one line.

The same ``KAFKA_*`` settings must give kafka-python (commands, admin, lag), Faust's
``broker_credentials`` and, through them, aiokafka (the worker) the same protocol, SASL user,
mechanism, password and TLS context; the TLS context is proved by a real handshake with a local
TLS server that demands a client certificate (no Kafka needed). The broker-level proof is
``tests/integration/test_reliability_tls.py``.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from typing import Any

import pytest
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from pydantic import ValidationError

from broker.app import build_app
from broker.clients import admin_client, connection_config, ssl_context
from broker.diagnosis import unavailable
from config.settings import Settings
from policy.errors import ConfigError, KafkaUnavailableError
from tests.certificates import KEY_PASSWORD, Certificates, make_certificates

PASSWORD = "unit-pw-91f0"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certs"))


def settings_of(certs: Certificates, **env: str) -> Settings:
    places = {"ca": str(certs.ca), "cert": str(certs.client_cert), "key": str(certs.client_key)}
    return Settings.model_validate({k: v.format(**places) for k, v in env.items()})


SCRAM_TLS = {
    "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "KAFKA_SASL_USERNAME": "pipeline",
    "KAFKA_SASL_PASSWORD": PASSWORD,
    "KAFKA_SSL_CAFILE": "{ca}",
    "KAFKA_SSL_CERTFILE": "{cert}",
    "KAFKA_SSL_KEYFILE": "{key}",
    "KAFKA_SSL_KEY_PASSWORD": KEY_PASSWORD,
}
PLAIN_SASL = {
    "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
    "KAFKA_SASL_USERNAME": "pipeline",
    "KAFKA_SASL_PASSWORD": PASSWORD,
}


@pytest.mark.parametrize(
    ("env", "protocol", "mechanism", "tls"),
    [
        ({}, "PLAINTEXT", None, False),  # the default: no security
        (PLAIN_SASL, "SASL_PLAINTEXT", "PLAIN", False),  # SASL without TLS
        (SCRAM_TLS, "SASL_SSL", "SCRAM-SHA-512", True),  # SCRAM over TLS, client certificate
        ({**SCRAM_TLS, "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256"}, "SASL_SSL", "SCRAM-SHA-256", True),
        (  # TLS only (no SASL): the client certificate is the identity
            {
                "KAFKA_SECURITY_PROTOCOL": "SSL",
                "KAFKA_SSL_CAFILE": "{ca}",
                "KAFKA_SSL_CERTFILE": "{cert}",
                "KAFKA_SSL_KEYFILE": "{key}",
                "KAFKA_SSL_KEY_PASSWORD": KEY_PASSWORD,
            },
            "SSL",
            None,
            True,
        ),  # fmt: skip
    ],
)
def test_when_security_is_configured_then_kafka_python_faust_and_aiokafka_get_the_same(
    certs: Certificates,
    env: dict[str, str],
    protocol: str,
    mechanism: str | None,
    tls: bool,
) -> None:
    settings = settings_of(certs, **env)
    python = connection_config(settings)
    conf = build_app(settings).conf
    aio = dict(credentials_to_aiokafka_auth(conf.broker_credentials, conf.ssl_context))
    for client in (python, aio):
        assert client["security_protocol"] == protocol
        assert client.get("sasl_mechanism") == mechanism
        if mechanism:
            assert client["sasl_plain_username"] == "pipeline"
            assert client["sasl_plain_password"] == PASSWORD
        assert (client.get("ssl_context") is not None) is tls
    if tls:  # both contexts trust the CA and present the client certificate
        assert handshake(python["ssl_context"], certs) == "client"
        assert handshake(aio["ssl_context"], certs) == "client"
    assert PASSWORD not in repr(settings) and PASSWORD not in repr(conf.broker_credentials)


def handshake(context: ssl.SSLContext, certs: Certificates) -> str:
    """A TLS handshake with a local server that demands a client certificate signed by the
    CA; returns the client certificate's common name as the server saw it."""
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(certs.ca))
    server.load_cert_chain(str(certs.broker_keystore))
    server.verify_mode = ssl.CERT_REQUIRED
    seen: dict[str, Any] = {}
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def serve() -> None:
            conn, _ = listener.accept()
            with server.wrap_socket(conn, server_side=True) as tls:
                seen.update(tls.getpeercert() or {})

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        port = listener.getsockname()[1]
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1"),
        ):
            thread.join(timeout=10)
    return str(dict(pair[0] for pair in seen["subject"])["commonName"])


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        (  # SASL without a password: refused before any connection is tried
            {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_USERNAME": "pipeline"},
            "needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD",
        ),
        (  # an empty password is no password
            {**PLAIN_SASL, "KAFKA_SASL_PASSWORD": ""},
            "needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD",
        ),
        (  # a CA file with a protocol without TLS: the password would travel in clear
            {**PLAIN_SASL, "KAFKA_SSL_CAFILE": "/etc/ca.pem"},
            "does not use TLS",
        ),
        (  # a client key without its certificate
            {"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_KEYFILE": "/etc/k.pem"},
            "KAFKA_SSL_KEYFILE needs KAFKA_SSL_CERTFILE",
        ),
    ],
)
def test_when_security_settings_are_incomplete_then_start_up_names_them(
    env: dict[str, str], problem: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings.model_validate(env)
    assert problem in str(raised.value)
    assert PASSWORD not in str(raised.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"KAFKA_SSL_CAFILE": "/nonexistent/ca.pem"}, "is not a readable PEM CA file"),
        ({"KAFKA_SSL_CAFILE": "{key}"}, "is not a readable PEM CA file"),  # a key, not a cert
        ({"KAFKA_SSL_KEY_PASSWORD": "wrong"}, "no usable certificate and key"),
        ({"KAFKA_SSL_KEY_PASSWORD": ""}, "no usable certificate and key"),  # no password
    ],
)
def test_when_a_tls_file_is_unusable_then_a_config_error_names_the_setting(
    certs: Certificates, change: dict[str, str], message: str
) -> None:
    settings = settings_of(certs, **{**SCRAM_TLS, **change})
    with pytest.raises(ConfigError) as raised:
        ssl_context(settings)
    assert message in str(raised.value)
    assert KEY_PASSWORD not in str(raised.value) and PASSWORD not in str(raised.value)


VERIFY = (
    "KafkaConnectionError: Handshake failed: [SSL: CERTIFICATE_VERIFY_FAILED] certificate "
    "verify failed: unable to get local issuer certificate (_ssl.c:1006)"
)
SASL = (
    "SaslAuthenticationFailedError: [Error 58] SaslAuthenticationFailedError: Authentication "
    "failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"
)


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        (
            [VERIFY],
            "the broker's TLS certificate is not trusted (unable to get local issuer "
            "certificate); check that KAFKA_SSL_CAFILE",
        ),  # fmt: skip # wrong CA
        (  # wrong password, after disconnects that say nothing
            ["KafkaConnectionError: socket disconnected", SASL],
            "the broker refused the SASL authentication of user 'pipeline' with SCRAM-SHA-512",
        ),
        (  # mutual TLS and no client certificate
            [
                "KafkaConnectionError: Handshake failed: [SSL: SSLV3_ALERT_BAD_CERTIFICATE] sslv3 "
                "alert bad certificate (_ssl.c:2580)"
            ],
            "the broker refused the TLS client certificate (SSLV3_ALERT_BAD_CERTIFICATE)",
        ),  # fmt: skip
        (  # a TLS client on a plaintext listener
            [
                "KafkaConnectionError: Handshake failed: [SSL: WRONG_VERSION_NUMBER] wrong version "
                "number (_ssl.c:1006)"
            ],
            "the TLS handshake failed (WRONG_VERSION_NUMBER)",
        ),  # fmt: skip
        (  # the refusal lost in the close that follows it: only the disconnects are logged
            ["KafkaConnectionError: socket disconnected"] * 3,
            "the broker closed the connection during the SASL authentication of user 'pipeline' "
            "with SCRAM-SHA-512 (usually: invalid credentials); check KAFKA_SASL_USERNAME",
        ),
        (
            ["UnsupportedSaslMechanismError: Kafka broker does not support SCRAM-SHA-512"],
            "the broker does not offer SASL mechanism SCRAM-SHA-512",
        ),
        ([], "it is down, or it refused the SASL authentication"),  # nothing logged: say both
    ],
)
def test_when_a_client_cannot_connect_then_the_logged_cause_becomes_one_line(
    certs: Certificates, failures: list[str], expected: str
) -> None:
    settings = settings_of(certs, **SCRAM_TLS)
    message = str(unavailable(settings, TimeoutError(), failures))
    assert expected in message
    assert "\n" not in message and PASSWORD not in message and KEY_PASSWORD not in message


def test_when_nothing_is_secured_and_no_broker_answers_then_it_says_so() -> None:
    settings = Settings.model_validate(
        {"KAFKA_BOOTSTRAP": "localhost:9", "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}
    )
    message = str(unavailable(settings, TimeoutError(), []))
    assert message.startswith("no Kafka broker answers at localhost:9 (TimeoutError)")


def test_when_a_variable_is_empty_then_it_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    # `KAFKA_SSL_CERTFILE=` must mean "no client certificate", not the file "."
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SSL")
    monkeypatch.setenv("KAFKA_SSL_CERTFILE", "")
    monkeypatch.setenv("KAFKA_SSL_KEYFILE", "")
    settings = Settings()
    assert settings.kafka_ssl_certfile is None and settings.kafka_ssl_keyfile is None


def test_when_kafka_logs_at_debug_then_connecting_logs_no_password() -> None:
    # kafka-python logs its whole configuration, SASL password included, at DEBUG when a client
    # starts; purposegate keeps its loggers at WARNING while a client connects
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    logger = logging.getLogger("kafka")
    handler, level = Keep(logging.DEBUG), logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    settings = Settings.model_validate({**PLAIN_SASL, "KAFKA_BOOTSTRAP": "127.0.0.1:9"})
    try:
        with pytest.raises(KafkaUnavailableError):
            admin_client(settings, bootstrap_timeout_ms=300)
        assert logger.level == logging.DEBUG  # restored after the attempt
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert not [r for r in records if PASSWORD in r]
