"""The ACLs on the broker: read them all, create the plan's (kafka-python's admin ACL calls).

The client is the admin client of every command (``KAFKA_*`` settings): its principal must
be allowed to describe and alter ACLs (a super user, or ``Describe``/``Alter`` on the cluster).
A broker without an authorizer, or a principal that may not manage ACLs, is one readable
``ConfigError``; nothing is ever deleted here (``acls --check`` reports, a person removes).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

from kafka import KafkaAdminClient
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
)
from kafka.errors import AuthorizationError, SecurityDisabledError

from broker.access import Binding
from broker.acl_drift import drift
from broker.clients import admin_client
from config.settings import Settings
from policy.errors import ConfigError

#: Kafka's operation names (as ``kafka-acls.sh`` prints them) ↔ kafka-python's enum.
OPERATION_NAMES: Final = {
    "All": ACLOperation.ALL,
    "Read": ACLOperation.READ,
    "Write": ACLOperation.WRITE,
    "Create": ACLOperation.CREATE,
    "Delete": ACLOperation.DELETE,
    "Alter": ACLOperation.ALTER,
    "Describe": ACLOperation.DESCRIBE,
    "ClusterAction": ACLOperation.CLUSTER_ACTION,
    "DescribeConfigs": ACLOperation.DESCRIBE_CONFIGS,
    "AlterConfigs": ACLOperation.ALTER_CONFIGS,
    "IdempotentWrite": ACLOperation.IDEMPOTENT_WRITE,
    "CreateTokens": ACLOperation.CREATE_TOKENS,
    "DescribeTokens": ACLOperation.DESCRIBE_TOKENS,
}
OPERATIONS: Final = {v: k for k, v in OPERATION_NAMES.items()}
RESOURCE_NAMES: Final = {
    "topic": ResourceType.TOPIC,
    "group": ResourceType.GROUP,
    "cluster": ResourceType.CLUSTER,
    "transactional_id": ResourceType.TRANSACTIONAL_ID,
    "delegation_token": ResourceType.DELEGATION_TOKEN,
    "user": ResourceType.USER,
}
RESOURCES: Final = {v: k for k, v in RESOURCE_NAMES.items()}
PATTERNS: Final = {
    "literal": ACLResourcePatternType.LITERAL,
    "prefixed": ACLResourcePatternType.PREFIXED,
}
PERMISSIONS: Final = {"Allow": ACLPermissionType.ALLOW, "Deny": ACLPermissionType.DENY}
EVERY_ACL: Final = ACLFilter(
    principal=None,
    host=None,
    operation=ACLOperation.ANY,
    permission_type=ACLPermissionType.ANY,
    resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
)


def to_acl(binding: Binding) -> ACL:
    """kafka-python's ACL of one binding."""
    return ACL(
        principal=binding.principal,
        host=binding.host,
        operation=OPERATION_NAMES[binding.operation],
        permission_type=PERMISSIONS[binding.permission],
        resource_pattern=ResourcePattern(
            RESOURCE_NAMES[binding.resource], binding.name, PATTERNS[binding.pattern]
        ),
    )


def to_binding(acl: ACL) -> Binding:
    """The binding of one ACL the broker holds."""
    pattern = acl.resource_pattern
    return Binding(
        principal=acl.principal,
        resource=RESOURCES.get(pattern.resource_type, pattern.resource_type.name.lower()),
        name=pattern.resource_name,
        pattern=pattern.pattern_type.name.lower(),
        operation=OPERATIONS.get(acl.operation, acl.operation.name),
        permission=acl.permission_type.name.capitalize(),
        host=acl.host,
    )


def broker_bindings(settings: Settings, **client_overrides: Any) -> list[Binding]:
    """Every ACL on the cluster."""
    with _admin(settings, "list", client_overrides) as admin:
        acls, _ = admin.describe_acls(EVERY_ACL)
    return sorted(to_binding(acl) for acl in acls)


def create_bindings(
    settings: Settings, bindings: Sequence[Binding], **client_overrides: Any
) -> int:
    """Create ``bindings`` (the broker keeps one copy of an ACL it already has); how many."""
    if not bindings:
        return 0
    with _admin(settings, "create", client_overrides) as admin:
        result = admin.create_acls([to_acl(b) for b in bindings])
    failed = result["failed"]
    if failed:
        names = sorted({getattr(e, "__name__", type(e).__name__) for e in failed})
        raise ConfigError(f"the broker refused {len(failed)} ACL(s): {', '.join(names)}")
    return len(bindings)


@contextmanager
def _admin(settings: Settings, verb: str, overrides: dict[str, Any]) -> Iterator[KafkaAdminClient]:
    admin = admin_client(settings, **overrides)
    try:
        yield admin
    except SecurityDisabledError:
        raise ConfigError(
            f"cannot {verb} ACLs: the cluster has no authorizer (authorizer.class.name), so "
            "every client may read every topic"
        ) from None
    except AuthorizationError:
        raise ConfigError(
            f"cannot {verb} ACLs: {_who(settings)} may not (it needs Describe and Alter on the "
            "cluster, or to be a super user)"
        ) from None
    finally:
        admin.close()


def _who(settings: Settings) -> str:
    user = settings.kafka_sasl_username
    return f"KAFKA_SASL_USERNAME {user!r}" if user else "this client (no KAFKA_SASL_USERNAME)"


def apply_plan(settings: Settings, wanted: Sequence[Binding], **client_overrides: Any) -> list[str]:
    """Create the planned bindings the broker lacks; one line says how many, and one more
    when grants outside the plan remain (``acls --check`` lists them; none is removed)."""
    found = drift(wanted, broker_bindings(settings, **client_overrides))
    missing = [d.binding for d in found if d.kind == "missing"]
    created = create_bindings(settings, missing, **client_overrides)
    lines = [f"ACLs: created {created}; {len(wanted) - created} already there"]
    others = len(found) - len(missing)
    if others:
        lines.append(
            f"ACLs: {others} grant(s) outside the plan remain: see `purposegate acls --check`"
        )
    return lines
