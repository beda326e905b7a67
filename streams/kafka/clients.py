"""kafka-python clients (producer, consumer, admin) built from the one Settings object.

Security (SASL PLAIN/SCRAM, TLS) comes from ``KAFKA_*`` settings; the password is read from its
``SecretStr`` only here and never logged.
"""

from __future__ import annotations

import ssl
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError

from policy.errors import KafkaUnavailableError
from streams.settings import Settings

CLIENT_ID = "purposegate"
#: How long the command-line tools wait for a broker before saying it is unreachable.
TOOL_BOOTSTRAP_TIMEOUT_MS = 5_000


def connection_config(settings: Settings) -> dict[str, Any]:
    """The connection part of every kafka-python client's configuration."""
    config: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.kafka_security_protocol,
        "client_id": CLIENT_ID,
    }
    if settings.kafka_security_protocol.startswith("SASL"):
        config["sasl_mechanism"] = settings.kafka_sasl_mechanism
        config["sasl_plain_username"] = settings.kafka_sasl_username
        password = settings.kafka_sasl_password
        config["sasl_plain_password"] = password.get_secret_value() if password else None
    if settings.kafka_security_protocol.endswith("SSL") and settings.kafka_ssl_cafile:
        config["ssl_context"] = ssl.create_default_context(cafile=str(settings.kafka_ssl_cafile))
    return config


def _unavailable(settings: Settings, exc: Exception) -> KafkaUnavailableError:
    if settings.kafka_security_protocol.startswith("SASL"):
        # kafka-python 3 reports a refused SASL handshake as a bootstrap timeout: say that
        # the credentials may be the cause (naming the user and mechanism, never the password).
        return KafkaUnavailableError(
            f"no Kafka broker at {settings.kafka_bootstrap} accepted the connection "
            f"({type(exc).__name__}): it is down, or it refused the SASL authentication of "
            f"user '{settings.kafka_sasl_username}' with {settings.kafka_sasl_mechanism}; "
            "check KAFKA_BOOTSTRAP, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
        )
    return KafkaUnavailableError(
        f"no Kafka broker answers at {settings.kafka_bootstrap} "
        f"({type(exc).__name__}); start one with 'make kafka-up' or set KAFKA_BOOTSTRAP"
    )


def admin_client(
    settings: Settings, timeout_ms: int = 10_000, **overrides: Any
) -> KafkaAdminClient:
    config: dict[str, Any] = {"request_timeout_ms": timeout_ms, **overrides}
    try:
        return KafkaAdminClient(**connection_config(settings), **config)
    except (KafkaError, OSError) as exc:
        raise _unavailable(settings, exc) from None


def producer(settings: Settings, **overrides: Any) -> KafkaProducer:
    config: dict[str, Any] = {"acks": "all", "linger_ms": 5, **overrides}
    try:
        return KafkaProducer(**connection_config(settings), **config)
    except (KafkaError, OSError) as exc:
        raise _unavailable(settings, exc) from None


def consumer(settings: Settings, **overrides: Any) -> KafkaConsumer:
    config: dict[str, Any] = {"enable_auto_commit": False, **overrides}
    try:
        return KafkaConsumer(**connection_config(settings), **config)
    except (KafkaError, OSError) as exc:
        raise _unavailable(settings, exc) from None
