"""deploy/k8s as kustomize renders it: schema-valid for a pinned Kubernetes, then checked by rule.

Built-in kinds are validated by `kubernetes-validate` (strict: unknown fields fail). The custom
resources (Strimzi, CloudNativePG) have no schema in that package, so the fields their
operators require, and the values Ring relies on, are checked here.
"""

from __future__ import annotations

from collections import ChainMap, Counter
from dataclasses import dataclass
from typing import Any

import kubernetes_validate
import pytest

from ring_runtime.commands.keys import fresh_secrets
from ring_runtime.integrity import CHECKPOINT_TOPIC
from ring_runtime.production import production_problems
from ring_runtime.settings import BASE_SERVICE_PORTS, ENVIRONMENT

from .support import ALL_RING_TOPICS, K8S, OVERLAYS, PLATFORM_TOPICS, RING_VARIABLES, kustomize

#: The Kubernetes version the manifests must be valid for (oldest one we support).
KUBERNETES_VERSION = "1.33.0"

CUSTOM_KINDS = {
    ("kafka.strimzi.io/v1beta2", "Kafka"),
    ("kafka.strimzi.io/v1beta2", "KafkaNodePool"),
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"),
    ("kafka.strimzi.io/v1beta2", "KafkaUser"),
    ("postgresql.cnpg.io/v1", "Cluster"),
}
TARGETS = ("base", *OVERLAYS, "gateway")
Doc = dict[str, Any]


def of_kind(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def ring_deployments(docs: list[Doc]) -> dict[str, Doc]:
    return {
        name: d
        for name, d in of_kind(docs, "Deployment").items()
        if d["metadata"]["labels"].get("app.kubernetes.io/part-of") == "ring"
    }


def container(deployment: Doc) -> Doc:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    found: Doc = only
    return found


def config_map(docs: list[Doc]) -> Doc:
    (found,) = [
        d
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("ring-config")
    ]
    return found


# --- schema validation ----------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_every_built_in_resource_is_valid_for_the_pinned_kubernetes(
    renders: dict[str, list[Doc]], target: str
) -> None:
    failures = []
    for doc in renders[target]:
        if (doc["apiVersion"], doc["kind"]) in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            failures.append(f"{doc['kind']}/{doc['metadata']['name']}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError:
            failures.append(f"{doc['kind']} ({doc['apiVersion']}) is no known kind")
    assert not failures


def test_the_validator_rejects_a_broken_manifest(renders: dict[str, list[Doc]]) -> None:
    """Guard against a validator that silently accepts anything."""
    broken = dict(ring_deployments(renders["prod"])["task"])
    broken["spec"] = {**broken["spec"], "replicas": "three"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("target", TARGETS)
def test_names_are_unique(renders: dict[str, list[Doc]], target: str) -> None:
    keys = Counter((d["kind"], d["metadata"]["name"]) for d in renders[target])
    assert [k for k, n in keys.items() if n > 1] == []


# --- services: what is deployed is what is registered ---------------------------------------


@pytest.mark.parametrize("target", ["base", *OVERLAYS])
def test_every_registered_service_has_deployment_service_and_pdb_and_nothing_else(
    renders: dict[str, list[Doc]], registered: set[str], target: str
) -> None:
    docs = renders[target]
    assert set(ring_deployments(docs)) == registered
    assert set(of_kind(docs, "Service")) == registered
    assert set(of_kind(docs, "PodDisruptionBudget")) == registered
    folders = {p.name for p in (K8S / "base" / "services").iterdir() if p.is_dir()}
    assert folders == registered


@pytest.mark.parametrize("target", TARGETS)
def test_deployments_are_hardened_and_probed(renders: dict[str, list[Doc]], target: str) -> None:
    for name, deployment in ring_deployments(renders[target]).items():
        pod = deployment["spec"]["template"]["spec"]
        c = container(deployment)
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == 10001, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod["automountServiceAccountToken"] is False, name
        assert c["securityContext"]["readOnlyRootFilesystem"] is True, name
        assert c["securityContext"]["allowPrivilegeEscalation"] is False, name
        assert c["securityContext"]["capabilities"]["drop"] == ["ALL"], name
        tmp = {m["name"] for m in c["volumeMounts"] if m["mountPath"] == "/tmp"}
        assert tmp, f"{name}: /tmp is not mounted"
        assert all("emptyDir" in v for v in pod["volumes"] if v["name"] in tmp), name
        assert c["livenessProbe"]["httpGet"]["path"] == "/health", name
        assert c["readinessProbe"]["httpGet"]["path"] == "/ready", name
        assert set(c["resources"]["requests"]) == {"cpu", "memory"}, name
        assert c["resources"]["limits"]["memory"], name
        assert c["image"].split("/")[-1].startswith(f"ring-{name}"), name


@pytest.mark.parametrize("target", TARGETS)
def test_every_pod_is_scraped_on_its_metrics_endpoint(
    renders: dict[str, list[Doc]], target: str
) -> None:
    for name, deployment in ring_deployments(renders[target]).items():
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true", name
        assert annotations["prometheus.io/port"] == str(BASE_SERVICE_PORTS[name]), name
        assert annotations["prometheus.io/path"] == "/metrics", name
    settings = config_map(renders[target])["data"]
    if settings.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        assert settings["OTEL_METRICS_EXPORTER"] == "none"  # pulled, not pushed as well


@pytest.mark.parametrize("target", TARGETS)
def test_ports_match_the_service_defaults(renders: dict[str, list[Doc]], target: str) -> None:
    services = of_kind(renders[target], "Service")
    for name, deployment in ring_deployments(renders[target]).items():
        c = container(deployment)
        env = {e["name"]: e.get("value") for e in c["env"]}
        assert [p["containerPort"] for p in c["ports"]] == [BASE_SERVICE_PORTS[name]]
        assert env["RING_HTTP_PORT"] == str(BASE_SERVICE_PORTS[name])
        assert services[name]["spec"]["ports"][0]["port"] == BASE_SERVICE_PORTS[name]
        assert services[name]["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


@pytest.mark.parametrize("target", TARGETS)
def test_pdbs_select_their_deployment(renders: dict[str, list[Doc]], target: str) -> None:
    pdbs = of_kind(renders[target], "PodDisruptionBudget")
    for name, deployment in ring_deployments(renders[target]).items():
        selector = pdbs[name]["spec"]["selector"]["matchLabels"]
        assert selector == deployment["spec"]["selector"]["matchLabels"]


@pytest.mark.parametrize("target", OVERLAYS)
def test_overlays_pin_every_image(renders: dict[str, list[Doc]], target: str) -> None:
    """An `images:` entry per service: otherwise a Deployment would run `ring-<name>:latest`."""
    for name, deployment in ring_deployments(renders[target]).items():
        image = container(deployment)["image"]
        assert ":" in image.rsplit("/", 1)[-1], f"{target}: {name} runs an untagged image"
        assert not image.endswith(":latest"), name


def test_dev_runs_one_replica_and_prod_several(renders: dict[str, list[Doc]]) -> None:
    assert {d["spec"]["replicas"] for d in ring_deployments(renders["dev"]).values()} == {1}
    prod = renders["prod"]
    # an autoscaled Deployment (the gateway) has its count from its HPA, never below 2
    autoscaled = {
        h["spec"]["scaleTargetRef"]["name"]: h["spec"]["minReplicas"]
        for h in of_kind(prod, "HorizontalPodAutoscaler").values()
    }
    for name, deployment in ring_deployments(prod).items():
        assert autoscaled.get(name, deployment["spec"].get("replicas", 0)) >= 2, name


# --- settings and secrets ---------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_every_environment_name_is_a_ring_setting(
    renders: dict[str, list[Doc]], target: str
) -> None:
    docs = renders[target]
    config = config_map(docs)
    assert set(config["data"]) <= RING_VARIABLES
    for name, deployment in ring_deployments(docs).items():
        c = container(deployment)
        assert {e["name"] for e in c["env"]} <= RING_VARIABLES, name
        assert c["envFrom"] == [{"configMapRef": {"name": config["metadata"]["name"]}}], name


@pytest.mark.parametrize("target", OVERLAYS)
def test_settings_fit_kafka_and_the_topics(renders: dict[str, list[Doc]], target: str) -> None:
    docs = renders[target]
    data = config_map(docs)["data"]
    (kafka,) = of_kind(docs, "Kafka").values()
    plain = [
        listener
        for listener in kafka["spec"]["kafka"]["listeners"]
        if listener["tls"] is False and listener["type"] == "internal"
    ]
    bootstrap = f"{kafka['metadata']['name']}-kafka-bootstrap:{plain[0]['port']}"
    assert data["RING_KAFKA_BOOTSTRAP"] == bootstrap
    assert data["RING_HTTP_HOST"] == "0.0.0.0"
    assert data["RING_KAFKA_ENABLE_IDEMPOTENCE"] == "true"
    assert data["RING_KAFKA_SESSION_TIMEOUT_MS"] == "45000"
    assert data["RING_KAFKA_HEARTBEAT_INTERVAL_MS"] == "3000"
    assert data["CIPHER_TOPIC"] == "eventsourcing.cryptography:AESCipher"
    topics = of_kind(docs, "KafkaTopic").values()
    events = [t for t in topics if not t["spec"]["topicName"].endswith(".dlq")]
    assert {str(t["spec"]["partitions"]) for t in events} == {data["RING_TOPIC_PARTITIONS"]}
    assert {str(t["spec"]["replicas"]) for t in events} == {data["RING_TOPIC_REPLICATION"]}


BLOB_STORE_KEYS = (
    "RING_S3_ENDPOINT",
    "RING_S3_BUCKET",
    "RING_S3_REGION",
    "RING_S3_ACCESS_KEY",
    "RING_S3_SECRET_KEY",
)


@pytest.mark.parametrize("target", OVERLAYS)
def test_secrets_are_created_out_of_band_and_each_process_gets_only_its_own(
    renders: dict[str, list[Doc]], target: str
) -> None:
    docs = renders[target]
    assert [d for d in docs if d["kind"] == "Secret"] == [], "manifests must not carry secrets"
    for name, deployment in ring_deployments(docs).items():
        refs = {
            e["name"]: e["valueFrom"]["secretKeyRef"]
            for e in container(deployment)["env"]
            if "valueFrom" in e
        }
        if name == "web":  # a client of the gateway: its session key only (decision 0017)
            session = {"name": "ring-web-session", "key": "RING_WEB_SESSION_KEY"}
            assert refs == {"RING_WEB_SESSION_KEY": session}, name
            continue
        expected = {
            "RING_DATABASE_URL": {"name": f"ring-db-{name}", "key": "uri"},
            "CIPHER_KEY": {"name": "ring-cipher", "key": "CIPHER_KEY"},
        }
        if name == "gateway":
            expected |= {
                key: {"name": "ring-gateway-keys", "key": key}
                for key in ("RING_JWT_SECRET", "RING_PII_KEY", "RING_GATEWAY_SIGNING_KEY")
            }
        else:
            expected["RING_GATEWAY_VERIFY_KEY"] = {
                "name": "ring-gateway-identity",
                "key": "RING_GATEWAY_VERIFY_KEY",
            }
            # Strimzi writes the KafkaUser's password to a Secret named after the user.
            expected["RING_KAFKA_SASL_PASSWORD"] = {"name": f"ring-{name}", "key": "password"}
        if name != "notification":  # every event store signs its audit checkpoints
            expected["RING_AUDIT_SIGNING_KEY"] = {
                "name": "ring-audit",
                "key": "RING_AUDIT_SIGNING_KEY",
            }
        if name == "ledger":
            expected["RING_PAYMENTS_WEBHOOK_SECRET"] = {
                "name": "ring-payments",
                "key": "RING_PAYMENTS_WEBHOOK_SECRET",
            }
        if name in ("voucher", "dispute"):  # their files live in an S3-compatible bucket
            expected |= {k: {"name": "ring-blob-store", "key": k} for k in BLOB_STORE_KEYS}
        assert refs == expected, name


@pytest.mark.parametrize("target", OVERLAYS)
def test_every_process_passes_the_production_checks_once_secrets_exist(
    renders: dict[str, list[Doc]], target: str
) -> None:
    """Config map + plain values + fresh secrets (as docs/deploy.md makes them) start cleanly."""
    docs = renders[target]
    data = config_map(docs)["data"]
    assert data["RING_ENV"] == "production"
    fresh = fresh_secrets()
    defaults = {v.name: v.default for v in ENVIRONMENT}
    for name, deployment in ring_deployments(docs).items():
        env = dict(data)
        for variable in container(deployment)["env"]:
            if "value" in variable:
                env[variable["name"]] = variable["value"]
            elif variable["name"] == "RING_DATABASE_URL":
                password = fresh[f"POSTGRES_{name.upper()}_PASSWORD"]
                env["RING_DATABASE_URL"] = f"postgresql://ring_{name}:{password}@db:5432/ring"
            elif variable["name"] == "RING_KAFKA_SASL_PASSWORD":
                env["RING_KAFKA_SASL_PASSWORD"] = fresh[f"SCRAM_{name.upper()}_PASSWORD"]
            else:
                env[variable["name"]] = fresh.get(variable["name"], "bucket-setting")
        problems = production_problems(name, ChainMap(env, defaults).__getitem__)
        assert problems == [], (name, problems)


@pytest.mark.parametrize("target", OVERLAYS)
def test_kafka_users_and_database_roles_one_per_service(
    renders: dict[str, list[Doc]], target: str
) -> None:
    docs = renders[target]
    services = set(ring_deployments(docs))
    users = of_kind(docs, "KafkaUser")
    assert set(users) == {f"ring-{s}" for s in services - {"gateway", "web"}}
    for name, user in users.items():
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"
        acls = user["spec"]["authorization"]["acls"]
        written = {a["resource"]["name"] for a in acls if "Write" in a["operations"]}
        own = f"ring.{name.removeprefix('ring-')}.events"
        dead_letters = {t for t in ALL_RING_TOPICS if t.endswith(".dlq")}
        if own in ALL_RING_TOPICS:  # a publisher: its own topic, dead letters, markers, checkpoints
            assert written == {own} | dead_letters | PLATFORM_TOPICS, name
        else:  # publishes no events (notification): dead letters and its audit checkpoints
            assert written <= dead_letters | {CHECKPOINT_TOPIC}, name
    (kafka,) = of_kind(docs, "Kafka").values()
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    for listener in kafka["spec"]["kafka"]["listeners"]:
        assert listener["authentication"]["type"] == "scram-sha-512", listener["name"]
    (cluster,) = of_kind(docs, "Cluster").values()
    roles = {r["name"]: r for r in cluster["spec"]["managed"]["roles"]}
    assert set(roles) == {f"ring_{s}" for s in services - {"web"}}
    assert all(r["passwordSecret"]["name"] == f"ring-db-{n[5:]}" for n, r in roles.items())
    bootstrap = cluster["spec"]["bootstrap"]["initdb"]["postInitApplicationSQL"]
    assert {f"CREATE SCHEMA {s} AUTHORIZATION ring_{s}" for s in services - {"web"}} <= set(
        bootstrap
    )
    assert not [line for line in bootstrap if "ring_web" in line]
    assert "REVOKE CREATE ON SCHEMA public FROM PUBLIC" in bootstrap


# --- network exposure -------------------------------------------------------------------------


def admits_from_outside(policy: Doc) -> bool:
    """Whether a NetworkPolicy admits traffic from another namespace or outside the cluster."""
    for rule in policy["spec"].get("ingress", []):
        peers = rule.get("from")
        if not peers:
            return True  # no `from`: everyone
        if any("namespaceSelector" in p or "ipBlock" in p for p in peers):
            return True
    return False


@pytest.mark.parametrize("target", ["base", *OVERLAYS])
def test_nothing_is_reachable_from_outside_until_the_gateway_lands(
    renders: dict[str, list[Doc]], target: str
) -> None:
    docs = renders[target]
    policies = of_kind(docs, "NetworkPolicy")
    deny = policies["default-deny-ingress"]["spec"]
    assert deny["podSelector"] == {}
    assert deny["policyTypes"] == ["Ingress"]
    assert "ingress" not in deny
    same_namespace = policies["allow-same-namespace"]["spec"]["ingress"]
    assert same_namespace == [{"from": [{"podSelector": {}}]}]
    open_policies = {name for name, p in policies.items() if admits_from_outside(p)}
    # only the database operator may reach the database pods from its own namespace,
    # (once the gateway component is enabled) the ingress controller the gateway, and
    # Prometheus the HTTP port of Ring's pods (test_prometheus_may_scrape_every_ring_pod)
    assert open_policies <= {
        "allow-cnpg-operator",
        "allow-gateway-from-ingress",
        "allow-prometheus-scrape",
    }
    if "allow-gateway-from-ingress" in policies:
        assert policies["allow-gateway-from-ingress"]["spec"]["podSelector"] == {
            "matchLabels": {"app.kubernetes.io/name": "gateway"}
        }
    if "allow-cnpg-operator" in policies:
        assert policies["allow-cnpg-operator"]["spec"]["podSelector"] == {
            "matchLabels": {"cnpg.io/cluster": "ring-database"}
        }
    for ingress in of_kind(docs, "Ingress").values():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["backend"]["service"]["name"] == "gateway"
    for hpa in of_kind(docs, "HorizontalPodAutoscaler").values():
        assert hpa["spec"]["scaleTargetRef"]["name"] == "gateway"
    for service in of_kind(docs, "Service").values():
        assert service["spec"]["type"] == "ClusterIP"
    listeners = [
        listener
        for kafka in of_kind(docs, "Kafka").values()
        for listener in kafka["spec"]["kafka"]["listeners"]
    ]
    assert all(listener["type"] == "internal" for listener in listeners)
    assert all(listener["networkPolicyPeers"] == [{"podSelector": {}}] for listener in listeners)


def selects(selector: Doc, labels: dict[str, str]) -> bool:
    """Whether a Kubernetes label selector (matchLabels, matchExpressions) selects ``labels``."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        present, values = key in labels, expression.get("values", [])
        if not {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }[operator]:
            return False
    return True


@dataclass(frozen=True)
class Peer:
    """A pod sending traffic: its namespace's labels and its own."""

    namespace: dict[str, str]
    pod: dict[str, str]


def admitted(policies: list[Doc], target: Doc, port: int, peer: Peer) -> bool:
    """Whether the NetworkPolicies let ``peer`` reach TCP ``port`` of the pods of Deployment
    ``target`` (in another namespace than the peer's), as Kubernetes evaluates ingress: a pod
    selected by no policy takes anything; otherwise some selecting rule must admit both the
    peer and the port (by number, or by the name of the container port)."""
    pod = target["spec"]["template"]
    names = {p.get("name"): p["containerPort"] for p in container(target)["ports"]}
    selecting = [
        p
        for p in policies
        if "Ingress" in p["spec"]["policyTypes"]
        and selects(p["spec"]["podSelector"], pod["metadata"]["labels"])
    ]
    if not selecting:
        return True

    def peer_matches(rule_peer: Doc) -> bool:
        if "ipBlock" in rule_peer:
            return True  # pessimistic: an address range may contain the peer
        if "namespaceSelector" not in rule_peer:
            return False  # a podSelector alone means pods of the policy's own namespace
        return selects(rule_peer["namespaceSelector"], peer.namespace) and selects(
            rule_peer.get("podSelector", {}), peer.pod
        )

    def port_matches(rule_port: Doc) -> bool:
        named = rule_port.get("port")
        number = names.get(named) if isinstance(named, str) else named
        return rule_port.get("protocol", "TCP") == "TCP" and number in (None, port)

    return any(
        any(peer_matches(p) for p in rule.get("from", [{"ipBlock": {}}]))
        and any(port_matches(p) for p in rule.get("ports", [{}]))
        for policy in selecting
        for rule in policy["spec"].get("ingress", [])
    )


PROMETHEUS = Peer(
    namespace={"kubernetes.io/metadata.name": "monitoring"},
    pod={"app.kubernetes.io/name": "prometheus"},
)


@pytest.mark.parametrize("target", OVERLAYS)
def test_prometheus_may_scrape_every_ring_pod(renders: dict[str, list[Doc]], target: str) -> None:
    """The namespace denies ingress from outside by default: the monitoring component lets
    Prometheus (only) through to the port each pod's scrape annotation names, and no further."""
    docs = renders[target]
    policies = list(of_kind(docs, "NetworkPolicy").values())
    grafana = Peer(PROMETHEUS.namespace, {"app.kubernetes.io/name": "grafana"})
    elsewhere = Peer({"kubernetes.io/metadata.name": "default"}, PROMETHEUS.pod)
    for name, deployment in ring_deployments(docs).items():
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        scrape = int(annotations["prometheus.io/port"])
        assert admitted(policies, deployment, scrape, PROMETHEUS), name
        assert not admitted(policies, deployment, scrape + 1, PROMETHEUS), name
        assert not admitted(policies, deployment, scrape, grafana), name
        assert not admitted(policies, deployment, scrape, elsewhere), name


def test_without_the_monitoring_component_prometheus_is_kept_out(
    renders: dict[str, list[Doc]],
) -> None:
    """Guard against an evaluator that admits anything: the base alone denies the scrape."""
    docs = renders["base"]
    policies = list(of_kind(docs, "NetworkPolicy").values())
    for name, deployment in ring_deployments(docs).items():
        assert not admitted(policies, deployment, BASE_SERVICE_PORTS[name], PROMETHEUS), name


def test_every_overlay_includes_the_monitoring_component() -> None:
    for overlay in OVERLAYS:
        text = (K8S / "overlays" / overlay / "kustomization.yaml").read_text()
        lines = {line.strip() for line in text.splitlines()}
        assert "- ../../components/monitoring" in lines, overlay


def test_the_gateway_component_is_the_only_public_and_autoscaled_workload(
    renders: dict[str, list[Doc]],
) -> None:
    docs = renders["gateway"]
    policies = of_kind(docs, "NetworkPolicy")
    public = {name for name, p in policies.items() if admits_from_outside(p)}
    assert public == {"allow-gateway-from-ingress"}
    selector = policies["allow-gateway-from-ingress"]["spec"]["podSelector"]
    assert selector == {"matchLabels": {"app.kubernetes.io/name": "gateway"}}
    (hpa,) = of_kind(docs, "HorizontalPodAutoscaler").values()
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "gateway",
    }
    assert hpa["spec"]["minReplicas"] >= 2
    gateway = ring_deployments(docs)["gateway"]
    assert "replicas" not in gateway["spec"], "the HPA owns the gateway's replica count"
    (ingress,) = of_kind(docs, "Ingress").values()
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "gateway"
    assert "gateway" in of_kind(docs, "Service")
    assert "gateway" in of_kind(docs, "PodDisruptionBudget")


def test_no_overlay_includes_the_gateway_component_yet(registered: set[str]) -> None:
    for overlay in OVERLAYS:
        text = (K8S / "overlays" / overlay / "kustomization.yaml").read_text()
        included = any(line.strip() == "- ../../components/gateway" for line in text.splitlines())
        assert included == ("gateway" in registered), overlay


# --- custom resources: required fields and Ring's values --------------------------------------


def require(doc: Doc, *path: str) -> Any:
    value: Any = doc
    for key in path:
        missing = f"{doc['kind']}/{doc['metadata']['name']}: missing {'.'.join(path)}"
        assert isinstance(value, dict), missing
        assert key in value, missing
        value = value[key]
    return value


@pytest.mark.parametrize("target", OVERLAYS)
def test_strimzi_kafka_is_kraft_with_node_pools(renders: dict[str, list[Doc]], target: str) -> None:
    docs = renders[target]
    (kafka,) = of_kind(docs, "Kafka").values()
    annotations = require(kafka, "metadata", "annotations")
    assert annotations["strimzi.io/kraft"] == "enabled"
    assert annotations["strimzi.io/node-pools"] == "enabled"
    assert "zookeeper" not in kafka["spec"]
    listeners = require(kafka, "spec", "kafka", "listeners")
    assert listeners
    for listener in listeners:
        assert {"name", "port", "type", "tls"} <= set(listener)
    assert len({listener["port"] for listener in listeners}) == len(listeners)
    require(kafka, "spec", "entityOperator", "topicOperator")
    config = require(kafka, "spec", "kafka", "config")
    assert config["auto.create.topics.enable"] is False
    pools = of_kind(docs, "KafkaNodePool").values()
    assert pools
    roles = set()
    for pool in pools:
        assert (
            require(pool, "metadata", "labels")["strimzi.io/cluster"] == kafka["metadata"]["name"]
        )
        assert require(pool, "spec", "replicas") >= 1
        roles |= set(require(pool, "spec", "roles"))
        storage = require(pool, "spec", "storage")
        assert storage["type"] in {"jbod", "persistent-claim", "ephemeral"}
        for volume in storage.get("volumes", []):
            assert {"id", "type"} <= set(volume)
            assert volume["type"] != "persistent-claim" or "size" in volume
    assert roles == {"controller", "broker"}
    brokers = sum(p["spec"]["replicas"] for p in pools if "broker" in p["spec"]["roles"])
    if target == "prod":
        assert brokers >= 3
        assert config["default.replication.factor"] == 3
        assert config["min.insync.replicas"] == 2
        assert config["offsets.topic.replication.factor"] == 3
    assert config["min.insync.replicas"] <= brokers


@pytest.mark.parametrize("target", OVERLAYS)
def test_strimzi_topics_cover_every_ring_topic(renders: dict[str, list[Doc]], target: str) -> None:
    docs = renders[target]
    (kafka,) = of_kind(docs, "Kafka").values()
    brokers = sum(p["spec"]["replicas"] for p in of_kind(docs, "KafkaNodePool").values())
    topics = of_kind(docs, "KafkaTopic").values()
    assert {require(t, "spec", "topicName") for t in topics} == ALL_RING_TOPICS
    for topic in topics:
        name = topic["spec"]["topicName"]
        assert (
            require(topic, "metadata", "labels")["strimzi.io/cluster"] == kafka["metadata"]["name"]
        )
        assert require(topic, "spec", "partitions") >= 1
        replicas = require(topic, "spec", "replicas")
        config = require(topic, "spec", "config")
        assert replicas <= brokers
        assert config["min.insync.replicas"] < replicas or replicas == 1
        assert config["cleanup.policy"] == "delete"
        if name.endswith(".dlq"):
            assert config["retention.ms"] > 0, name
        else:
            assert config["retention.ms"] == -1, f"{name} must keep every record"
        if target == "prod":
            assert replicas == 3, name
            assert config["min.insync.replicas"] == 2, name


@pytest.mark.parametrize("target", OVERLAYS)
def test_cloudnativepg_cluster(renders: dict[str, list[Doc]], target: str) -> None:
    (cluster,) = of_kind(renders[target], "Cluster").values()
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    instances = require(cluster, "spec", "instances")
    assert require(cluster, "spec", "storage", "size")
    assert require(cluster, "spec", "bootstrap", "initdb", "database") == "ring"
    assert require(cluster, "spec", "bootstrap", "initdb", "owner")
    assert require(cluster, "spec", "imageName").startswith("ghcr.io/cloudnative-pg/postgresql:17")
    assert instances == (1 if target == "dev" else 3)


# --- the renderer itself ----------------------------------------------------------------------


def test_kustomize_renders_deterministically() -> None:
    assert kustomize(K8S / "overlays" / "prod") == kustomize(K8S / "overlays" / "prod")
