"""A customer's consent and suspension state, and the pure reducers that change it.

Consent is per (customer, scope); the latest change by ``event_time`` wins, so a change that
arrives late but happened earlier does not override (CONTRACT.md §2). At equal times a
withdrawal beats a grant and a suspension beats a resumption: the reading that shares less.
No entry means not consented. Section 10 requests act only when the identity was verified;
an unverified request changes nothing and is recorded as rejected.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, Literal, NamedTuple

Outcome = Literal["recorded", "rejected", "superseded"]
ChangeKind = Literal["consent_granted", "consent_withdrawn", "suspend_use", "resume_use"]

SUSPEND: Final = "suspend_use"
RESUME: Final = "resume_use"


class Consent(NamedTuple):
    granted: bool
    event_time: datetime
    #: The ConsentChange that set it: a replay of that same event (at-least-once delivery after
    #: a crash) is recognised and audited as it was the first time.
    event_id: str = ""


class StateChange(NamedTuple):
    """What a consent or subject-request event did to the state (for the audit record)."""

    change: ChangeKind
    scope: str | None
    outcome: Outcome


def _empty() -> Mapping[str, Consent]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class SubjectState:
    """One customer's state; the value of the worker's Faust table, keyed by customer id."""

    consents: Mapping[str, Consent] = field(default_factory=_empty)
    suspended: bool = False
    suspension_time: datetime | None = None
    suspension_event_id: str = ""

    @classmethod
    def empty(cls) -> SubjectState:
        """A customer with no consent and no request: nothing that needs consent goes out."""
        return EMPTY

    def granted(self, scope: str) -> bool:
        consent = self.consents.get(scope)
        return consent is not None and consent.granted

    def to_json(self) -> str:
        return json.dumps(
            {
                "consents": {
                    scope: {
                        "granted": c.granted,
                        "event_time": _iso(c.event_time),
                        "event_id": c.event_id,
                    }
                    for scope, c in sorted(self.consents.items())
                },
                "suspended": self.suspended,
                "suspension_time": _iso(self.suspension_time) if self.suspension_time else None,
                "suspension_event_id": self.suspension_event_id,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> SubjectState:
        document: dict[str, Any] = json.loads(text)
        consents = {
            str(scope): Consent(
                bool(c["granted"]), _parse(c["event_time"]), str(c.get("event_id", ""))
            )
            for scope, c in document.get("consents", {}).items()
        }
        when = document.get("suspension_time")
        return cls(
            consents=MappingProxyType(consents),
            suspended=bool(document.get("suspended", False)),
            suspension_time=_parse(when) if when else None,
            suspension_event_id=str(document.get("suspension_event_id", "")),
        )


EMPTY: Final = SubjectState()


def apply_consent(
    state: SubjectState, scope: str, granted: bool, event_time: datetime, event_id: str = ""
) -> tuple[SubjectState, StateChange]:
    """The state after one ConsentChange (the input state is left as it was).

    The change in force seen again (same ``event_id``: a replay after a crash) is recorded
    again and changes nothing, so its audit record and withdrawal notices are those of the
    first time."""
    change: ChangeKind = "consent_granted" if granted else "consent_withdrawn"
    current = state.consents.get(scope)
    if current is not None and event_id and current.event_id == event_id:
        return state, StateChange(change, scope, "recorded")
    if current is not None and not _newer(event_time, current.event_time, wins_tie=not granted):
        return state, StateChange(change, scope, "superseded")
    consents = dict(state.consents)
    consents[scope] = Consent(granted, event_time, event_id)
    new_state = SubjectState(
        MappingProxyType(consents),
        state.suspended,
        state.suspension_time,
        state.suspension_event_id,
    )
    return new_state, StateChange(change, scope, "recorded")


def apply_subject_request(
    state: SubjectState,
    kind: str,
    identity_verified: bool,
    event_time: datetime,
    event_id: str = "",
) -> tuple[SubjectState, StateChange]:
    """The state after one SubjectRequest; unverified requests are rejected and change nothing.
    A replay of the request in force (same ``event_id``) is recorded again, changing nothing."""
    change: ChangeKind = "suspend_use" if kind == SUSPEND else "resume_use"
    if not identity_verified:
        return state, StateChange(change, None, "rejected")
    if event_id and state.suspension_event_id == event_id:
        return state, StateChange(change, None, "recorded")
    suspend = kind == SUSPEND
    last = state.suspension_time
    if last is not None and not _newer(event_time, last, wins_tie=suspend):
        return state, StateChange(change, None, "superseded")
    new_state = SubjectState(state.consents, suspend, event_time, event_id)
    return new_state, StateChange(change, None, "recorded")


def _newer(candidate: datetime, current: datetime, *, wins_tie: bool) -> bool:
    return candidate > current or (candidate == current and wins_tie)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
