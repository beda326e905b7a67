"""The lawful basis of using data for a purpose: the one place that says it.

Until the policy carries a ``basis`` per purpose, it is read from the purpose's entry: a purpose
that needs consent rests on the consent; ``campaign`` on the entrant's application;
``complaint_handling`` on the legal duty to answer (APPI Arts. 32-40); every other purpose on
the contract with the customer (the order, the membership). ``purposegate ropa`` and
``purposegate report`` both ask :func:`purpose_basis`; when the policy gains its own field,
this function reads it and nothing else changes.

>>> from policy.models import Purpose
>>> purpose_basis(Purpose(id="marketing", clause="c", needs_consent=True))
'consent'
>>> purpose_basis(Purpose(id="fulfilment", clause="c", needs_consent=False))
'contract'
"""

from __future__ import annotations

from typing import Final, Literal

from policy.models import Purpose

Basis = Literal["consent", "contract", "application", "legal_duty"]

#: Purposes whose basis is neither consent nor the contract.
_BY_PURPOSE: Final[dict[str, Basis]] = {
    "campaign": "application",
    "complaint_handling": "legal_duty",
}


def purpose_basis(purpose: Purpose) -> Basis:
    """The basis of using data for ``purpose`` (see the module's docstring)."""
    if purpose.needs_consent:
        return "consent"
    return _BY_PURPOSE.get(purpose.id, "contract")
