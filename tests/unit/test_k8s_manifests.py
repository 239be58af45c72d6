"""The Kubernetes manifests in deploy/k8s, checked offline.

The base and each overlay are rendered by a real Kustomize (`kubectl kustomize`, the kubectl
at $KUBECTL, put in .venv by `make install`), and every built-in object is validated against
the Kubernetes OpenAPI schemas bundled with kubernetes-validate, for the oldest Kubernetes the
manifests support and the newest it knows. Then each service found under services/ must get
what it needs to run: a Deployment with probes, resources and a hardened security context, a
Service, a migration Job that runs first, an HPA, a PDB and every setting its code reads,
taken from its Settings class, with values the code accepts. Every topic in
attendance_shared.topics has its KafkaTopic, and the NetworkPolicies let through the flows
the architecture needs and no more.
"""

import base64
import functools
import importlib
import inspect
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from attendance_shared import acl, contract, metrics, topics
from attendance_shared.platform import Workers
from attendance_shared.settings import CommonSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBECTL = Path(os.environ.get("KUBECTL") or ROOT / ".venv" / "opt" / "kubernetes-client" / "usr" / "bin" / "kubectl")

# Each target, the namespace its objects land in and the ENVIRONMENT its services run with.
TARGETS = {
    "base": (None, "production"),
    "overlays/dev": ("attendance-dev", "development"),
    "overlays/prod": ("attendance", "production"),
}
# The oldest Kubernetes supported (the preStop `sleep` action is on by default from 1.30) and
# the newest whose schemas kubernetes-validate bundles.
KUBERNETES_VERSIONS = ("1.30", kubernetes_validate.latest_version())

# kubernetes-validate knows the built-in kinds only. The operators' custom resources get a
# structural check instead: these fields, which the platform relies on, must be present.
CUSTOM_KINDS: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {
    # Its rules are checked with promtool (tests/unit/test_alerts_and_dashboard.py).
    ("monitoring.coreos.com/v1", "PrometheusRule"): (("spec", "groups"),),
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"): (
        ("metadata", "labels", "strimzi.io/cluster"),
        ("spec", "topicName"),
        ("spec", "partitions"),
        ("spec", "replicas"),
        ("spec", "config", "retention.ms"),
    ),
    ("kafka.strimzi.io/v1beta2", "Kafka"): (
        ("spec", "kafka", "listeners"),
        ("spec", "kafka", "authorization", "type"),
        ("spec", "entityOperator", "topicOperator"),
        ("spec", "entityOperator", "userOperator"),
    ),
    ("kafka.strimzi.io/v1beta2", "KafkaUser"): (
        ("metadata", "labels", "strimzi.io/cluster"),
        ("spec", "authentication", "type"),
        ("spec", "authorization", "type"),
        ("spec", "authorization", "acls"),
    ),
    ("kafka.strimzi.io/v1beta2", "KafkaNodePool"): (
        ("metadata", "labels", "strimzi.io/cluster"),
        ("spec", "replicas"),
        ("spec", "roles"),
        ("spec", "storage"),
    ),
    ("postgresql.cnpg.io/v1", "Cluster"): (
        ("spec", "instances"),
        ("spec", "storage", "size"),
        ("spec", "bootstrap", "initdb", "database"),
        ("spec", "bootstrap", "initdb", "owner"),
        ("spec", "bootstrap", "initdb", "secret", "name"),
    ),
    ("monitoring.coreos.com/v1", "ServiceMonitor"): (("spec", "selector"), ("spec", "endpoints")),
}

# The Secret production must provide (deploy/README.md), and stand-ins for its values when
# checking that the code accepts a target's settings.
EXTERNAL_SECRET = "attendance-secrets"
SECRET_STAND_INS = {
    "DATABASE_URL": "postgresql+asyncpg://attendance:secret@attendance-db-rw:5432/attendance",
    "AUTH_JWT_SECRET": "a-real-secret-from-the-secret-store-0123456789",
    "NOTIFICATION_SMTP_PASSWORD": "an-smtp-relay-password",
    "NOTIFICATION_NOTIFY_API_KEY": "key-00000000-0000-4000-8000-000000000000-11111111-1111-4111-8111-111111111111",
    "NOTIFICATION_PUSH_WEBHOOK_SECRET": "a-push-gateway-shared-secret",
}
# Kafka settings the migration Jobs need not have: they never connect to Kafka, so they are
# given no Kafka principal either.
KAFKA_CREDENTIALS = frozenset({"KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"})
# What Strimzi's User Operator puts in a KafkaUser's Secret, standing in for a generated one.
KAFKA_USER_SECRET_STAND_IN = {"password": "a-generated-scram-password"}
HTTP_PORT = 8000
POSTGRES_PORT = 5432
SYNC_WAVE = "argocd.argoproj.io/sync-wave"


# --- rendering -------------------------------------------------------------------------------


@functools.cache
def render(target: str) -> tuple[dict[str, Any], ...]:
    if not (KUBECTL.is_file() and os.access(KUBECTL, os.X_OK)):
        pytest.fail(
            f"no kubectl at {KUBECTL}: run `make install` (it unpacks Debian's kubernetes-client into .venv), "
            "or point KUBECTL at a kubectl"
        )
    result = subprocess.run(
        [str(KUBECTL), "kustomize", str(K8S / target)], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"`kubectl kustomize deploy/k8s/{target}` failed:\n{result.stderr}")
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def of_kind(objects: tuple[dict[str, Any], ...], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def named(objects: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in of_kind(objects, kind) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} named {name}, found {len(found)}"
    return found[0]


def dig(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


def wave(obj: dict[str, Any]) -> int:
    return int(dig(obj, "metadata", "annotations", SYNC_WAVE) or 0)


# --- what the code says ----------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceCode:
    name: str  # SERVICE_NAME: the Deployment, Service, Job and topic names use it
    package: str
    settings: type[BaseSettings]

    def __str__(self) -> str:
        return self.name


def find_services() -> list[ServiceCode]:
    services = []
    for folder in sorted((ROOT / "services").glob("*-service")):
        packages = [p for p in folder.iterdir() if (p / "settings.py").is_file() and (p / "app.py").is_file()]
        assert len(packages) == 1, f"{folder}: expected one package with app.py and settings.py"
        module = importlib.import_module(f"{packages[0].name}.settings")
        services.append(ServiceCode(module.SERVICE_NAME, packages[0].name, module.Settings))
    return services


SERVICES = find_services()


def env_names(settings: type[BaseSettings]) -> dict[str, frozenset[str]]:
    """Each field of a Settings class and the environment variables that set it (any one will
    do), as pydantic-settings reads them: an alias as it is, else the prefix and field name."""
    prefix = settings.model_config.get("env_prefix", "")
    case_sensitive = settings.model_config.get("case_sensitive", False)
    names = {}
    for field_name, field in settings.model_fields.items():
        alias = field.validation_alias or field.alias
        if alias is None:
            choices = [prefix + field_name]
        elif isinstance(alias, str):
            choices = [alias]
        elif isinstance(alias, AliasChoices) and all(isinstance(c, str) for c in alias.choices):
            choices = [str(c) for c in alias.choices]
        else:
            pytest.fail(f"{settings.__qualname__}.{field_name}: cannot tell the environment variable of {alias!r}")
        names[field_name] = frozenset(c if case_sensitive else c.upper() for c in choices)
    return names


def consumed_topics(service: ServiceCode) -> list[topics.TopicSpec]:
    """The topics the service reads: its app passes `contract.CONSUMES[SERVICE_NAME]` to
    attach_consumer."""
    app = Path(importlib.import_module(service.package).__file__).parent / "app.py"  # type: ignore[arg-type]
    if "attach_consumer" not in app.read_text():
        return []
    assert "topics=CONSUMES[SERVICE_NAME]" in app.read_text(), f"{app}: read the topics from the contract"
    return list(contract.CONSUMES[service.name])


# --- reading the manifests -------------------------------------------------------------------


@dataclass(frozen=True)
class FromSecret:
    secret: str
    key: str


def container_env(container: dict[str, Any], objects: tuple[dict[str, Any], ...]) -> dict[str, str | FromSecret]:
    """The environment a container starts with: envFrom ConfigMaps, then env (values and refs)."""
    env: dict[str, str | FromSecret] = {}
    for source in container.get("envFrom", []):
        prefix = source.get("prefix", "")
        if ref := source.get("configMapRef"):
            data = named(objects, "ConfigMap", ref["name"]).get("data", {})
            env.update({prefix + key: value for key, value in data.items()})
        elif ref := source.get("secretRef"):
            secret = named(objects, "Secret", ref["name"])
            keys = {**secret.get("data", {}), **secret.get("stringData", {})}
            env.update({prefix + key: FromSecret(ref["name"], key) for key in keys})
    for var in container.get("env", []):
        source = var.get("valueFrom", {})
        if "value" in var:
            env[var["name"]] = var["value"]
        elif ref := source.get("secretKeyRef"):
            env[var["name"]] = FromSecret(ref["name"], ref["key"])
        elif ref := source.get("configMapKeyRef"):
            env[var["name"]] = named(objects, "ConfigMap", ref["name"])["data"][ref["key"]]
        else:
            pytest.fail(f"{var['name']}: only values, ConfigMap and Secret keys are understood here")
    return {name.upper(): value for name, value in env.items()}


def secret_value(ref: FromSecret, objects: tuple[dict[str, Any], ...]) -> str:
    """The value of a Secret key: from the rendered Secret, or a stand-in for the one that
    production provides (which must then be the documented Secret and key)."""
    secrets = [s for s in of_kind(objects, "Secret") if s["metadata"]["name"] == ref.secret]
    if not secrets and any(u["metadata"]["name"] == ref.secret for u in of_kind(objects, "KafkaUser")):
        assert ref.key in KAFKA_USER_SECRET_STAND_IN, f"a KafkaUser's Secret has no key {ref.key}"
        return KAFKA_USER_SECRET_STAND_IN[ref.key]
    if not secrets:
        assert ref.secret == EXTERNAL_SECRET, f"refers to Secret {ref.secret}, which nothing provides"
        assert ref.key in SECRET_STAND_INS, f"Secret {EXTERNAL_SECRET} has no documented key {ref.key}"
        return SECRET_STAND_INS[ref.key]
    secret = secrets[0]
    if ref.key in secret.get("stringData", {}):
        return secret["stringData"][ref.key]
    assert ref.key in secret.get("data", {}), f"Secret {ref.secret} has no key {ref.key}"
    return base64.b64decode(secret["data"][ref.key]).decode()


def resolved_env(container: dict[str, Any], objects: tuple[dict[str, Any], ...]) -> dict[str, str]:
    return {
        name: secret_value(value, objects) if isinstance(value, FromSecret) else value
        for name, value in container_env(container, objects).items()
    }


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"]["labels"]


def main_container(workload: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    containers = pod_spec(workload)["containers"]
    if name is not None:
        containers = [c for c in containers if c["name"] == name]
    assert len(containers) == 1, f"{workload['kind']} {workload['metadata']['name']}: expected one container"
    return containers[0]


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions, or a Service's plain map) matches."""
    if selector is None:
        return False
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        selector = {"matchLabels": selector}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if not {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]:
            return False
    return True


def quantity(value: str | int) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(value)).groups()  # type: ignore[union-attr]
    return float(number) * {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}[unit]


def container_port(container: dict[str, Any], port: int | str) -> int | None:
    if isinstance(port, int):
        return port
    return next((p["containerPort"] for p in container.get("ports", []) if p.get("name") == port), None)


def check_hardened_and_sized(workload: dict[str, Any], container: dict[str, Any]) -> None:
    what = f"{workload['kind']} {workload['metadata']['name']}"
    pod, own = pod_spec(workload).get("securityContext", {}), container.get("securityContext", {})
    assert own.get("runAsNonRoot", pod.get("runAsNonRoot")) is True, f"{what}: runAsNonRoot"
    assert own.get("readOnlyRootFilesystem") is True, f"{what}: readOnlyRootFilesystem"
    assert own.get("allowPrivilegeEscalation") is False, f"{what}: allowPrivilegeEscalation must be false"
    assert "ALL" in (dig(own, "capabilities", "drop") or []), f"{what}: capabilities must drop ALL"
    seccomp = own.get("seccompProfile") or pod.get("seccompProfile") or {}
    assert seccomp.get("type") == "RuntimeDefault", f"{what}: seccompProfile RuntimeDefault"
    resources = container.get("resources", {})
    for resource in ("cpu", "memory"):
        request, limit = dig(resources, "requests", resource), dig(resources, "limits", resource)
        assert request is not None and limit is not None, f"{what}: {resource} request and limit"
        assert quantity(request) <= quantity(limit), f"{what}: {resource} request above its limit"


def image_repository(image: str) -> str:
    return re.sub(r"(@sha256:[0-9a-f]+|:[\w.-]+)$", "", image)


# --- network policies ------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    peers: list[dict[str, Any]] | None  # None: any peer
    ports: list[dict[str, Any]] | None  # None: any port


def rules_for(policies: list[dict[str, Any]], labels: dict[str, str], direction: str) -> list[Rule] | None:
    """The rules that let traffic in (`Ingress`) or out (`Egress`) of a pod with these labels;
    None when no policy isolates it in that direction (everything allowed)."""
    applying = [
        p
        for p in policies
        if selects(p["spec"]["podSelector"], labels) and direction in p["spec"].get("policyTypes", ["Ingress"])
    ]
    if not applying:
        return None
    key, peer_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    return [Rule(rule.get(peer_key), rule.get("ports")) for p in applying for rule in p["spec"].get(key) or []]


def allows(
    policies: list[dict[str, Any]], labels: dict[str, str], direction: str, port: int, protocol: str = "TCP"
) -> list[Rule]:
    rules = rules_for(policies, labels, direction)
    if rules is None:
        return [Rule(None, None)]
    return [
        rule
        for rule in rules
        if rule.ports is None
        or any(p.get("port") in (None, port) and p.get("protocol", "TCP") == protocol for p in rule.ports)
    ]


def allows_peer(rules: list[Rule], peer_labels: dict[str, str], *, same_namespace: bool = True) -> bool:
    """Whether a rule admits a pod with these labels (in this namespace, or in another one)."""
    for rule in rules:
        if rule.peers is None:
            return True
        for peer in rule.peers:
            if "ipBlock" in peer:
                continue
            namespaces = peer.get("namespaceSelector")
            if namespaces is None and not same_namespace:
                continue
            if namespaces not in (None, {}):  # a named namespace: not this one
                continue
            if selects(peer.get("podSelector", {}), peer_labels):
                return True
    return False


# --- the tests -------------------------------------------------------------------------------


def test_every_overlay_is_tested() -> None:
    overlays = {f"overlays/{p.name}" for p in (K8S / "overlays").iterdir() if p.is_dir()}
    assert overlays == set(TARGETS) - {"base"}


@pytest.mark.parametrize("target", TARGETS)
def test_every_object_is_valid(target: str) -> None:
    namespace, _ = TARGETS[target]
    errors = []
    for obj in render(target):
        what = f"{obj.get('kind')} {dig(obj, 'metadata', 'name')}"
        if obj["kind"] != "Namespace" and dig(obj, "metadata", "namespace") != namespace:
            errors.append(f"{what}: namespace {dig(obj, 'metadata', 'namespace')}, expected {namespace}")
        if (fields := CUSTOM_KINDS.get((obj["apiVersion"], obj["kind"]))) is not None:
            errors += [f"{what}: no {'.'.join(path)}" for path in fields if dig(obj, *path) is None]
            continue
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                errors.append(f"{what} (Kubernetes {version}): {'.'.join(map(str, exc.path))}: {exc.message}")
            except kubernetes_validate.SchemaNotFoundError:
                errors.append(f"{what}: {obj['apiVersion']} is not a Kubernetes {version} kind and has no check here")
    assert not errors, "\n".join(errors)


CASES = [pytest.param(target, service, id=f"{target}-{service}") for target in TARGETS for service in SERVICES]


@pytest.mark.parametrize(("target", "service"), CASES)
def test_deployment(target: str, service: ServiceCode) -> None:
    objects = render(target)
    deployment = named(objects, "Deployment", service.name)
    container = main_container(deployment, service.name)
    assert image_repository(container["image"]).endswith(f"attendance/{service.name}")
    command = [*container.get("command", []), *container.get("args", [])]
    assert f"{service.package}.app:create_app" in command
    assert command[command.index("--port") + 1] == str(HTTP_PORT)
    assert any(p["containerPort"] == HTTP_PORT for p in container["ports"])
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        http = dig(container, probe, "httpGet") or {}
        assert http.get("path") == path, f"{probe} must GET {path}"
        assert container_port(container, http.get("port")) == HTTP_PORT, f"{probe} must probe port {HTTP_PORT}"
    check_hardened_and_sized(deployment, container)
    assert selects(deployment["spec"]["selector"], pod_labels(deployment))

    # Shutdown: the preStop sleep, uvicorn's drain of open requests, then the lifespan stopping
    # the workers (each finishes its batch and commits) must all fit in the grace period.
    assert "--timeout-graceful-shutdown" in command, "without it uvicorn waits for requests indefinitely"
    drain_s = float(command[command.index("--timeout-graceful-shutdown") + 1])
    workers_s = inspect.signature(Workers.stop).parameters["timeout_s"].default
    pre_stop_s = dig(container, "lifecycle", "preStop", "sleep", "seconds") or 0
    grace_s = pod_spec(deployment).get("terminationGracePeriodSeconds", 30)
    assert grace_s > pre_stop_s + drain_s + workers_s, f"{grace_s}s grace < {pre_stop_s}+{drain_s}+{workers_s}s"


@pytest.mark.parametrize(("target", "service"), CASES)
def test_service(target: str, service: ServiceCode) -> None:
    objects = render(target)
    deployment = named(objects, "Deployment", service.name)
    svc = named(objects, "Service", service.name)
    assert selects(svc["spec"]["selector"], pod_labels(deployment)), "the Service does not select the pods"
    container = main_container(deployment, service.name)
    targets = [container_port(container, p.get("targetPort", p["port"])) for p in svc["spec"]["ports"]]
    assert HTTP_PORT in targets, f"the Service does not reach port {HTTP_PORT}"


@pytest.mark.parametrize(("target", "service"), CASES)
def test_settings(target: str, service: ServiceCode, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Deployment sets every variable the service's Settings read and nothing else, and
    the code accepts the values (secrets: the rendered ones, or stand-ins in production)."""
    objects = render(target)
    container = main_container(named(objects, "Deployment", service.name), service.name)
    given = container_env(container, objects)
    wanted = env_names(service.settings)
    missing = sorted(min(names) for names in wanted.values() if not names & given.keys())
    assert not missing, f"{service.name} reads settings its Deployment does not set: {missing}"
    unknown = sorted(given.keys() - set().union(*wanted.values()))
    assert not unknown, f"{service.name}'s Deployment sets variables its code does not read: {unknown}"

    env = resolved_env(container, objects)
    for name in set().union(*wanted.values()):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = service.settings()
    assert settings.environment == TARGETS[target][1]  # type: ignore[attr-defined]
    assert urlsplit(settings.database_url).scheme == "postgresql+asyncpg"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("target", "service"), CASES)
def test_migration_job(target: str, service: ServiceCode, monkeypatch: pytest.MonkeyPatch) -> None:
    """`<service>-migrate` runs the service's migrations from the same image, with the common
    settings (what `python -m attendance_shared.migrations` reads), before the Deployment rolls."""
    objects = render(target)
    deployment = named(objects, "Deployment", service.name)
    job = named(objects, "Job", f"{service.name}-migrate")
    container = main_container(job)
    assert [*container.get("command", []), *container.get("args", [])] == [
        "python",
        "-m",
        "attendance_shared.migrations",
        service.name,
    ]
    assert container["image"] == main_container(deployment, service.name)["image"], "not the Deployment's image"
    assert job["spec"].get("backoffLimit") is not None and job["spec"].get("ttlSecondsAfterFinished") is not None
    assert pod_spec(job)["restartPolicy"] in ("Never", "OnFailure")
    check_hardened_and_sized(job, container)

    given = container_env(container, objects)
    read = [names for names in env_names(CommonSettings).values() if not names & KAFKA_CREDENTIALS]
    missing = sorted(min(n) for n in read if not n & given.keys())
    assert not missing, f"the migration reads settings its Job does not set: {missing}"
    assert not given.keys() & KAFKA_CREDENTIALS, "the migration never reaches Kafka: it needs no principal"
    for name in set().union(*env_names(CommonSettings).values()):
        monkeypatch.delenv(name, raising=False)
    for name, value in resolved_env(container, objects).items():
        monkeypatch.setenv(name, value)
    CommonSettings()

    # Argo CD sync waves: its ConfigMaps and Secrets, then the Job, then the Deployment.
    assert wave(job) < wave(deployment), "the migration Job must run before its Deployment rolls"
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef") or source.get("secretRef")
        for dependency in (o for o in objects if o["metadata"]["name"] == ref["name"]):
            assert wave(dependency) < wave(job), f"{ref['name']} must be applied before the Job"


@pytest.mark.parametrize(("target", "service"), CASES)
def test_retention_cron_job(target: str, service: ServiceCode, monkeypatch: pytest.MonkeyPatch) -> None:
    """`<service>-retention` runs `python -m <package>.retention` nightly from the Deployment's
    image, one run at a time, with the settings it reads and no way to Kafka."""
    objects = render(target)
    cron = named(objects, "CronJob", f"{service.name}-retention")
    job = {"kind": "CronJob", "metadata": cron["metadata"], "spec": cron["spec"]["jobTemplate"]["spec"]}
    container = main_container(job)
    command = [*container.get("command", []), *container.get("args", [])]
    assert command == ["python", "-m", f"{service.package}.retention"]
    deployment = named(objects, "Deployment", service.name)
    assert container["image"] == main_container(deployment, service.name)["image"], "not the Deployment's image"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid" and cron["spec"]["timeZone"] == "Europe/London"
    hour = int(cron["spec"]["schedule"].split()[1])
    assert 0 <= hour < 6, "the job runs at night, when no register is being taken"
    assert pod_spec(job)["restartPolicy"] in ("Never", "OnFailure")
    check_hardened_and_sized(job, container)

    for name in set().union(*env_names(service.settings).values()):
        monkeypatch.delenv(name, raising=False)
    for name, value in resolved_env(container, objects).items():
        monkeypatch.setenv(name, value)
    assert service.settings().environment == TARGETS[target][1]  # type: ignore[attr-defined]
    assert not container_env(container, objects).keys() & KAFKA_CREDENTIALS, "it publishes through the outbox"
    policies = of_kind(objects, "NetworkPolicy")
    bootstrap = resolved_env(main_container(deployment, service.name), objects)["KAFKA_BOOTSTRAP_SERVERS"]
    kafka_port = urlsplit("//" + bootstrap.split(",")[0]).port
    assert allows(policies, pod_labels(job), "Egress", POSTGRES_PORT), "the job reaches PostgreSQL"
    assert not allows(policies, pod_labels(job), "Egress", kafka_port), "the job needs no Kafka"


@pytest.mark.parametrize(("target", "service"), CASES)
def test_autoscaling_and_disruption_budget(target: str, service: ServiceCode) -> None:
    objects = render(target)
    deployment = named(objects, "Deployment", service.name)
    hpa = named(objects, "HorizontalPodAutoscaler", service.name)
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": service.name}
    low, high = hpa["spec"].get("minReplicas", 1), hpa["spec"]["maxReplicas"]
    assert 1 <= low <= high
    assert low <= deployment["spec"].get("replicas", 1) <= high
    # A consumer group gives each partition to one member: pods beyond the partitions of the
    # busiest topic a service reads would sit idle.
    consumed = consumed_topics(service)
    assert bool(consumed) == (service.name in topics.CONSUMING_SERVICES)
    if consumed:
        partitions = max(t.partitions for t in consumed)
        assert high <= partitions, f"maxReplicas {high} > {partitions} partitions"

    budgets = [
        p for p in of_kind(objects, "PodDisruptionBudget") if selects(p["spec"]["selector"], pod_labels(deployment))
    ]
    assert len(budgets) == 1, f"expected one PodDisruptionBudget for {service.name}"
    spec = budgets[0]["spec"]
    # At the HPA's minimum, a drain must still be able to evict one pod.
    if isinstance(spec.get("minAvailable"), int):
        assert spec["minAvailable"] < low, "the PodDisruptionBudget would block every node drain"
    elif isinstance(spec.get("maxUnavailable"), int):
        assert spec["maxUnavailable"] >= 1


@pytest.mark.parametrize("target", TARGETS)
def test_kafka_topics(target: str) -> None:
    """Every topic the code knows has a KafkaTopic with its partitions, and no other is declared."""
    objects = render(target)
    declared = {dig(t, "spec", "topicName") or t["metadata"]["name"]: t for t in of_kind(objects, "KafkaTopic")}
    assert set(declared) == {t.name for t in topics.ALL_TOPICS}
    brokers = sum(
        p["spec"]["replicas"] for p in of_kind(objects, "KafkaNodePool") if "broker" in p["spec"].get("roles", [])
    )
    clusters = {k["metadata"]["name"] for k in of_kind(objects, "Kafka")}
    for spec in topics.ALL_TOPICS:
        topic = declared[spec.name]["spec"]
        assert topic["partitions"] == spec.partitions, f"{spec.name}: {topic['partitions']} partitions in Kafka"
        # Every setting as topics.py declares it (what `ensure_topics` creates), for the
        # replicas this cluster gives the topic: production's three, a one-broker cluster's one.
        if target != "overlays/dev":
            assert topic["replicas"] == spec.replicas, spec.name
        config = {key: str(value) for key, value in topic["config"].items()}
        assert config == spec.config(replicas=topic["replicas"]), spec.name
        if brokers:
            assert topic["replicas"] <= brokers, f"{spec.name}: more replicas than the {brokers} broker(s)"
        if clusters:
            assert declared[spec.name]["metadata"]["labels"]["strimzi.io/cluster"] in clusters


@pytest.mark.parametrize(("target", "service"), CASES)
def test_kafka_principal(target: str, service: ServiceCode, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each service logs in as its own KafkaUser, whose ACLs are exactly what the service's
    code publishes and consumes (attendance_shared.acl), over TLS trusting the cluster CA."""
    objects = render(target)
    deployment = named(objects, "Deployment", service.name)
    container = main_container(deployment, service.name)
    given = container_env(container, objects)
    user = named(objects, "KafkaUser", acl.service_principal(service.name))
    assert given["KAFKA_SASL_USERNAME"] == user["metadata"]["name"]
    assert given["KAFKA_SASL_PASSWORD"] == FromSecret(user["metadata"]["name"], "password")
    assert user["spec"]["authentication"]["type"] == "scram-sha-512"
    assert user["spec"]["authorization"]["type"] == "simple"
    granted = {
        acl.Grant(
            user["metadata"]["name"], r["resource"]["type"], r["resource"]["name"], op, r["resource"]["patternType"]
        )
        for r in user["spec"]["authorization"]["acls"]
        for op in r["operations"]
    }
    assert granted == set(acl.grants_of(service.name))
    # Only groups by prefix (the service's own and its tools'); topics one by one.
    for rule in user["spec"]["authorization"]["acls"]:
        assert rule["resource"]["patternType"] == ("prefix" if rule["resource"]["type"] == "group" else "literal")

    # The CA file the settings name is the cluster CA's certificate, mounted read-only.
    env = resolved_env(container, objects)
    assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL" and env["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    ca_dir, ca_file = env["KAFKA_SSL_CAFILE"].rsplit("/", 1)
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == ca_dir]
    assert mount.get("readOnly") is True
    (volume,) = [v for v in pod_spec(deployment)["volumes"] if v["name"] == mount["name"]]
    cluster = user["metadata"]["labels"]["strimzi.io/cluster"]
    assert volume["secret"]["secretName"] == f"{cluster}-cluster-ca-cert"
    assert {"key": "ca.crt", "path": ca_file} in volume["secret"]["items"]

    for name in set().union(*env_names(service.settings).values()):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    kafka = service.settings().kafka_client(service.name)  # type: ignore[attr-defined]
    assert kafka.principal == f"User:{user['metadata']['name']}" and kafka.uses_tls and kafka.check_hostname


@pytest.mark.parametrize("target", TARGETS)
def test_kafka_users(target: str) -> None:
    """One KafkaUser per service and no other, created before the Deployments that use them."""
    objects = render(target)
    users = of_kind(objects, "KafkaUser")
    assert sorted(u["metadata"]["name"] for u in users) == sorted(acl.service_principal(s.name) for s in SERVICES)
    clusters = {k["metadata"]["name"] for k in of_kind(objects, "Kafka")}
    for user in users:
        if clusters:
            assert user["metadata"]["labels"]["strimzi.io/cluster"] in clusters
        for deployment in of_kind(objects, "Deployment"):
            assert wave(user) < wave(deployment), f"{user['metadata']['name']} must exist before {deployment}"


@pytest.mark.parametrize("target", TARGETS)
def test_network_policies(target: str) -> None:
    objects = render(target)
    policies = of_kind(objects, "NetworkPolicy")
    assert any(
        p["spec"]["podSelector"] == {}
        and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
        for p in policies
    ), "no default deny (podSelector {}, Ingress and Egress, no rules)"

    def env_of(name: str) -> dict[str, str]:
        return resolved_env(main_container(named(objects, "Deployment", name), name), objects)

    kafka_port = urlsplit("//" + env_of(SERVICES[0].name)["KAFKA_BOOTSTRAP_SERVERS"].split(",")[0]).port
    for service in SERVICES:
        server = pod_labels(named(objects, "Deployment", service.name))
        migration = pod_labels(named(objects, "Job", f"{service.name}-migrate"))
        for labels in (server, migration):
            assert allows(policies, labels, "Egress", 53, "UDP"), f"{labels}: no DNS"
            assert allows(policies, labels, "Egress", POSTGRES_PORT), f"{labels}: no PostgreSQL"
            assert rules_for(policies, labels, "Egress") is not None, f"{labels}: egress not restricted"
        assert allows(policies, server, "Egress", kafka_port), f"{service}: no Kafka"
        assert not allows(policies, migration, "Egress", kafka_port), f"{service}-migrate needs no Kafka"
        assert not allows(policies, migration, "Ingress", HTTP_PORT), f"{service}-migrate takes no traffic"
        clients = allows(policies, server, "Ingress", HTTP_PORT)
        assert allows_peer(clients, {"app": "ingress-controller"}, same_namespace=False), f"{service}: no clients"
        smtp = allows(policies, server, "Egress", 587)
        assert bool(smtp) == (service.name == "notification"), f"{service}: SMTP only for notification"

    analytics = pod_labels(named(objects, "Deployment", "analytics"))
    la_returns = pod_labels(named(objects, "Deployment", "la-returns"))
    analytics_url = urlsplit(env_of("la-returns")["LA_RETURNS_ANALYTICS_URL"])
    assert analytics_url.hostname == named(objects, "Service", "analytics")["metadata"]["name"]
    analytics_port = analytics_url.port
    assert allows_peer(allows(policies, la_returns, "Egress", analytics_port), analytics), "la-returns -> analytics"
    assert allows_peer(allows(policies, analytics, "Ingress", analytics_port), la_returns), "la-returns -> analytics"
    register = pod_labels(named(objects, "Deployment", "register"))
    assert not allows_peer(allows(policies, register, "Egress", HTTP_PORT), analytics), "register -> analytics"
    support = pod_labels(named(objects, "Deployment", "support"))
    for upstream in ("register", "analytics"):
        url = urlsplit(env_of("support")[f"SUPPORT_{upstream.upper()}_URL"])
        assert url.hostname == named(objects, "Service", upstream)["metadata"]["name"]
        target = pod_labels(named(objects, "Deployment", upstream))
        assert allows_peer(allows(policies, support, "Egress", url.port), target), f"support -> {upstream}"
        assert allows_peer(allows(policies, target, "Ingress", url.port), support), f"support -> {upstream}"
    assert not allows_peer(allows(policies, la_returns, "Egress", HTTP_PORT), register), "la-returns -> register"


@pytest.mark.parametrize("target", TARGETS)
def test_service_monitor(target: str) -> None:
    objects = render(target)
    monitors = of_kind(objects, "ServiceMonitor")
    for service in SERVICES:
        svc = named(objects, "Service", service.name)
        port_names = {p.get("name") for p in svc["spec"]["ports"]}
        assert any(
            selects(m["spec"]["selector"], svc["metadata"].get("labels", {}))
            and any(e.get("port") in port_names and e.get("path") == "/metrics" for e in m["spec"]["endpoints"])
            for m in monitors
        ), f"no ServiceMonitor scrapes {service.name}'s /metrics"


def test_dev_overlay_runs_its_own_kafka_and_postgres() -> None:
    """The dev overlay's settings point at the Kafka and PostgreSQL it creates, with the
    credentials PostgreSQL is bootstrapped with, and the NetworkPolicies let the services in."""
    objects = render("overlays/dev")
    (kafka,) = of_kind(objects, "Kafka")
    (cluster,) = of_kind(objects, "Cluster")
    deployment = named(objects, "Deployment", SERVICES[0].name)
    env = resolved_env(main_container(deployment, SERVICES[0].name), objects)

    # The listener the services reach takes TLS and SCRAM-SHA-512 only, and the cluster
    # authorizes every request by the KafkaUsers' ACLs.
    secured = [
        lst["port"]
        for lst in kafka["spec"]["kafka"]["listeners"]
        if lst.get("tls") is True and dig(lst, "authentication", "type") == "scram-sha-512"
    ]
    bootstrap = urlsplit("//" + env["KAFKA_BOOTSTRAP_SERVERS"])
    assert bootstrap.hostname == f"{kafka['metadata']['name']}-kafka-bootstrap" and bootstrap.port in secured
    assert all(lst.get("tls") is True for lst in kafka["spec"]["kafka"]["listeners"]), "a listener without TLS"
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"

    initdb = cluster["spec"]["bootstrap"]["initdb"]
    credentials = named(objects, "Secret", initdb["secret"]["name"])
    url = urlsplit(env["DATABASE_URL"])
    assert url.hostname == f"{cluster['metadata']['name']}-rw" and (url.port or POSTGRES_PORT) == POSTGRES_PORT
    assert url.path.lstrip("/") == initdb["database"]
    assert url.username == initdb["owner"] == credentials["stringData"]["username"]
    assert url.password == credentials["stringData"]["password"]

    policies = of_kind(objects, "NetworkPolicy")
    kafka_pod = {"strimzi.io/cluster": kafka["metadata"]["name"], "strimzi.io/kind": "Kafka"}
    postgres_pod = {"cnpg.io/cluster": cluster["metadata"]["name"], "cnpg.io/instanceRole": "primary"}
    for service in SERVICES:
        server = pod_labels(named(objects, "Deployment", service.name))
        assert allows_peer(allows(policies, server, "Egress", bootstrap.port), kafka_pod), f"{service} -> Kafka"
        assert allows_peer(allows(policies, kafka_pod, "Ingress", bootstrap.port), server), f"{service} -> Kafka"
        assert allows_peer(allows(policies, server, "Egress", POSTGRES_PORT), postgres_pod), f"{service} -> PG"
        assert allows_peer(allows(policies, postgres_pod, "Ingress", POSTGRES_PORT), server), f"{service} -> PG"


def test_production_ships_no_secrets() -> None:
    assert not of_kind(render("overlays/prod"), "Secret"), "production Secrets come from the secret store"


def test_readme_documents_every_setting_and_metric() -> None:
    """deploy/README.md has a table row for every variable the code reads and every metric."""
    readme = (ROOT / "deploy" / "README.md").read_text()
    rows = set(re.findall(r"^\| `([A-Za-z_]+)` \|", readme, flags=re.MULTILINE))
    settings = {min(names) for service in SERVICES for names in env_names(service.settings).values()}
    assert not settings - rows, f"settings missing from the table in deploy/README.md: {sorted(settings - rows)}"
    names = {
        f"{m._name}_total" if m._type == "counter" else m._name
        for m in vars(metrics).values()
        if isinstance(m, MetricWrapperBase)
    }
    assert not names - rows, f"metrics missing from the table in deploy/README.md: {sorted(names - rows)}"
