"""kafka-python clients (producer, consumer, admin) built from the one Settings object.

Security (SASL PLAIN/SCRAM, TLS with an optional client certificate) comes from ``KAFKA_*``
settings; secrets are read from their ``SecretStr`` only here and never logged. A client that
cannot connect raises ``KafkaUnavailableError`` with one line that says why
(``broker.diagnosis``).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any, TypeVar

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError

from broker.diagnosis import collected_failures, unavailable
from config.settings import Settings
from policy.errors import ConfigError

CLIENT_ID = "purposegate"
#: How long the command-line tools wait for a broker before saying it is unreachable.
TOOL_BOOTSTRAP_TIMEOUT_MS = 5_000

Client = TypeVar("Client")


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context of every client (kafka-python and Faust's aiokafka), or None without TLS.

    Certificates and host names are verified (``create_default_context``); an unreadable file
    is a ``ConfigError`` naming the setting, never a traceback.
    """
    if not settings.kafka_security_protocol.endswith("SSL"):
        return None
    cafile = settings.kafka_ssl_cafile
    try:
        context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"KAFKA_SSL_CAFILE {cafile} is not a readable PEM CA file: {_why(exc)}"
        ) from None
    if settings.kafka_ssl_certfile:
        password = settings.kafka_ssl_key_password
        try:
            context.load_cert_chain(
                str(settings.kafka_ssl_certfile),
                str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None,
                password.get_secret_value() if password else None,
            )
        except (OSError, ssl.SSLError) as exc:
            hint = (
                "; check the key and KAFKA_SSL_KEY_PASSWORD"
                if isinstance(exc, ssl.SSLError)
                else ""
            )
            raise ConfigError(
                f"KAFKA_SSL_CERTFILE {settings.kafka_ssl_certfile} / KAFKA_SSL_KEYFILE "
                f"{settings.kafka_ssl_keyfile}: no usable certificate and key ({_why(exc)}){hint}"
            ) from None
    return context


def _why(exc: Exception) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


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
    context = ssl_context(settings)
    if context is not None:
        config["ssl_context"] = context
    return config


def _connect(settings: Settings, build: Callable[..., Client], config: dict[str, Any]) -> Client:
    wait_ms = int(settings.kafka_connect_timeout_s * 1000)
    merged = {"bootstrap_timeout_ms": wait_ms, **connection_config(settings), **config}
    with collected_failures() as collector:
        try:
            return build(**merged)
        except (KafkaError, OSError) as exc:
            raise unavailable(settings, exc, collector.failures) from None


def admin_client(
    settings: Settings, timeout_ms: int = 10_000, **overrides: Any
) -> KafkaAdminClient:
    return _connect(settings, KafkaAdminClient, {"request_timeout_ms": timeout_ms, **overrides})


def producer(settings: Settings, **overrides: Any) -> KafkaProducer:
    return _connect(settings, KafkaProducer, {"acks": "all", "linger_ms": 5, **overrides})


def consumer(settings: Settings, **overrides: Any) -> KafkaConsumer:
    return _connect(settings, KafkaConsumer, {"enable_auto_commit": False, **overrides})


def check_connection(settings: Settings) -> None:
    """Raise ``KafkaUnavailableError`` (one readable line) unless the cluster answers."""
    admin_client(settings).close()
