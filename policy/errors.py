"""The one exception root of purposegate, and the closed vocabulary of dead-letter reasons.

Exceptions are for start-up configuration and programming faults only; faults in data that the
stream must survive travel as values (``policy.validation.Invalid``,
``wire.codec.DecodeError``) and end as DLQ records whose ``error_kind`` is one of
``ERROR_KINDS``.
"""

from typing import Final, Literal, get_args


class PurposegateError(Exception):
    """Root of every exception purposegate raises on purpose."""


class ConfigError(PurposegateError):
    """Settings, policy or keys are unusable; the message names the bad entry."""


class KafkaUnavailableError(PurposegateError):
    """The broker named by ``KAFKA_BOOTSTRAP`` does not answer."""


#: Bytes that are not one of our Avro records (``wire.codec``).
DecodeErrorKind = Literal[
    "empty",  # no bytes at all
    "unknown_format",  # neither C3 01 nor a Confluent magic byte
    "truncated",  # shorter than its header
    "unknown_schema",  # fingerprint or registry id of no known schema
    "no_registry",  # Confluent framing but no SCHEMA_REGISTRY_URL
    "malformed",  # the body does not decode with its writer schema, or has trailing bytes
]
#: A record outside the contract (``policy.validation`` and the JSON-lines reader).
ValidationErrorKind = Literal[
    "not_json", "not_a_record", "unknown_topic", "missing_field", "wrong_type", "unknown_enum",
    "out_of_range",
    "invalid_unicode",  # a line that is not UTF-8, a string with a lone surrogate
    "too_large",  # a string or a record over its size limit
    "event_time_in_future",  # more than the allowed skew ahead of the processing clock
]  # fmt: skip
#: Faults the pipeline itself finds around a record that decoded and validated.
PipelineErrorKind = Literal["key_mismatch", "internal_error", "delivery_refused"]
#: Counted for any kind outside the vocabulary, so that no message can become a label value.
OTHER_ERROR: Final = "other"

#: Every ``error_kind`` a DLQ record may carry, and ``other``.
ERROR_KINDS: Final[tuple[str, ...]] = (
    *get_args(DecodeErrorKind),
    *get_args(ValidationErrorKind),
    *get_args(PipelineErrorKind),
    OTHER_ERROR,
)
