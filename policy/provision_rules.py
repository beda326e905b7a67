"""The policy's rules about the record of provision (docs/contract.md §3, §4): what each recipient
gets in place of the customer id, and the basis each purpose names.

>>> from policy.loader import load_policy
>>> basis_faults(load_policy())
[]
"""

from __future__ import annotations

from typing import Final

from policy.models import CUSTOMER_ID, FieldRule, Policy, Route

_DROP: Final = FieldRule(op="drop")


def subject_faults(route: Route, where: str) -> list[str]:
    """The customer id leaves as the recipient's subject id (``pseudonymise``); as it is only
    where the route says why (``keep`` with a ``reason``), and never on a pseudonymised route
    (docs/contract.md §3)."""
    rule = route.fields.get(CUSTOMER_ID, _DROP)
    if rule.op == "pseudonymise":
        return []
    if rule.op == "keep" and not route.pseudonymised:
        return [] if rule.reason else [f"{where}: keep of the raw customer id needs a reason"]
    if route.pseudonymised:
        return [f"{where}: a pseudonymised route needs customer_id: pseudonymise"]
    return [f"{where}: pseudonymise (the subject id), or keep with a reason; not {rule.op}"]


def basis_faults(policy: Policy) -> list[str]:
    """A purpose's basis must agree with what the purpose needs: consent exactly when it needs
    consent, pseudonymised exactly when it is pseudonymised only."""
    faults: list[str] = []
    for purpose in policy.purposes:
        if (purpose.basis == "consent") != purpose.needs_consent:
            faults.append(
                f"purposes.{purpose.id}.basis: '{purpose.basis}' but needs_consent is "
                f"{str(purpose.needs_consent).lower()} (consent exactly when it needs consent)"
            )
        elif (purpose.basis == "pseudonymised") != purpose.pseudonymised_only:
            faults.append(
                f"purposes.{purpose.id}.basis: 'pseudonymised' exactly when pseudonymised_only"
            )
    return faults
