"""The local broker secured as production's is: a SASL_SSL listener (TLS, SCRAM-SHA-512), the
KRaft `StandardAuthorizer`, one user per service with exactly the ACLs of
`attendance_shared.acl`, and an `admin` super user for the stack itself and the tests.

The controller listener is TLS with client certificates: the broker's own certificate is its
only client there, and its principal (`User:CN=kafka-broker`) is the other super user, so no
listener anywhere takes an unauthenticated client.
"""

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import for_code
from aiokafka.protocol.admin import CreateAclsRequest_v1, DescribeAclsRequest_v1
from aiokafka.protocol.api import Request

from attendance_shared.acl import (
    OPERATION_CODES,
    PATTERN_CODES,
    PERMISSION_ALLOW,
    RESOURCE_TYPE_CODES,
    SERVICES,
    Grant,
    all_grants,
    service_principal,
)
from attendance_shared.kafka import KafkaClientConfig
from attendance_stack.tls import BROKER_PRINCIPAL, TlsFiles, make_tls_files

ADMIN_USER = "admin"
MECHANISM = "SCRAM-SHA-512"


@dataclass(frozen=True)
class KafkaSecurity:
    tls: TlsFiles
    passwords: dict[str, str]  # user -> password: admin and each service's principal

    @classmethod
    def in_folder(cls, directory: Path) -> "KafkaSecurity":
        """The stack's CA, broker certificate and passwords, made on first use and kept there:
        the SCRAM credentials live in the broker's metadata log from its formatting on."""
        directory.mkdir(parents=True, exist_ok=True)
        tls = make_tls_files(directory / "tls")
        credentials = directory / "credentials.json"
        if credentials.exists():
            passwords = json.loads(credentials.read_text())
        else:
            users = [ADMIN_USER, *(service_principal(s) for s in SERVICES)]
            passwords = {user: secrets.token_urlsafe(24) for user in users}
            credentials.write_text(json.dumps(passwords, indent=2))
            credentials.chmod(0o600)
        return cls(tls, passwords)

    def format_args(self) -> list[str]:
        """`kafka-storage format` arguments that create every user's SCRAM credential (KIP-900)."""
        args = []
        for user, password in self.passwords.items():
            args += ["--add-scram", f"{MECHANISM}=[name={user},password={password}]"]
        return args

    def _admin_login(self) -> str:
        """The JAAS line that logs in as admin: the broker's own, and Kafka's tools'."""
        return (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{ADMIN_USER}" password="{self.passwords[ADMIN_USER]}";'
        )

    def broker_properties(self, port: int, controller_port: int) -> dict[str, str]:
        return {
            "listeners": f"SASL_SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            "advertised.listeners": f"SASL_SSL://127.0.0.1:{port}",
            "listener.security.protocol.map": "CONTROLLER:SSL,SASL_SSL:SASL_SSL",
            "inter.broker.listener.name": "SASL_SSL",
            "sasl.enabled.mechanisms": MECHANISM,
            "sasl.mechanism.inter.broker.protocol": MECHANISM,
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": self._admin_login(),
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.tls.broker_pem),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.tls.ca_file),
            "listener.name.controller.ssl.client.auth": "required",
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": f"User:{ADMIN_USER};{BROKER_PRINCIPAL}",
            # Denied by default: a principal does only what an ACL grants it.
            "allow.everyone.if.no.acl.found": "false",
        }

    def client(self, bootstrap_servers: str, user: str = ADMIN_USER) -> KafkaClientConfig:
        return KafkaClientConfig(
            bootstrap_servers=bootstrap_servers,
            security_protocol="SASL_SSL",
            sasl_mechanism=MECHANISM,
            username=user,
            password=self.passwords[user],
            ca_file=str(self.tls.ca_file),
        )

    def service_env(self, service: str) -> dict[str, str]:
        """What a service is given to connect as its own principal (the Deployments' settings)."""
        user = service_principal(service)
        return {
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": MECHANISM,
            "KAFKA_SASL_USERNAME": user,
            "KAFKA_SASL_PASSWORD": self.passwords[user],
            "KAFKA_SSL_CAFILE": str(self.tls.ca_file),
        }

    def tool_properties(self, path: Path) -> Path:
        """A `--command-config` file for Kafka's own tools, as admin."""
        path.write_text(
            "security.protocol=SASL_SSL\n"
            f"sasl.mechanism={MECHANISM}\n"
            f"sasl.jaas.config={self._admin_login()}\n"
            "ssl.truststore.type=PEM\n"
            f"ssl.truststore.location={self.tls.ca_file}\n"
        )
        path.chmod(0o600)
        return path


# aiokafka 0.14 has the ACL requests' wire formats but no admin methods for them; version 1
# (literal and prefixed patterns) is one Kafka 4 still takes.
class _CreateAcls(Request[CreateAclsRequest_v1]):
    API_KEY = 30

    def __init__(self, creations: list[tuple[int, str, int, str, str, int, int]]) -> None:
        self.creations = creations

    def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
        return request_struct_class(self.creations)


class _DescribeAcls(Request[DescribeAclsRequest_v1]):
    API_KEY = 29

    def build(self, request_struct_class: type[DescribeAclsRequest_v1]) -> DescribeAclsRequest_v1:
        any_type, any_pattern, any_operation, any_permission = 1, 1, 1, 1
        return request_struct_class(any_type, None, any_pattern, None, None, any_operation, any_permission)


async def create_acls(admin: KafkaClientConfig, grants: Iterable[Grant] | None = None) -> int:
    """Allow each grant (all of `attendance_shared.acl` by default); existing ones stay."""
    creations = [
        (
            RESOURCE_TYPE_CODES[g.resource_type],
            g.resource,
            PATTERN_CODES[g.pattern],
            g.kafka_principal,
            "*",
            OPERATION_CODES[g.operation],
            PERMISSION_ALLOW,
        )
        for g in (all_grants() if grants is None else grants)
    ]
    client = AIOKafkaAdminClient(**admin.options(), request_timeout_ms=10_000)
    await client.start()
    try:
        response = await client._send_request(_CreateAcls(creations))
    finally:
        await client.close()
    for code, message in response.creation_responses:
        if code:
            raise for_code(code)(message)
    return len(creations)


async def describe_acls(admin: KafkaClientConfig) -> set[Grant]:
    """Every ALLOW ACL on the cluster, as grants (what the stack made, to compare)."""
    codes_of_type = {code: name for name, code in RESOURCE_TYPE_CODES.items()}
    operations = {code: name for name, code in OPERATION_CODES.items()}
    patterns = {code: name for name, code in PATTERN_CODES.items()}
    client = AIOKafkaAdminClient(**admin.options(), request_timeout_ms=10_000)
    await client.start()
    try:
        response = await client._send_request(_DescribeAcls())
    finally:
        await client.close()
    if response.error_code:
        raise for_code(response.error_code)(response.error_message)
    return {
        Grant(
            principal.removeprefix("User:"),
            codes_of_type[rtype],  # type: ignore[arg-type]
            name,
            operations[operation],  # type: ignore[arg-type]
            patterns[pattern],  # type: ignore[arg-type]
        )
        for rtype, name, pattern, acls in response.resources
        for principal, _host, operation, permission in acls
        if permission == PERMISSION_ALLOW
    }
