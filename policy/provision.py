"""The record of provision of one forwarded route decision (docs/contract.md §4, APPI Article 29):
its basis and the subject id the recipient got.

The basis is the purpose's (``policy.yaml``: ``purposes[].basis``); a consent basis names the
consent change in force by its event id, and a recipient abroad adds the ``cross_border``
change in force: ``consent:con-123; cross_border:con-456``, ``contract; cross_border:con-9``.

>>> from datetime import UTC, datetime
>>> from policy.state import Consent
>>> at = datetime(2026, 1, 1, tzinfo=UTC)
>>> consents = {"marketing": Consent(True, at, "con-1"), "cross_border": Consent(True, at, "con-2")}
>>> basis_text("consent", "marketing", True, consents)
'consent:con-1; cross_border:con-2'
>>> basis_text("contract", "fulfilment", False, consents)
'contract'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from policy.rules import CROSS_BORDER
from policy.state import Consent

CONSENT: Final = "consent"
#: A grant recorded before the state kept event ids: in force, but not named.
UNRECORDED: Final = "unrecorded"


def basis_text(
    basis: str, purpose: str, cross_border: bool, consents: Mapping[str, Consent]
) -> str:
    """The audit's ``basis`` of a forwarded decision: the purpose's basis, with the event id of
    the consent change in force where consent is the basis, and of the ``cross_border`` grant
    for a recipient abroad."""
    text = _with_event(purpose, consents) if basis == CONSENT else basis
    if cross_border:
        text += "; " + _with_event(CROSS_BORDER, consents)
    return text


def _with_event(scope: str, consents: Mapping[str, Consent]) -> str:
    consent = consents.get(scope)
    event_id = consent.event_id if consent is not None else ""
    return f"{CONSENT if scope != CROSS_BORDER else CROSS_BORDER}:{event_id or UNRECORDED}"
