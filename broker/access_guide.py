"""The catalogue's "Who may read what" section (``docs/topics.md``): the ACL plan of the
policy (``broker.access``) with the shipped default principals and no topic prefix."""

from __future__ import annotations

from broker.access import COLUMNS, plan, rows
from config.settings import Settings
from policy import topics
from policy.models import Policy

INTRO = (
    "Each company reads only its own topics. `purposegate acls --plan` prints these grants "
    "from the policy, `--apply` creates them (or `topics --create --acls`; "
    "`PURPOSEGATE_ACLS=apply`), `--check` reports grants missing, too broad or outside them. "
    "On a broker whose authorizer refuses what no ACL allows "
    "(`allow.everyone.if.no.acl.found=false`) nobody gets anything else: no recipient reads "
    f"another's topic, the five input topics, `{topics.AUDIT}` or `{topics.DLQ}`. Below with the "
    "default principals (`User:<recipient id>`, `PURPOSEGATE_RECIPIENT_PRINCIPALS` to change "
    "one; `PURPOSEGATE_WORKER_PRINCIPAL`, `PURPOSEGATE_OFFICE_PRINCIPAL`) and no topic prefix "
    "(physical names carry `PURPOSEGATE_TOPIC_PREFIX`). Each shared topic is granted by its "
    "literal name, never a prefix: a prefix would also open a topic created later under it. "
    "The only prefix is the worker's `<app id>-`: Faust names the consent table's changelog "
    "and its leader topic after the app id. A local `make run` broker has no authorizer: "
    "every client reads everything there."
)


def access_section(policy: Policy) -> list[str]:
    """The section as lines: the introduction, then one table row per principal and resource."""
    defaults = Settings.model_construct()  # shipped defaults; the environment must not leak in
    lines = ["## Who may read what", "", INTRO, ""]
    lines += ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows(plan(policy, defaults)):
        principal, holder, resource, name, pattern, operations = row
        cells = [f"`{principal}`", holder, resource, f"`{name}`", pattern, operations]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]
