"""``partition_for`` is the partition the worker's producer writes a key to: aiokafka's default
partitioner (Faust's, as the worker configures none) and kafka-python's murmur2 agree with it."""

from __future__ import annotations

import pytest
from aiokafka.partitioner import DefaultPartitioner as AioPartitioner
from kafka.partitioner.default import murmur2 as kafka_murmur2

from broker.partitions import partition_for

KEYS = [
    b"C000001",  # the sample's ids
    b"C000007",
    b"",  # empty key
    b"\xe9\xa1\xa7\xe5\xae\xa2-42",  # non-ASCII UTF-8
    b"a-much-longer-customer-identifier-with-an-odd-length-x",  # a tail of 1..3 bytes
    b"abc",
]


@pytest.mark.parametrize("count", [1, 3, 6, 12, 50])
@pytest.mark.parametrize("key", KEYS)
def test_when_a_key_is_hashed_then_it_lands_where_the_producers_put_it(
    key: bytes, count: int
) -> None:
    partitions = list(range(count))
    expected = AioPartitioner()(key, partitions, partitions)
    assert partition_for(key, count) == expected
    assert (kafka_murmur2(key) & 0x7FFFFFFF) % count == expected  # kafka-python's producer
