"""A customer's consent and suspension state, and the pure reducers that change it.

Consent is per (customer, scope); the latest change by ``event_time`` wins, so a change that
arrives late but happened earlier does not override (docs/contract.md §2). At equal times a
withdrawal beats a grant and a suspension beats a resumption: the reading that shares less.
No entry means not consented. Section 10 requests act only when the identity was verified;
an unverified request changes nothing and is recorded as rejected.

Only the latest change per scope (and the latest verified request) is kept, so an event is
decided against the state *as of its event time* (``as_of``) with what is known: a grant dated
after the event does not apply to it (the state before the grant is unknown: fail closed), a
withdrawal blocks whatever its date, and so does a suspension in force or a resumption dated
after the event.

The state also remembers which shared topics received the subject's key and were not sent a
tombstone since (``fed_topics``): a withdrawal or suspension notifies those only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from json.encoder import encode_basestring_ascii as _quote  # json.dumps's own escaping
from types import MappingProxyType
from typing import Any, Final, Literal, NamedTuple

Outcome = Literal["recorded", "rejected", "superseded", "refused"]
ChangeKind = Literal["consent_granted", "consent_withdrawn", "suspend_use", "resume_use"]

SUSPEND: Final = "suspend_use"
RESUME: Final = "resume_use"


class Consent(NamedTuple):
    granted: bool
    event_time: datetime
    #: The ConsentChange that set it: a replay of that same event (at-least-once delivery after
    #: a crash) is recognised and audited as it was the first time.
    event_id: str = ""
    #: The shared topics this change (a withdrawal) sent tombstones to: a replay sends them again.
    notified: frozenset[str] = frozenset()


class AsOf(NamedTuple):
    """The state as it applies to one event time: what is permitted, and whether newer."""

    suspended: bool
    granted: frozenset[str]  # scopes whose grant is in force at that time
    late: bool  # the state holds a change dated after that time
    #: Scopes whose latest change is a grant that had expired by that time (not in ``granted``).
    expired: frozenset[str] = frozenset()


class StateChange(NamedTuple):
    """What a consent or subject-request event did to the state (for the audit record)."""

    change: ChangeKind
    scope: str | None
    outcome: Outcome
    #: The change in force seen again (same event id): its notices go again.
    replay: bool = False


_NEVER: Final = datetime.max.replace(tzinfo=UTC)

#: No scope expires.
NO_EXPIRY: Final[Mapping[str, timedelta]] = MappingProxyType({})


def _empty() -> Mapping[str, Consent]:
    return MappingProxyType({})


#: Canonical instances of the sets of topics and scopes states hold: a run holds a state per
#: subject, but few distinct sets (a frozenset costs 200 to 700 bytes; issue 27).
_SETS: Final[dict[frozenset[str], frozenset[str]]] = {}
_SETS_SIZE: Final = 4_096


def shared(items: frozenset[str]) -> frozenset[str]:
    """The canonical instance of ``items`` (an equal set, the same object for every state)."""
    found = _SETS.get(items)
    if found is not None:
        return found
    if len(_SETS) < _SETS_SIZE:
        _SETS[items] = items
    return items


@dataclass(frozen=True, slots=True)
class SubjectState:
    """One customer's state; the value of the worker's Faust table, keyed by customer id."""

    consents: Mapping[str, Consent] = field(default_factory=_empty)
    suspended: bool = False
    suspension_time: datetime | None = None
    suspension_event_id: str = ""
    #: The shared topics a verified suspension in force sent tombstones to (for a replay).
    suspension_notified: frozenset[str] = frozenset()
    #: Shared topics that received this subject's key and were sent no tombstone since.
    fed_topics: frozenset[str] = frozenset()
    # Derived once per state (a state decides many events): the newest change's time and the
    # scopes granted by the latest change of each.
    _newest: datetime | None = field(init=False, compare=False, repr=False, default=None)
    _granted: frozenset[str] = field(init=False, compare=False, repr=False, default=frozenset())
    # as_of's answer when nothing is dated after the event and no grant has expired (built on
    # first use), and (the validity asked, the first moment a grant expires under it).
    _settled: AsOf | None = field(init=False, compare=False, repr=False, default=None)
    _ends: tuple[Mapping[str, timedelta], datetime | None] | None = field(
        init=False, compare=False, repr=False, default=None
    )

    def __post_init__(self) -> None:
        times = [c.event_time for c in self.consents.values()]
        if self.suspension_time is not None:
            times.append(self.suspension_time)
        granted = frozenset(scope for scope, c in self.consents.items() if c.granted)
        object.__setattr__(self, "_newest", max(times) if times else None)
        object.__setattr__(self, "_granted", shared(granted))

    @classmethod
    def empty(cls) -> SubjectState:
        """A customer with no consent and no request: nothing that needs consent goes out."""
        return EMPTY

    def granted(self, scope: str) -> bool:
        """Whether the latest change for the scope is a grant (whatever its date)."""
        consent = self.consents.get(scope)
        return consent is not None and consent.granted

    def as_of(self, at: datetime, validity: Mapping[str, timedelta] = NO_EXPIRY) -> AsOf:
        """The state that decides an event at ``at`` (docs/contract.md §2, fail closed).

        ``validity``: how long a grant of each expiring scope stays in force after its
        ``event_time``; a grant applies to events in ``[event_time, event_time + validity)``.
        """
        if self._newest is None or self._newest <= at:  # nothing dated after the event
            if not validity or not self._granted or at < self._first_end(validity):
                settled = self._settled
                if settled is None:
                    settled = AsOf(self.suspended, self._granted, False)
                    object.__setattr__(self, "_settled", settled)
                return settled
            expired = self._expired(self._granted, at, validity)
            return AsOf(self.suspended, self._granted - expired, False, expired)
        newer_request = self.suspension_time is not None and self.suspension_time > at
        granted: list[str] = []
        late = newer_request
        for scope, consent in self.consents.items():
            if consent.event_time > at:
                late = True  # a grant dated after the event does not apply to it
            elif consent.granted:
                granted.append(scope)
        expired = self._expired(granted, at, validity)
        return AsOf(self.suspended or newer_request, frozenset(granted) - expired, late, expired)

    def _first_end(self, validity: Mapping[str, timedelta]) -> datetime:
        """The first moment a grant of the latest changes ends under ``validity`` (remembered
        for the last ``validity`` asked: one per compiled policy)."""
        ends = self._ends
        if ends is None or ends[0] is not validity:
            times = [
                c.event_time + validity[scope]
                for scope, c in self.consents.items()
                if c.granted and scope in validity
            ]
            ends = (validity, min(times) if times else None)
            object.__setattr__(self, "_ends", ends)
        return _NEVER if ends[1] is None else ends[1]

    def _expired(
        self, scopes: Iterable[str], at: datetime, validity: Mapping[str, timedelta]
    ) -> frozenset[str]:
        """Of ``scopes`` (granted by their latest change), those whose grant ended by ``at``."""
        ended: list[str] = []
        for scope in scopes:
            valid_for = validity.get(scope)
            if valid_for is not None and self.consents[scope].event_time + valid_for <= at:
                ended.append(scope)
        return frozenset(ended)

    def fed(self, topics: Iterable[str]) -> SubjectState:
        """The state after records keyed by this subject went to ``topics`` (self if none new)."""
        new = [topic for topic in topics if topic not in self.fed_topics]
        if not new:
            return self
        return replace(self, fed_topics=shared(self.fed_topics.union(new)))

    def to_json(self) -> str:
        """The state as JSON (the changelog's value), keys sorted, in ``json.dumps``'s
        separators and escapes; written from remembered pieces without building a document
        (once per change of state, on the worker's path)."""
        consents = ", ".join(
            [f"{_quote(scope)}: {_consent_json(c)}" for scope, c in sorted(self.consents.items())]
        )
        when = self.suspension_time
        return (
            f'{{"consents": {{{consents}}}, "fed_topics": {_strings(self.fed_topics)}, '
            f'"suspended": {_boolean(self.suspended)}, '
            f'"suspension_event_id": {_quote(self.suspension_event_id)}, '
            f'"suspension_notified": {_strings(self.suspension_notified)}, '
            f'"suspension_time": {_quote(_iso(when)) if when else "null"}}}'
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> SubjectState:
        """The state as ``to_json`` wrote it; a value written before a field existed reads
        with that field empty (no fed topics known: no tombstone will name this subject)."""
        document: dict[str, Any] = json.loads(text)
        consents = {
            str(scope): Consent(
                bool(c["granted"]),
                _parse(c["event_time"]),
                str(c.get("event_id", "")),
                frozenset(c.get("notified", ())),
            )
            for scope, c in document.get("consents", {}).items()
        }
        when = document.get("suspension_time")
        return cls(
            consents=MappingProxyType(consents),
            suspended=bool(document.get("suspended", False)),
            suspension_time=_parse(when) if when else None,
            suspension_event_id=str(document.get("suspension_event_id", "")),
            suspension_notified=frozenset(document.get("suspension_notified", ())),
            fed_topics=shared(frozenset(document.get("fed_topics", ()))),
        )


EMPTY: Final = SubjectState()


def apply_consent(
    state: SubjectState,
    scope: str,
    granted: bool,
    event_time: datetime,
    event_id: str = "",
    horizon: datetime | None = None,
) -> tuple[SubjectState, StateChange]:
    """The state after one ConsentChange (the input state is left as it was).

    The change in force seen again (same ``event_id``: a replay after a crash) is recorded
    again and changes nothing, so its audit record and withdrawal notices are those of the
    first time. A grant dated at or before ``horizon`` (``policy.forgetting``: older than a
    change the table may have forgotten) is refused and changes nothing: fail closed."""
    change: ChangeKind = "consent_granted" if granted else "consent_withdrawn"
    current = state.consents.get(scope)
    if current is not None and event_id and current.event_id == event_id:
        return state, StateChange(change, scope, "recorded", replay=True)
    if current is not None and not _newer(event_time, current.event_time, wins_tie=not granted):
        return state, StateChange(change, scope, "superseded")
    if granted and horizon is not None and event_time <= horizon:
        return state, StateChange(change, scope, "refused")
    consents = dict(state.consents)
    consents[scope] = Consent(granted, event_time, event_id)
    new_state = replace(state, consents=MappingProxyType(consents))
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
        return state, StateChange(change, None, "recorded", replay=True)
    suspend = kind == SUSPEND
    last = state.suspension_time
    if last is not None and not _newer(event_time, last, wins_tie=suspend):
        return state, StateChange(change, None, "superseded")
    new_state = replace(
        state,
        suspended=suspend,
        suspension_time=event_time,
        suspension_event_id=event_id,
        suspension_notified=frozenset(),
    )
    return new_state, StateChange(change, None, "recorded")


def forget_notified(state: SubjectState, topics: frozenset[str], scope: str | None) -> SubjectState:
    """The state after the change in force (of ``scope``; None: the suspension) sent
    tombstones to ``topics``: they hold the subject's key no more, and a replay of the change
    will notify them again."""
    fed = shared(state.fed_topics - topics)
    if scope is None:
        return replace(state, fed_topics=fed, suspension_notified=topics)
    consents = dict(state.consents)
    consents[scope] = consents[scope]._replace(notified=topics)
    return replace(state, consents=MappingProxyType(consents), fed_topics=fed)


def _newer(candidate: datetime, current: datetime, *, wins_tie: bool) -> bool:
    return candidate > current or (candidate == current and wins_tie)


#: Consent → its JSON object, and set of strings → its sorted JSON array: a state changes one
#: scope at a time (or its fed topics), the rest of it is written again as it was.
_JSON_PIECES: Final[dict[Any, str]] = {}
_JSON_PIECES_SIZE: Final = 65_536


def _consent_json(consent: Consent) -> str:
    found = _JSON_PIECES.get(consent)
    if found is None:
        found = (
            f'{{"event_id": {_quote(consent.event_id)}, '
            f'"event_time": {_quote(_iso(consent.event_time))}, '
            f'"granted": {_boolean(consent.granted)}, "notified": {_strings(consent.notified)}}}'
        )
        _remember_piece(consent, found)
    return found


def _remember_piece(key: Any, piece: str) -> None:
    if len(_JSON_PIECES) >= _JSON_PIECES_SIZE:
        _JSON_PIECES.clear()
    _JSON_PIECES[key] = piece


def _boolean(value: object) -> str:
    return "true" if value is True else "false" if value is False else json.dumps(value)


def _strings(items: frozenset[str]) -> str:
    """A sorted JSON array of strings, as ``json.dumps`` writes it."""
    if not items:
        return "[]"
    found = _JSON_PIECES.get(items)
    if found is None:
        found = "[" + ", ".join([_quote(item) for item in sorted(items)]) + "]"
        _remember_piece(items, found)
    return found


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
