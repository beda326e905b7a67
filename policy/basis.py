"""The lawful basis of using data for a purpose: the one place that says it.

The policy names it per purpose (``purposes[].basis``, validated by ``policy.rules``: ``consent``
exactly when the purpose needs consent, ``pseudonymised`` exactly when it is pseudonymised
only); ``purposegate ropa`` and ``purposegate report`` both ask :func:`purpose_basis`.

>>> from policy.models import Purpose
>>> purpose_basis(Purpose(id="marketing", clause="c", needs_consent=True, basis="consent"))
'consent'
>>> purpose_basis(Purpose(id="fulfilment", clause="c", needs_consent=False, basis="contract"))
'contract'
"""

from __future__ import annotations

from policy.models import BasisName, Purpose

Basis = BasisName


def purpose_basis(purpose: Purpose) -> Basis:
    """The basis of using data for ``purpose``, as the policy names it."""
    return purpose.basis
