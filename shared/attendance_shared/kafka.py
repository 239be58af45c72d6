"""Producer and admin helpers for aiokafka and Apache Kafka."""

import asyncio
import logging
import ssl
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.conn import create_conn
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    TopicAlreadyExistsError,
    TopicAuthorizationFailedError,
    TransactionalIdAuthorizationFailed,
    UnsupportedSaslMechanismError,
    for_code,
)
from aiokafka.helpers import create_ssl_context
from aiokafka.producer.message_accumulator import BatchBuilder

from attendance_shared.topics import TopicSpec

log = logging.getLogger(__name__)

# Time allowed for one batch of sends to be acknowledged before the relay gives up on it.
SEND_TIMEOUT_S = 10.0

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["SCRAM-SHA-512", "PLAIN"]


@dataclass(frozen=True)
class KafkaClientConfig:
    """How every client of a service reaches the brokers and proves who it is: one value for
    its consumer, producers and admin, so none of them can connect differently."""

    bootstrap_servers: str
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    # The CA that signed the brokers' certificates (unset: the system's trusted CAs), and an
    # optional client certificate and key for mutual TLS.
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    check_hostname: bool = True

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol.endswith("SSL")

    @property
    def principal(self) -> str:
        """Who the broker takes this client for, as its ACLs name it."""
        if self.uses_sasl and self.username:
            return f"User:{self.username}"
        return "User:ANONYMOUS" if not self.uses_tls or not self.cert_file else "the client certificate's subject"

    @cached_property
    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.uses_tls:
            return None
        context = create_ssl_context(cafile=self.ca_file, certfile=self.cert_file, keyfile=self.key_file)
        context.check_hostname = self.check_hostname
        return context

    def options(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.uses_sasl:
            options |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password,
            }
        if self.uses_tls:
            options["ssl_context"] = self.ssl_context
        return options


KafkaTarget = str | KafkaClientConfig


def client_config(target: KafkaTarget) -> KafkaClientConfig:
    """A bare bootstrap address is a plaintext client (tests, tools, the local stack)."""
    return target if isinstance(target, KafkaClientConfig) else KafkaClientConfig(target)


# Refusals a retry cannot mend: the credentials or the ACLs must change first.
REFUSALS: tuple[type[KafkaError], ...] = (
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
    TopicAuthorizationFailedError,
    GroupAuthorizationFailedError,
    ClusterAuthorizationFailedError,
    TransactionalIdAuthorizationFailed,
)


async def refusal_reason(exc: BaseException, kafka: KafkaClientConfig, *, doing: str) -> str | None:
    """Why the brokers refused this client, in words an operator can act on, or None when
    `exc` is not a refusal (a broker down, a timeout: those pass by themselves).

    aiokafka reports failed authentication (and a certificate it cannot verify) only as
    "Unable to bootstrap", and logs the cause; so after a connection error on a SASL or TLS
    client, one connection is made by hand to see whether it is the credentials."""
    if isinstance(exc, TopicAuthorizationFailedError):
        topics = ", ".join(str(a) for a in exc.args) or "a topic"
        return (
            f"not authorised to {doing} {topics} as {kafka.principal}: the broker's ACLs do not allow it "
            "(or the topic is missing and this principal may not create it)"
        )
    if isinstance(exc, GroupAuthorizationFailedError):
        return f"not authorised to use its consumer group as {kafka.principal}: the broker's ACLs do not allow it"
    if isinstance(exc, ClusterAuthorizationFailedError | TransactionalIdAuthorizationFailed):
        return f"not authorised to {doing} as {kafka.principal}: {exc}"
    if isinstance(exc, SaslAuthenticationFailed | UnsupportedSaslMechanismError):
        return f"authentication refused for {kafka.principal}: {exc}"
    if isinstance(exc, KafkaConnectionError) and (kafka.uses_sasl or kafka.uses_tls):
        return await _authentication_refusal(kafka)
    return None


async def _authentication_refusal(kafka: KafkaClientConfig) -> str | None:
    host, _, port = kafka.bootstrap_servers.split(",")[0].strip().rpartition(":")
    options = kafka.options()
    try:
        conn = await asyncio.wait_for(
            create_conn(
                host,
                int(port),
                security_protocol=kafka.security_protocol,
                ssl_context=options.get("ssl_context"),
                sasl_mechanism=kafka.sasl_mechanism,
                sasl_plain_username=kafka.username,
                sasl_plain_password=kafka.password,
            ),
            10,
        )
    except (SaslAuthenticationFailed, UnsupportedSaslMechanismError) as exc:
        return f"authentication refused for {kafka.principal} ({kafka.sasl_mechanism}): {exc}"
    except ssl.SSLError as exc:  # a CA that did not sign the broker's certificate, say
        return f"TLS handshake with the broker failed: {exc}"
    except Exception:  # noqa: BLE001 - unreachable, not refused: the caller keeps retrying
        return None
    conn.close()
    return None


_MURMUR2_SEED = 0x9747B28C
_MURMUR2_M = 0x5BD1E995
_UINT32 = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's key hash (the Java client's `Utils.murmur2`), a word at a time: aiokafka's own
    copy reads it a byte at a time, 13 µs a key, a tenth of register-service's CPU per mark."""
    length = len(data)
    h = _MURMUR2_SEED ^ length
    words = length >> 2
    for k in struct.unpack_from(f"<{words}I", data):
        k = (k * _MURMUR2_M) & _UINT32
        k ^= k >> 24
        h = ((h * _MURMUR2_M) & _UINT32) ^ ((k * _MURMUR2_M) & _UINT32)
    tail = data[words << 2 :]
    if len(tail) >= 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if tail:
        h = ((h ^ tail[0]) * _MURMUR2_M) & _UINT32
    h ^= h >> 13
    h = (h * _MURMUR2_M) & _UINT32
    return h ^ (h >> 15)


def partition_of(key: bytes, partitions: Sequence[int]) -> int:
    """The partition the Java client and aiokafka's default partitioner give `key`, so a
    pupil's events stay on the partition they always went to."""
    return partitions[(murmur2(key) & 0x7FFFFFFF) % len(partitions)]


async def ensure_topics(kafka: KafkaTarget, topics: Iterable[TopicSpec]) -> None:
    """Create any missing topic with its declared partitions and configuration; leave existing
    ones alone. A cluster of fewer brokers than a topic's declared replicas (the local stack's
    one broker) gets a copy on each broker, and says so.

    A client sees only the topics its ACLs let it describe; one it may not use looks missing,
    and creating it is then refused (TopicAuthorizationFailedError) with the topic named."""
    admin = AIOKafkaAdminClient(**client_config(kafka).options(), request_timeout_ms=10_000)
    await admin.start()
    try:
        cluster = await admin.describe_cluster()
        brokers = len(cluster["brokers"])
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t.name not in existing]
        if not missing:
            return
        new_topics = []
        for spec in missing:
            replicas = min(spec.replicas, brokers)
            if replicas < spec.replicas:
                # Expected of a one-broker development cluster; a bigger one short of brokers
                # makes a topic that cannot survive losing one, which an operator must hear of.
                log.log(
                    logging.INFO if brokers == 1 else logging.WARNING,
                    "creating %s with %d replica(s), not %d: the cluster has %d broker(s)",
                    spec.name,
                    replicas,
                    spec.replicas,
                    brokers,
                )
            new_topics.append(NewTopic(spec.name, spec.partitions, replicas, topic_configs=spec.config(replicas)))
        response = await admin.create_topics(new_topics)
        for topic, code, *message in response.topic_errors:
            error = for_code(code)
            if code == TopicAuthorizationFailedError.errno:
                raise TopicAuthorizationFailedError(topic)
            if code and error is not TopicAlreadyExistsError:  # a racing creator is no failure
                raise error(f"could not create topic {topic}: {message[0] if message else ''}")
        log.info("created topics", extra={"topics": [t.name for t in missing]})
    finally:
        await admin.close()


class KafkaPublisher:
    """Publishes batches and waits for every acknowledgement.

    The producer is idempotent (acks=all, a producer id and a sequence number per partition):
    a batch the client retries after a lost answer is written once, and a partition's batches
    keep their order. That holds within one producer; after any failure this one is thrown
    away with whatever it still queues, and the caller publishes the batch again from its
    outbox through a fresh one, so a batch the broker did take before the failure is then on
    the topic twice. Consumers deduplicate those (inbox, revisions): delivery is at least once.
    """

    def __init__(self, kafka: KafkaTarget, topics: Sequence[TopicSpec], *, client_id: str) -> None:
        self.kafka = client_config(kafka)
        self._topics = topics
        self._client_id = client_id
        self._producer: AIOKafkaProducer | None = None
        self._topics_ensured = False

    async def _ready_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            if not self._topics_ensured:
                await ensure_topics(self.kafka, self._topics)
                self._topics_ensured = True
            producer = AIOKafkaProducer(
                **self.kafka.options(),
                client_id=self._client_id,
                acks="all",
                enable_idempotence=True,
                linger_ms=5,
                max_batch_size=512 * 1024,
                request_timeout_ms=int(SEND_TIMEOUT_S * 1000),
            )
            await producer.start()
            self._producer = producer
        return self._producer

    async def connect(self) -> None:
        """Make sure the topics exist and the producer is logged in, before there is anything
        to send: refused credentials or ACLs then show at start-up, not at the first event."""
        try:
            await self._ready_producer()
        except BaseException:
            await self.discard()
            raise

    async def publish(self, records: Sequence[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]) -> None:
        """Send (topic, key, value, headers) records; return only when all are acknowledged.

        Records are packed into one batch per partition, in order, rather than sent one by
        one: each `send` cost a future and a hash per record."""
        try:
            producer = await self._ready_producer()
            partitions = {topic: sorted(await producer.partitions_for(topic)) for topic in {r[0] for r in records}}
            open_batches: dict[tuple[str, int], BatchBuilder] = {}
            sent = []
            for topic, key, value, headers in records:
                partition = partition_of(key, partitions[topic])
                batch = open_batches.get((topic, partition))
                if batch is None or batch.append(timestamp=None, key=key, value=value, headers=headers) is None:
                    if batch is not None:  # full: it goes now, and the record starts the next
                        sent.append(await producer.send_batch(batch, topic, partition=partition))
                    batch = open_batches[(topic, partition)] = producer.create_batch()
                    batch.append(timestamp=None, key=key, value=value, headers=headers)  # a first record always fits
            for (topic, partition), batch in open_batches.items():
                sent.append(await producer.send_batch(batch, topic, partition=partition))
            await asyncio.wait_for(asyncio.gather(*sent), SEND_TIMEOUT_S)
        except BaseException:
            await self.discard()
            raise

    async def discard(self) -> None:
        """Drop the producer and whatever it still queues (after a failed send)."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await _abandon(producer)

    async def close(self) -> None:
        """Stop after delivering what is queued, or drop it if the broker does not answer."""
        producer, self._producer = self._producer, None
        if producer is None:
            return
        try:
            await asyncio.wait_for(producer.stop(), SEND_TIMEOUT_S)
        except TimeoutError:
            await _abandon(producer)


async def _abandon(producer: AIOKafkaProducer) -> None:
    # stop() waits for queued batches to be delivered, which never happens while the
    # broker is down; cancelling the sender first drops them so stop() returns.
    sender_task = getattr(getattr(producer, "_sender", None), "sender_task", None)
    if sender_task is not None:
        sender_task.cancel()
    try:
        await asyncio.wait_for(producer.stop(), 5)
    except BaseException as exc:  # noqa: BLE001 - a dead producer is dropped whatever it says
        log.warning("producer did not stop cleanly: %r", exc)
