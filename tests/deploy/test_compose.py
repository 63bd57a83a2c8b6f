"""docker-compose.yml checked by Docker Compose itself (`docker compose config`), then by rule."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import ChainMap
from pathlib import Path
from typing import Any

import pytest
import yaml

from ring_runtime.metrics import GAUGES
from ring_runtime.production import PUBLISHED_CIPHER_KEY, production_problems
from ring_runtime.settings import BASE_SERVICE_PORTS, ENVIRONMENT, DatabaseAddress

from .support import ALL_RING_TOPICS, RING_VARIABLES, ROOT, compose_binary, run

DEFAULTS = {v.name: v.default for v in ENVIRONMENT}
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE_DIR = ROOT / "deploy" / "compose"
GRAFANA_DIR = ROOT / "deploy" / "grafana"
#: The services of the `observability` profile.
OBSERVABILITY = ("otel-collector", "jaeger", "prometheus", "grafana")
#: Prometheus names of the metrics Ring processes serve (OpenTelemetry names translated: dots
#: become underscores, counters end in _total, seconds in _seconds) and the HTTP histogram.
RING_PROMETHEUS_NAMES = {
    *(
        name.replace(".", "_") + ("_seconds" if unit == "s" else "")
        for name, (unit, _) in GAUGES.items()
    ),
    "ring_relay_published_total",
    "ring_consumer_applied_total",
    *(f"http_server_request_duration_seconds_{part}" for part in ("bucket", "count", "sum")),
}
ENV_EXAMPLE = ROOT / ".env.example"

#: Variables of third-party images, by compose service: names must start with one of these.
THIRD_PARTY_PREFIXES = {
    "postgres": ("POSTGRES_",),
    "kafka": ("KAFKA_", "CLUSTER_ID", "SCRAM_"),
    "kafka-init": ("KAFKA_", "SCRAM_ADMIN_PASSWORD"),
    "jaeger": ("COLLECTOR_",),
    "otel-collector": (),
    "prometheus": (),
    "grafana": ("GF_",),
}

#: Variables of .env.example that are not Ring settings, and who reads them.
COMPOSE_ONLY_VARIABLES = {
    "RING_IMAGE_TAG": "compose: tag of the images it builds",
    "POSTGRES_USER": "postgres image",
    "POSTGRES_PASSWORD": "postgres image",
    "POSTGRES_DB": "postgres image",
    **{f"POSTGRES_{s.upper()}_PASSWORD": "postgres-roles.sh" for s in BASE_SERVICE_PORTS},
    "SCRAM_BROKER_PASSWORD": "kafka-start.sh",
    "SCRAM_ADMIN_PASSWORD": "kafka-start.sh, kafka-init.sh",
    **{
        f"SCRAM_{s.upper()}_PASSWORD": "kafka-start.sh"
        for s in BASE_SERVICE_PORTS
        if s != "gateway"
    },
}


def compose(*args: str, env_file: Path = ENV_EXAMPLE) -> subprocess.CompletedProcess[str]:
    """Run `docker compose` on our file in a clean environment (no host variables leak in)."""
    command: list[str | Path] = [
        compose_binary(),
        "-f",
        COMPOSE_FILE,
        "--env-file",
        env_file,
        *args,
    ]
    return run(command, env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"}, cwd=ROOT)


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    """The fully resolved model, every profile included."""
    result = compose("--profile", "observability", "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    model: dict[str, Any] = json.loads(result.stdout)
    return model


@pytest.fixture(scope="module")
def ring_services(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Compose services built from our Dockerfile, by the SERVICE build argument."""
    found = {}
    for name, service in config["services"].items():
        build = service.get("build")
        if build:
            assert Path(build["context"]) == ROOT, f"{name}: build context is not the repo root"
            assert build.get("dockerfile", "Dockerfile") == "Dockerfile"
            found[build["args"]["SERVICE"]] = service | {"compose_name": name}
    return found


def env_example() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


@pytest.mark.parametrize("profiles", [[], ["--profile", "observability"]], ids=["default", "obs"])
def test_docker_compose_config_accepts_the_file(profiles: list[str]) -> None:
    result = compose(*profiles, "config", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "warn" not in result.stderr.lower(), result.stderr


def test_compose_binary_is_the_real_docker_compose() -> None:
    result = run([compose_binary(), "version"])
    assert result.returncode == 0
    assert re.search(r"Docker Compose version v2\.\d+", result.stdout), result.stdout


def test_defaults_in_the_compose_file_equal_env_example(tmp_path: Path) -> None:
    """`docker compose up` without a .env file runs exactly what .env.example describes."""
    empty = tmp_path / "empty.env"
    empty.write_text("")
    with_example = compose("--profile", "observability", "config")
    without = compose("--profile", "observability", "config", env_file=empty)
    assert with_example.returncode == without.returncode == 0, without.stderr
    assert with_example.stdout == without.stdout


def test_every_registered_service_runs_in_compose_and_nothing_else(
    registered: set[str], ring_services: dict[str, dict[str, Any]]
) -> None:
    assert set(ring_services) == registered
    for name, service in ring_services.items():
        assert service["compose_name"] == name
        assert service["image"].startswith(f"ring-{name}:")


def test_ring_services_are_hardened_and_wait_for_their_dependencies(
    ring_services: dict[str, dict[str, Any]],
) -> None:
    for name, service in ring_services.items():
        assert service["user"] == "10001:10001", name
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert any(t.startswith("/tmp") for t in service["tmpfs"]), name
        assert "/ready" in service["healthcheck"]["test"], name
        if name == "web":  # a client of the gateway only (decision 0017)
            assert set(service["depends_on"]) == {"gateway"}
            continue
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["depends_on"]["kafka-init"]["condition"] == "service_completed_successfully"


def test_ring_services_use_container_and_apache_kafka_settings(
    ring_services: dict[str, dict[str, Any]],
) -> None:
    for name, service in ring_services.items():
        env = service["environment"]
        assert env["RING_HTTP_HOST"] == "0.0.0.0"
        assert env["RING_HTTP_PORT"] == str(BASE_SERVICE_PORTS[name])
        published = {p["target"] for p in service.get("ports", [])}
        assert published <= {BASE_SERVICE_PORTS[name]}
        if name == "web":  # no database, no Kafka, no platform keys (decision 0017)
            assert not {v for v in env if "KAFKA" in v or "DATABASE" in v or "CIPHER" in v}
            assert "RING_GATEWAY_VERIFY_KEY" not in env
            continue
        assert env["RING_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert env["RING_KAFKA_ENABLE_IDEMPOTENCE"] == "true"
        assert env["RING_KAFKA_SESSION_TIMEOUT_MS"] == "45000"
        assert env["RING_KAFKA_HEARTBEAT_INTERVAL_MS"] == "3000"
        assert env["RING_TOPIC_REPLICATION"] == "1"
        assert env["RING_DATABASE_URL"].startswith("postgresql://")
        assert "@postgres:5432/" in env["RING_DATABASE_URL"]


def test_every_environment_name_is_a_ring_setting_or_the_image_own(
    config: dict[str, Any], ring_services: dict[str, dict[str, Any]]
) -> None:
    ring_compose_names = {s["compose_name"] for s in ring_services.values()}
    for name, service in config["services"].items():
        for variable in service.get("environment", {}):
            if name in ring_compose_names or variable.startswith("RING_"):
                assert variable in RING_VARIABLES, f"{name}: {variable} is read by no service"
            else:
                prefixes = THIRD_PARTY_PREFIXES[name]
                assert variable.startswith(prefixes), f"{name}: unexpected {variable}"


def test_env_example_names_only_settings_and_compose_variables() -> None:
    names = set(env_example())
    unknown = names - RING_VARIABLES - set(COMPOSE_ONLY_VARIABLES)
    assert not unknown, f".env.example names variables nobody reads: {sorted(unknown)}"
    referenced = set(re.findall(r"\$\{(\w+)", COMPOSE_FILE.read_text()))
    assert referenced == names, "compose file and .env.example must name the same variables"


def test_kafka_is_apache_kafka_in_kraft_mode_without_auto_created_topics(
    config: dict[str, Any],
) -> None:
    kafka = config["services"]["kafka"]
    assert re.fullmatch(r"apache/kafka:3\.9\.\d+", kafka["image"])
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert "INTERNAL://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    # a KRaft cluster id is a base64url UUID: 22 characters
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", env["CLUSTER_ID"])
    assert kafka["healthcheck"]["test"]
    init = config["services"]["kafka-init"]
    assert init["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert init["restart"] == "no"


def test_kafka_init_creates_every_ring_topic_with_event_retention() -> None:
    script = (ROOT / "deploy" / "compose" / "kafka-init.sh").read_text()
    declared = re.search(r'EVENT_TOPICS="([^"]+)"', script)
    assert declared, "kafka-init.sh declares no EVENT_TOPICS"
    events = set(declared.group(1).split())
    platform = re.search(r'PLATFORM_TOPICS="([^"]+)"', script)
    assert platform, "kafka-init.sh declares no PLATFORM_TOPICS"
    created = events | {f"{topic}.dlq" for topic in events} | set(platform.group(1).split())
    assert created == ALL_RING_TOPICS
    assert 'create "$topic" -1' in script  # event topics keep every record
    assert "cleanup.policy=delete" in script
    assert run(["sh", "-n", ROOT / "deploy" / "compose" / "kafka-init.sh"]).returncode == 0


def test_observability_profile_wires_collector_and_jaeger(config: dict[str, Any]) -> None:
    collector = config["services"]["otel-collector"]
    jaeger = config["services"]["jaeger"]
    assert collector["profiles"] == ["observability"]
    assert jaeger["profiles"] == ["observability"]
    assert collector["image"].startswith("otel/opentelemetry-collector-contrib:")
    assert jaeger["image"].startswith("jaegertracing/all-in-one:")
    collector_config = (ROOT / "deploy" / "compose" / "otel-collector.yaml").read_text()
    assert "0.0.0.0:4318" in collector_config  # OTLP/HTTP, what the services export to
    assert "jaeger:4317" in collector_config
    assert "http://otel-collector:4318" in ENV_EXAMPLE.read_text()


def test_default_profile_starts_no_observability_service() -> None:
    result = compose("config", "--services")
    assert result.returncode == 0, result.stderr
    assert set(OBSERVABILITY).isdisjoint(result.stdout.split())


def test_prometheus_scrapes_every_ring_service(
    config: dict[str, Any], ring_services: dict[str, dict[str, Any]]
) -> None:
    prometheus = config["services"]["prometheus"]
    assert prometheus["profiles"] == ["observability"]
    mounted = {v["source"]: v["target"] for v in prometheus["volumes"]}
    assert mounted[str(COMPOSE_DIR / "prometheus.yml")] == "/etc/prometheus/prometheus.yml"
    scrape = yaml.safe_load((COMPOSE_DIR / "prometheus.yml").read_text())
    (job,) = scrape["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    (targets,) = job["static_configs"]
    expected = {f"{s['compose_name']}:{BASE_SERVICE_PORTS[n]}" for n, s in ring_services.items()}
    assert set(targets["targets"]) == expected
    for service in ring_services.values():
        # Prometheus pulls: nothing pushes metrics to a collector that has no metrics pipeline.
        assert service["environment"]["OTEL_METRICS_EXPORTER"] == "none"


def test_grafana_shows_the_ring_dashboard_on_prometheus_and_jaeger(config: dict[str, Any]) -> None:
    grafana = config["services"]["grafana"]
    assert grafana["profiles"] == ["observability"]
    mounted = {v["source"]: v["target"] for v in grafana["volumes"]}
    assert mounted[str(GRAFANA_DIR / "ring.json")] == "/var/lib/grafana/dashboards/ring.json"
    assert mounted[str(GRAFANA_DIR / "provisioning")] == "/etc/grafana/provisioning"
    sources = yaml.safe_load((GRAFANA_DIR / "provisioning/datasources/ring.yaml").read_text())
    urls = {s["uid"]: s["url"] for s in sources["datasources"]}
    assert urls == {"prometheus": "http://prometheus:9090", "jaeger": "http://jaeger:16686"}
    providers = yaml.safe_load((GRAFANA_DIR / "provisioning/dashboards/ring.yaml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_the_dashboard_charts_lag_throughput_errors_and_saga_age_from_real_metrics() -> None:
    dashboard = json.loads((GRAFANA_DIR / "ring.json").read_text())
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    charted = {name for q in queries for name in re.findall(r"\b(?:ring|http_server)_[a-z_]+", q)}
    assert charted <= RING_PROMETHEUS_NAMES, charted - RING_PROMETHEUS_NAMES
    for needed in (
        "ring_consumer_lag",
        "ring_relay_lag",
        "ring_relay_published_total",
        "ring_consumer_applied_total",
        "ring_sagas_oldest_age_seconds",
        "ring_dead_letters",
    ):
        assert needed in charted, needed
    assert any('http_response_status_code=~"5.."' in q for q in queries)  # errors per route


def _filled_env_file(tmp_path: Path) -> Path:
    """.env.example followed by `ring keys` (later lines win), as docs/deploy.md says."""
    filled = tmp_path / "filled.env"
    keys = run([Path(sys.executable).parent / "ring", "keys"])
    assert keys.returncode == 0, keys.stderr
    filled.write_text(ENV_EXAMPLE.read_text() + keys.stdout)
    return filled


def test_ring_services_run_in_production_mode_without_usable_secrets(
    ring_services: dict[str, dict[str, Any]],
) -> None:
    """As shipped, no container may start: every secret is empty, nothing is published."""
    for name, service in ring_services.items():
        env = service["environment"]
        assert env["RING_ENV"] == "production", name
        problems = production_problems(name, ChainMap(env, DEFAULTS).__getitem__)
        assert any("not set" in p for p in problems), (name, problems)
        assert not any("published" in p for p in problems), (name, problems)
    text = COMPOSE_FILE.read_text() + ENV_EXAMPLE.read_text()
    assert PUBLISHED_CIPHER_KEY not in text
    assert "ring-dev-password" not in text


def test_ring_keys_fills_every_secret_each_process_needs(tmp_path: Path) -> None:
    """With `ring keys` appended to .env, every Ring container passes the production checks."""
    result = compose("config", "--format", "json", env_file=_filled_env_file(tmp_path))
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    for name in BASE_SERVICE_PORTS:
        env = services[name]["environment"]
        problems = production_problems(name, ChainMap(env, DEFAULTS).__getitem__)
        assert problems == [], (name, problems)
    assert "RING_GATEWAY_SIGNING_KEY" not in {
        v for name in BASE_SERVICE_PORTS if name != "gateway" for v in services[name]["environment"]
    }


def test_each_service_has_its_own_database_role_and_kafka_user(tmp_path: Path) -> None:
    result = compose("config", "--format", "json", env_file=_filled_env_file(tmp_path))
    services = json.loads(result.stdout)["services"]
    postgres_env = services["postgres"]["environment"]
    kafka_env = services["kafka"]["environment"]
    volumes = {v["target"] for v in services["postgres"]["volumes"]}
    assert "/docker-entrypoint-initdb.d/10-ring-roles.sh" in volumes
    users = set()
    for name in set(BASE_SERVICE_PORTS) - {"web"}:  # the web app opens neither
        env = services[name]["environment"]
        database = DatabaseAddress.parse(env["RING_DATABASE_URL"])
        assert database.user == f"ring_{name}"
        assert database.password == postgres_env[f"POSTGRES_{name.upper()}_PASSWORD"]
        if name != "gateway":
            assert env["RING_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
            assert env["RING_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
            assert env["RING_KAFKA_SASL_USERNAME"] == f"ring-{name}"
            assert env["RING_KAFKA_SASL_PASSWORD"] == kafka_env[f"SCRAM_{name.upper()}_PASSWORD"]
            users.add(env["RING_KAFKA_SASL_USERNAME"])
    assert len(users) == len(BASE_SERVICE_PORTS) - 2
    protocols = dict(
        pair.split(":") for pair in kafka_env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    assert protocols["INTERNAL"] == protocols["EXTERNAL"] == "SASL_PLAINTEXT"
    assert kafka_env["KAFKA_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
    kafka_users = re.search(r'SERVICES="([^"]+)"', (COMPOSE_DIR / "kafka-start.sh").read_text())
    roles = re.search(r'SERVICES="([^"]+)"', (COMPOSE_DIR / "postgres-roles.sh").read_text())
    assert kafka_users
    assert {f"ring-{n}" for n in kafka_users.group(1).split()} == users
    assert roles
    assert set(roles.group(1).split()) == set(BASE_SERVICE_PORTS) - {"web"}
    assert run(["bash", "-n", COMPOSE_DIR / "kafka-start.sh"]).returncode == 0
    assert run(["sh", "-n", COMPOSE_DIR / "postgres-roles.sh"]).returncode == 0
