"""The codec the wire tests share."""

from __future__ import annotations

from policy.loader import load_policy
from wire import Codec, SchemaStore
from wire.topic_schemas import wire_schemas


def _codec() -> Codec:
    store = SchemaStore.load()
    codec = Codec(store)
    policy = load_policy()
    codec.bind_topics({t: s for t, s in wire_schemas(policy, store).items() if t in policy.inputs})
    return codec


CODEC = _codec()
