"""Why a kafka-python client could not reach the cluster, in one line that names the setting.

kafka-python 3 retries a failed bootstrap until its deadline and then raises a bare timeout;
the cause (a certificate the CA file does not vouch for, a refused SASL password, a refused
TCP connection) only reaches its loggers, one line per attempt. ``collected_failures`` keeps
those lines off stderr while a client connects and keeps the exceptions they carry, and
``unavailable`` turns them into one readable ``KafkaUnavailableError``. Messages name the
bootstrap servers, the user and the mechanism: never a password, never a key.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from config.settings import Settings
from policy.errors import KafkaUnavailableError

KAFKA_LOGGER = "kafka"
DISCONNECTED = "KafkaConnectionError: socket disconnected"
_VERIFY = re.compile(r"certificate verify failed: (?P<why>[^(]+?)\s*(\(_ssl\.c:\d+\))?$")
_SSL = re.compile(r"\[SSL: (?P<code>[A-Z0-9_]+)\]")


class FailureCollector(logging.Handler):
    """Keeps the text of every exception that kafka-python logs while a client connects."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.failures: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        for arg in args:
            if isinstance(arg, BaseException):
                self.failures.append(f"{type(arg).__name__}: {arg}")


class _Quiet:
    """The kafka logger's own settings, saved while any client connects (clients may connect
    from several threads at once: the worker's lag collector does)."""

    lock = threading.Lock()
    active = 0
    saved: tuple[bool, int] = (True, logging.NOTSET)


@contextmanager
def collected_failures() -> Iterator[FailureCollector]:
    """kafka-python's log lines go to the collector only, while the block runs."""
    logger = logging.getLogger(KAFKA_LOGGER)
    collector = FailureCollector()
    with _Quiet.lock:
        if _Quiet.active == 0:
            _Quiet.saved = (logger.propagate, logger.level)
            logger.propagate = False
            logger.setLevel(logging.WARNING)  # the failures are logged at WARNING and ERROR
        _Quiet.active += 1
        logger.addHandler(collector)
    try:
        yield collector
    finally:
        with _Quiet.lock:
            logger.removeHandler(collector)
            _Quiet.active -= 1
            if _Quiet.active == 0:
                logger.propagate, level = _Quiet.saved
                logger.setLevel(level)


def unavailable(settings: Settings, exc: Exception, failures: list[str]) -> KafkaUnavailableError:
    """One readable error for a client that could not connect, from the logged failures."""
    where = settings.kafka_bootstrap
    for failure in reversed(failures):
        message = _tls_problem(settings, failure) or _sasl_problem(settings, failure)
        if message:
            return KafkaUnavailableError(f"cannot connect to Kafka at {where}: {message}")
    sasl = settings.kafka_security_protocol.startswith("SASL")
    if sasl and any(f.endswith(DISCONNECTED) for f in failures):
        # The broker answers a refused SASL login after connection.failed.authentication.
        # delay.ms and closes the connection at once; when kafka-python (3.0.12) reads the
        # answer and the close in one go it drops the answer and logs only the disconnect.
        # A broker that accepted TCP and TLS and then hangs up during the login has, in
        # practice, refused the credentials.
        return KafkaUnavailableError(
            f"cannot connect to Kafka at {where}: the broker closed the connection during the "
            f"SASL authentication of user '{settings.kafka_sasl_username}' with "
            f"{settings.kafka_sasl_mechanism} (usually: invalid credentials); check "
            "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
        )
    if sasl:
        return KafkaUnavailableError(
            f"no Kafka broker at {where} accepted the connection ({type(exc).__name__}): it is "
            f"down, or it refused the SASL authentication of user "
            f"'{settings.kafka_sasl_username}' with {settings.kafka_sasl_mechanism}; check "
            "KAFKA_BOOTSTRAP, KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
        )
    return KafkaUnavailableError(
        f"no Kafka broker answers at {where} ({type(exc).__name__}); start one with "
        "'make kafka-up', or check KAFKA_BOOTSTRAP and KAFKA_SECURITY_PROTOCOL"
    )


def _tls_problem(settings: Settings, failure: str) -> str | None:
    verify = _VERIFY.search(failure)
    if verify:
        cafile = settings.kafka_ssl_cafile or "the system's CAs (KAFKA_SSL_CAFILE unset)"
        return (
            f"the broker's TLS certificate is not trusted ({verify.group('why')}); "
            f"check that KAFKA_SSL_CAFILE ({cafile}) holds the CA that signed it"
        )
    code = _SSL.search(failure)
    if code is None:
        return None
    if "CERTIFICATE_REQUIRED" in code.group("code") or "BAD_CERTIFICATE" in code.group("code"):
        return (
            f"the broker refused the TLS client certificate ({code.group('code')}); check "
            "KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE"
        )
    return (
        f"the TLS handshake failed ({code.group('code')}); check that the listener speaks "
        f"{settings.kafka_security_protocol} (KAFKA_SECURITY_PROTOCOL)"
    )


def _sasl_problem(settings: Settings, failure: str) -> str | None:
    user, mechanism = settings.kafka_sasl_username, settings.kafka_sasl_mechanism
    if failure.startswith("SaslAuthenticationFailedError"):
        return (
            f"the broker refused the SASL authentication of user '{user}' with {mechanism} "
            "(invalid credentials); check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
        )
    if failure.startswith("UnsupportedSaslMechanismError"):
        return f"the broker does not offer SASL mechanism {mechanism} (KAFKA_SASL_MECHANISM)"
    return None
