"""The relay picks each record's partition itself: it must be the partition aiokafka's (and
the Java client's) default partitioner gives the same key, or a pupil's events would change
partition, and order, across a deployment."""

import random

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from attendance_shared.events import pupil_key
from attendance_shared.kafka import murmur2, partition_of


def test_murmur2_matches_aiokafka_on_keys_of_every_length() -> None:
    rng = random.Random(2026)
    keys = [rng.randbytes(rng.randrange(0, 64)) for _ in range(5000)]
    assert [murmur2(k) for k in keys] == [aiokafka_murmur2(k) for k in keys]


@pytest.mark.parametrize("count", [1, 3, 6, 12])
def test_a_pupil_key_goes_where_the_default_partitioner_sends_it(count: int) -> None:
    partitions = list(range(count))
    keys = [pupil_key(f"{100000 + s}", f"A{s:03d}{p:09d}").encode() for s in range(20) for p in range(100)]
    expected = [DefaultPartitioner()(k, partitions, partitions) for k in keys]
    assert [partition_of(k, partitions) for k in keys] == expected


def test_murmur2_of_known_values() -> None:
    # The Java client's own test vectors (org.apache.kafka.common.utils.UtilsTest#testMurmur2).
    assert murmur2(b"21") == -973932308 & 0xFFFFFFFF
    assert murmur2(b"foobar") == -790332482 & 0xFFFFFFFF
    assert murmur2(b"a-little-bit-long-string") == -985981536 & 0xFFFFFFFF
    assert murmur2(b"a-little-bit-longer-string") == -1486304829 & 0xFFFFFFFF
    assert murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") == -58897971 & 0xFFFFFFFF
    assert murmur2(bytes([ord("a"), ord("b"), ord("c")])) == 479470107
