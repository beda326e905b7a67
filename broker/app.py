"""The Faust app, built from Settings (no module-level app: tests and benchmarks build theirs)."""

from __future__ import annotations

import faust

from broker.clients import ssl_context
from broker.consumer import Transport
from broker.faust_internals import check_versions
from broker.recovery import TableManager
from broker.restore import STORE_URL
from config.settings import Settings


def credentials(settings: Settings) -> faust.types.auth.CredentialsT | None:
    """Faust's ``broker_credentials`` (aiokafka): the same protocol, SASL user and TLS context
    as the kafka-python clients get."""
    context = ssl_context(settings)
    if settings.kafka_security_protocol.startswith("SASL"):
        password = settings.kafka_sasl_password
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=password.get_secret_value() if password else None,
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=context,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def build_app(settings: Settings) -> faust.App:
    """A Faust app with purposegate's settings: raw bytes in and out (our own Avro codec
    decodes inside the agent so that bad bytes become DLQ records, not skipped events),
    explicit topics, one-node replication, at-least-once. ``ConfigError`` when the installed
    Faust or aiokafka is not the pinned version (``broker.faust_internals.check_versions``)."""
    check_versions()
    app = faust.App(
        settings.app_id,
        broker=settings.broker_url,
        broker_credentials=credentials(settings),
        store=STORE_URL,  # in memory, the changelog read in bulk at assignment (broker/restore.py)
        autodiscover=False,
        datadir=str(settings.data_dir / settings.app_id),
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        stream_buffer_maxsize=settings.stream_buffer_maxsize,
        broker_max_poll_records=settings.fetch_max_records,  # the fetch plan acts per fetch
        producer_linger=settings.producer_linger_s,
        producer_acks=-1,
        web_enabled=True,
        web_bind="127.0.0.1",
        web_port=settings.web_port,
        web_in_thread=False,
        processing_guarantee="at_least_once",
        TableManager=TableManager,  # inputs seeked before they are resumed (kafka/recovery.py)
        # A dead worker's partitions move to the live ones after this long.
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=max(settings.session_timeout_s / 4, 0.5),
    )
    # fetches name a frozen set of partitions, never "all" (kafka/consumer.py)
    app.transport = Transport(app.conf.broker_consumer, app)
    app.transport.fetch_max_wait_ms = settings.fetch_max_wait_ms
    return app
