"""The one exception root of purposegate.

Exceptions are for start-up configuration and programming faults only; faults in data that the
stream must survive travel as values (see ``policy.validation`` and the DLQ records).
"""


class PurposegateError(Exception):
    """Root of every exception purposegate raises on purpose."""


class ConfigError(PurposegateError):
    """Settings, policy or keys are unusable; the message names the bad entry."""


class KafkaUnavailableError(PurposegateError):
    """The broker named by ``KAFKA_BOOTSTRAP`` does not answer."""
