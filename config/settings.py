"""The one settings object, read once from ``KAFKA_*`` and ``PURPOSEGATE_*`` environment variables.

Every knob of the worker and the tools lives here; nothing else reads the environment.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from policy.input_rules import DEFAULT_LIMITS, InputLimits

REPO_ROOT = Path(__file__).resolve().parent.parent
THREE_YEARS_MS = 3 * 365 * 24 * 3600 * 1000


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


PRINCIPAL_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9]*:[^*\s]+")


def _principal(value: str) -> str:
    if not PRINCIPAL_PATTERN.fullmatch(value):
        raise ValueError(f"{value!r} is not a principal like 'User:<name>' (no '*', no spaces)")
    return value


#: A Kafka principal, ``User:<name>``: never the wildcard ``User:*`` (that would be everyone).
Principal = Annotated[str, AfterValidator(_principal)]


class Settings(BaseSettings):
    """Frozen runtime settings. Secrets are ``SecretStr`` and never printed."""

    # An empty variable counts as unset (``KAFKA_SSL_CERTFILE=`` is no file, not ".").
    model_config = SettingsConfigDict(
        frozen=True, extra="ignore", case_sensitive=False, env_ignore_empty=True
    )

    # Kafka connection (KAFKA_*)
    kafka_bootstrap: str = Field("localhost:9092", validation_alias=_env("KAFKA_BOOTSTRAP"))
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SSL", "SASL_SSL"] = Field(
        "PLAINTEXT", validation_alias=_env("KAFKA_SECURITY_PROTOCOL")
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "PLAIN", validation_alias=_env("KAFKA_SASL_MECHANISM")
    )
    kafka_sasl_username: str | None = Field(None, validation_alias=_env("KAFKA_SASL_USERNAME"))
    kafka_sasl_password: SecretStr | None = Field(
        None, validation_alias=_env("KAFKA_SASL_PASSWORD")
    )
    # TLS (protocols SSL, SASL_SSL): the CA that signed the brokers' certificates (default: the
    # system's CAs) and, for brokers that ask for one, the client's certificate and key.
    kafka_ssl_cafile: Path | None = Field(None, validation_alias=_env("KAFKA_SSL_CAFILE"))
    kafka_ssl_certfile: Path | None = Field(None, validation_alias=_env("KAFKA_SSL_CERTFILE"))
    kafka_ssl_keyfile: Path | None = Field(None, validation_alias=_env("KAFKA_SSL_KEYFILE"))
    kafka_ssl_key_password: SecretStr | None = Field(
        None, validation_alias=_env("KAFKA_SSL_KEY_PASSWORD")
    )
    # How long a client waits for a first answer from the cluster before giving up with a
    # readable reason (the worker at start-up, also for the policies topic it writes its policy
    # version to; the command-line tools wait 5 s at most).
    kafka_connect_timeout_s: float = Field(
        30.0, gt=0, le=600, validation_alias=_env("KAFKA_CONNECT_TIMEOUT_S")
    )

    # Topics and partitions (PURPOSEGATE_*)
    topic_prefix: str = Field("", validation_alias=_env("PURPOSEGATE_TOPIC_PREFIX"))
    partitions: int = Field(6, ge=1, le=1024, validation_alias=_env("PURPOSEGATE_PARTITIONS"))
    replication_factor: int = Field(
        1, ge=1, le=16, validation_alias=_env("PURPOSEGATE_REPLICATION_FACTOR")
    )
    audit_retention_ms: int = Field(
        THREE_YEARS_MS, ge=1, validation_alias=_env("PURPOSEGATE_AUDIT_RETENTION_MS")
    )

    # Access control (`purposegate acls`, docs/ops.md "Who may read what"). `apply`: `topics
    # --create` creates the ACLs as well; `off` (default): the broker's own rules, e.g. none.
    acls: Literal["off", "apply"] = Field("off", validation_alias=_env("PURPOSEGATE_ACLS"))
    worker_principal: Principal = Field(
        "User:purposegate", validation_alias=_env("PURPOSEGATE_WORKER_PRINCIPAL")
    )
    office_principal: Principal = Field(
        "User:privacy-office", validation_alias=_env("PURPOSEGATE_OFFICE_PRINCIPAL")
    )
    #: Recipients whose principal is not ``User:<recipient id>``, as JSON:
    #: ``{"septem-cargo": "User:cargo"}``.
    recipient_principals: Annotated[dict[str, Principal], NoDecode] = Field(
        default_factory=dict, validation_alias=_env("PURPOSEGATE_RECIPIENT_PRINCIPALS")
    )
    #: The systems that write the input topics (the shop, the CRM), as a JSON list:
    #: ``["User:shop"]``. They get Write on the five inputs and nothing else.
    producer_principals: Annotated[tuple[Principal, ...], NoDecode] = Field(
        (), validation_alias=_env("PURPOSEGATE_PRODUCER_PRINCIPALS")
    )

    # Worker
    app_id: str = Field("purposegate", validation_alias=_env("PURPOSEGATE_APP_ID"))
    web_port: int = Field(6066, ge=1, le=65535, validation_alias=_env("PURPOSEGATE_WEB_PORT"))
    data_dir: Path = Field(
        REPO_ROOT / ".run" / "worker-data", validation_alias=_env("PURPOSEGATE_DATA_DIR")
    )
    stream_buffer_maxsize: int = Field(
        4096, ge=1, validation_alias=_env("PURPOSEGATE_STREAM_BUFFER_MAXSIZE")
    )
    producer_linger_s: float = Field(
        0.005, ge=0, validation_alias=_env("PURPOSEGATE_PRODUCER_LINGER_S")
    )
    log_level: str = Field("INFO", validation_alias=_env("PURPOSEGATE_LOG_LEVEL"))
    session_timeout_s: float = Field(
        10.0, ge=1, le=300, validation_alias=_env("PURPOSEGATE_SESSION_TIMEOUT_S")
    )
    #: The event-time merge waits for an empty input partition that still has records on the
    #: broker until nothing at all was read for this long (docs/pipeline.md)...
    merge_idle_ms: int = Field(
        500, ge=0, le=600_000, validation_alias=_env("PURPOSEGATE_MERGE_IDLE_MS")
    )
    #: ...and never longer than this.
    merge_max_wait_ms: int = Field(
        10_000, ge=0, le=3_600_000, validation_alias=_env("PURPOSEGATE_MERGE_MAX_WAIT_MS")
    )
    #: Records the merge may hold (read, not yet decided) before reading pauses, unless a
    #: partition waits for a lagging input (then the awaited record must be read). A safety
    #: net: the fetch plan (merge_partition_buffer) keeps what is held below it.
    merge_max_buffered: int = Field(
        20_000, ge=1, validation_alias=_env("PURPOSEGATE_MERGE_MAX_BUFFERED")
    )
    #: Records held for one input topic-partition before the worker stops fetching it (until
    #: it is down to half): the fetch then brings what the event-time merge waits for.
    merge_partition_buffer: int = Field(
        500, ge=2, le=1_000_000, validation_alias=_env("PURPOSEGATE_MERGE_PARTITION_BUFFER")
    )
    #: Records one fetch hands over at most (Faust's broker_max_poll_records), all from one
    #: input partition while it has that many buffered: a held-back input stops arriving within
    #: one such batch, and a backlog's first round (a head for each of the inputs' partitions)
    #: costs this many records per partition.
    fetch_max_records: int = Field(
        250, ge=1, le=1_000_000, validation_alias=_env("PURPOSEGATE_FETCH_MAX_RECORDS")
    )
    #: How long the broker may hold a fetch for records that are not there yet (Faust's own
    #: 1,500 ms made an awaited input wait that long behind a fetch of idle partitions).
    fetch_max_wait_ms: int = Field(
        100, ge=1, le=10_000, validation_alias=_env("PURPOSEGATE_FETCH_MAX_WAIT_MS")
    )
    #: Records decided in one pass of the decider (their records go to the producer together,
    #: one batch per output topic-partition); README.md → Performance says how it was chosen.
    decide_batch_max: int = Field(
        500, ge=1, le=100_000, validation_alias=_env("PURPOSEGATE_DECIDE_BATCH_MAX")
    )
    #: When the decider waited for a lagging input and a record arrived, it lets the reader
    #: take in more for this long before it decides again (README.md → Performance: measured).
    decide_coalesce_ms: float = Field(
        2.0, ge=0, le=1000, validation_alias=_env("PURPOSEGATE_DECIDE_COALESCE_MS")
    )
    #: An input whose records the broker refused this many times (a refusal retrying cannot
    #: change, one per worker run: each stops the worker, exit 3) goes to the DLQ in the next
    #: run, its state change kept (agents/refusals.py).
    delivery_attempts: int = Field(
        3, ge=1, le=1000, validation_alias=_env("PURPOSEGATE_DELIVERY_ATTEMPTS")
    )
    #: A topic that refused records in that many worker runs is held: what goes there goes to
    #: the DLQ (state kept) until its last refusal is this old; then it is tried again.
    delivery_refusal_hold_s: float = Field(
        600.0, ge=0, le=86_400 * 7, validation_alias=_env("PURPOSEGATE_DELIVERY_REFUSAL_HOLD_S")
    )
    # Stall watchdog (broker/watchdog.py): an assigned input partition with records not yet
    # committed, whose committed offset and processed count did not move for this long (while
    # not rebalancing), is stalled: /health answers 503, purposegate_partition_stalled is 1.
    stall_timeout_s: float = Field(60.0, ge=1, validation_alias=_env("PURPOSEGATE_STALL_TIMEOUT_S"))
    # ... and, still stalled this much later, the worker exits non-zero for its supervisor.
    stall_exit: bool = Field(True, validation_alias=_env("PURPOSEGATE_STALL_EXIT"))
    stall_exit_after_s: float = Field(
        60.0, ge=0, validation_alias=_env("PURPOSEGATE_STALL_EXIT_AFTER_S")
    )
    # Erasure tracker (broker/erasure_tracker.py): how often the leader worker asks the
    # broker for the recipients' committed offsets (one call for all groups) and the partitions'
    # first offsets, and records what became of each erasure notice.
    erasure_check_s: float = Field(30.0, gt=0, validation_alias=_env("PURPOSEGATE_ERASURE_CHECK_S"))

    # Input rules (docs/contract.md §1): how far ahead of the processing clock an event_time may
    # be, and the size limits per string and per record (UTF-8 bytes); beyond: the DLQ.
    max_future_skew_s: float = Field(
        DEFAULT_LIMITS.max_future_skew.total_seconds(),
        ge=0,
        validation_alias=_env("PURPOSEGATE_MAX_FUTURE_SKEW_S"),
    )
    max_string_bytes: int = Field(
        DEFAULT_LIMITS.max_string_bytes, ge=1, validation_alias=_env("PURPOSEGATE_MAX_STRING_BYTES")
    )
    max_record_bytes: int = Field(
        DEFAULT_LIMITS.max_record_bytes, ge=1, validation_alias=_env("PURPOSEGATE_MAX_RECORD_BYTES")
    )

    # Policy and secrets
    policy_file: Path = Field(
        REPO_ROOT / "policy" / "policy.yaml", validation_alias=_env("PURPOSEGATE_POLICY")
    )
    pseudonym_keys_file: Path | None = Field(
        None, validation_alias=_env("PURPOSEGATE_PSEUDONYM_KEYS_FILE")
    )
    pseudonym_keys: SecretStr | None = Field(
        None, validation_alias=_env("PURPOSEGATE_PSEUDONYM_KEYS")
    )

    # Wire format: Confluent (subjects <topic>-value in SCHEMA_REGISTRY_URL) unless a deployment
    # without a registry asks for single-object.
    wire_format: Literal["single-object", "confluent"] = Field(
        "confluent", validation_alias=_env("PURPOSEGATE_WIRE_FORMAT")
    )
    schema_registry_url: str | None = Field(None, validation_alias=_env("SCHEMA_REGISTRY_URL"))

    @field_validator("recipient_principals", "producer_principals", mode="before")
    @classmethod
    def _json(cls, value: Any) -> Any:
        # One readable line for a bad variable, instead of pydantic-settings' own parse error.
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON ({exc.msg} at character {exc.pos})") from None

    @model_validator(mode="after")
    def _security_is_complete(self) -> Settings:
        protocol = self.kafka_security_protocol
        if protocol.startswith("SASL") and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME and "
                "KAFKA_SASL_PASSWORD"
            )
        tls_files = (self.kafka_ssl_cafile, self.kafka_ssl_certfile, self.kafka_ssl_keyfile)
        if not protocol.endswith("SSL") and any(tls_files):
            raise ValueError(
                f"KAFKA_SSL_* files are set but KAFKA_SECURITY_PROTOCOL={protocol} does not use TLS"
            )
        if self.kafka_ssl_keyfile and not self.kafka_ssl_certfile:
            raise ValueError("KAFKA_SSL_KEYFILE needs KAFKA_SSL_CERTFILE (the client certificate)")
        return self

    @cached_property
    def broker_url(self) -> str:
        """The bootstrap servers as Faust wants them (``kafka://h1:p1;h2:p2``)."""
        hosts = [h.strip() for h in self.kafka_bootstrap.split(",") if h.strip()]
        return ";".join(f"kafka://{h}" for h in hosts)

    @cached_property
    def bootstrap_servers(self) -> list[str]:
        return [h.strip() for h in self.kafka_bootstrap.split(",") if h.strip()]

    def input_limits(self) -> InputLimits:
        """The input rules' limits, for ``compile_policy``."""
        return InputLimits(
            max_future_skew=timedelta(seconds=self.max_future_skew_s),
            max_string_bytes=self.max_string_bytes,
            max_record_bytes=self.max_record_bytes,
        )

    def topic(self, name: str) -> str:
        """The physical name of a contract topic (tests isolate themselves with a prefix)."""
        return f"{self.topic_prefix}{name}"


def load_settings() -> Settings:
    """Read the environment once; call at start-up and pass the object on."""
    return Settings()
