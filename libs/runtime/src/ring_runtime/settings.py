"""Settings read from environment variables, each with a documented default.

Every process of Ring reads its configuration here and nowhere else. The table in the
README is generated from :data:`ENVIRONMENT` (``ring settings``), so the documentation and the
code cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import msgspec
from iso4217 import Currency

from ring_runtime.production import (
    ENVIRONMENTS,
    PRODUCTION,
    ProductionRefused,
    production_problems,
)

#: Base HTTP port of each process (the gateway is the public face on 8000).
BASE_SERVICE_PORTS: dict[str, int] = {
    "gateway": 8000,
    "task": 8101,
    "matching": 8102,
    "voucher": 8103,
    "ledger": 8104,
    "dispute": 8105,
    "notification": 8106,
    "web": 8080,
}

#: Default HTTP port of each process: the base port plus ``RING_PORT_OFFSET``, so that two
#: platforms (two checkouts running their end-to-end tests, say) can share one machine.
SERVICE_PORTS: dict[str, int] = {
    name: port + int(os.environ.get("RING_PORT_OFFSET", "0") or "0")
    for name, port in BASE_SERVICE_PORTS.items()
}


@dataclass(frozen=True)
class Variable:
    """One environment variable Ring reads."""

    name: str
    default: str
    description: str


#: Every environment variable Ring reads, with its default and meaning.
ENVIRONMENT: tuple[Variable, ...] = (
    Variable(
        "RING_ENV",
        "development",
        "`development` (zero-config, development keys under RING_DATA_DIR) or `production`: "
        "refuse to start on a missing, short or published secret, the simulated payment "
        "provider or an allow-everything setting (docs/deploy.md).",
    ),
    Variable(
        "RING_DATABASE_URL",
        "postgresql://postgres@127.0.0.1:54320/ring",
        "PostgreSQL URL (psycopg 3). Each service keeps its events in its own schema.",
    ),
    Variable(
        "RING_DB_SCHEMA",
        "",
        "Schema of this process's event store and read models; empty means the service name.",
    ),
    Variable(
        "RING_KAFKA_BOOTSTRAP", "127.0.0.1:19092", "Kafka bootstrap servers, comma separated."
    ),
    Variable(
        "RING_KAFKA_ENABLE_IDEMPOTENCE",
        "false",
        "Idempotent producer; turn on with Apache Kafka (the embedded Tansu broker rejects it).",
    ),
    Variable(
        "RING_KAFKA_SESSION_TIMEOUT_MS",
        "2000",
        "Consumer group session timeout; a group join takes half of it on Tansu. Kafka: 45000.",
    ),
    Variable(
        "RING_KAFKA_SECURITY_PROTOCOL",
        "PLAINTEXT",
        "PLAINTEXT (development: the embedded broker), SASL_PLAINTEXT or SASL_SSL; production "
        "refuses PLAINTEXT, so every service authenticates to Kafka.",
    ),
    Variable(
        "RING_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512", "SASL mechanism: SCRAM-SHA-512 or -256."
    ),
    Variable(
        "RING_KAFKA_SASL_USERNAME", "", "Kafka user of this service (one per service, ACL'd)."
    ),
    Variable("RING_KAFKA_SASL_PASSWORD", "", "Password of RING_KAFKA_SASL_USERNAME (`ring keys`)."),
    Variable("RING_KAFKA_HEARTBEAT_INTERVAL_MS", "500", "Consumer group heartbeat. Kafka: 3000."),
    Variable(
        "RING_KAFKA_FETCH_MAX_WAIT_MS",
        "100",
        "Longest a consumer's fetch waits for new records. Tansu does not end the wait when "
        "records arrive, so it bounds the consumer hop there (measured: 500 → ~110 ms, 100 → "
        "~20 ms per hop; 50 costs Tansu 3x the idle CPU). Kafka: 500.",
    ),
    Variable(
        "RING_TOPIC_PARTITIONS", "4", "Partitions of each context topic when Ring creates it."
    ),
    Variable("RING_TOPIC_REPLICATION", "1", "Replication factor of topics Ring creates."),
    Variable("RING_HTTP_HOST", "127.0.0.1", "Address the process's HTTP API binds to."),
    Variable(
        "RING_HTTP_PORT",
        "",
        "Port of the process's HTTP API; empty means the service default "
        "(gateway 8000, task 8101, matching 8102, voucher 8103, ledger 8104, dispute 8105, "
        "notification 8106, web 8080).",
    ),
    Variable(
        "RING_PORT_OFFSET",
        "0",
        "Added to every default service port (and to the gateway's upstream URLs under "
        "`ring run`), so that two platforms can run side by side on one machine.",
    ),
    Variable("RING_RELAY_BATCH_SIZE", "500", "Notifications the outbox relay reads per batch."),
    Variable(
        "RING_RELAY_POLL_INTERVAL_MS",
        "500",
        "Longest idle wait of the relay between store reads; a commit wakes it at once "
        "(PostgreSQL LISTEN/NOTIFY).",
    ),
    Variable(
        "RING_RELAY_LOSS_CHECK_INTERVAL_MS",
        "2000",
        "How often an idle relay checks that the broker still holds its loss marker (it also "
        "checks before every publish).",
    ),
    Variable(
        "RING_AUDIT_CHECKPOINT_INTERVAL_MS",
        "5000",
        "How often a service signs the head of its event store's Merkle tree (when it grew) and "
        "publishes the checkpoint to ring.audit.checkpoints; edits since the last one are "
        "caught only by the copy of the tree in the same database.",
    ),
    Variable(
        "RING_AUDIT_SIGNING_KEY",
        "",
        "Services with an event store: base64 Ed25519 private key signing audit checkpoints "
        "(`ring keys`); production requires it; empty in development means a key pair under "
        "RING_DATA_DIR.",
    ),
    Variable(
        "RING_AUDIT_VERIFY_KEY",
        "",
        "Public key of RING_AUDIT_SIGNING_KEY that `ring audit verify` checks checkpoints "
        "with; empty in development means the pair under RING_DATA_DIR.",
    ),
    Variable(
        "RING_CONSUMER_MAX_ATTEMPTS", "5", "Attempts at one message before it is dead-lettered."
    ),
    Variable(
        "RING_CONSUMER_BACKOFF_MS", "100", "First retry delay; doubles per attempt, capped at 5 s."
    ),
    Variable(
        "RING_CATCH_UP_TIMEOUT_MS",
        "2000",
        "Longest wait of a request for a projection of another context to catch up with its "
        "owner before the answer is 503 `catching_up` with Retry-After (decision 0009).",
    ),
    Variable(
        "RING_PLATFORM_FEE_BPS",
        "500",
        "Platform fee per slot in basis points (500 = 5 %), charged to Party A on top of the "
        "commission; fixed on each task when it is drafted.",
    ),
    Variable("CIPHER_TOPIC", "", "Set to eventsourcing.cryptography:AESCipher to encrypt events."),
    Variable("CIPHER_KEY", "", "Base64 AES key for CIPHER_TOPIC (`ring keys cipher` makes one)."),
    Variable(
        "RING_DATA_DIR",
        ".ring",
        "Where the embedded PostgreSQL (and Apache Kafka, RING_BROKER=kafka) keep their data.",
    ),
    Variable("RING_EMBEDDED_PG_PORT", "54320", "Port of the embedded PostgreSQL (`make run`)."),
    Variable(
        "RING_EMBEDDED_KAFKA_PORT", "19092", "Client port of the embedded broker (`make run`)."
    ),
    Variable(
        "RING_BROKER",
        "tansu",
        "Embedded broker of `make run`: `tansu` (in memory, starts in ms) or `kafka` (Apache "
        "Kafka 4.4 in KRaft mode, data under RING_DATA_DIR; needs Java 17+ and Maven).",
    ),
    Variable(
        "RING_KAFKA_JARS",
        ".ring/kafka",
        "Where Maven's Apache Kafka jars are kept for RING_BROKER=kafka and the Kafka test lane.",
    ),
    Variable(
        "RING_EMBEDDED",
        "true",
        "`make run` starts embedded PostgreSQL and the broker (RING_BROKER); false uses the URLs "
        "above as they are.",
    ),
    Variable(
        "RING_FORK_SERVER",
        "true",
        "`ring run` forks every service from one process that imported them all (a killed "
        "service answers again within seconds); false starts each as its own program.",
    ),
    Variable("RING_LOG_LEVEL", "INFO", "Python log level."),
    Variable(
        "RING_LOG_FORMAT",
        "",
        "`text` (readable lines) or `json` (one JSON object a line with service, trace_id, "
        "span_id and correlation_id); empty means `json` in production, `text` otherwise.",
    ),
    Variable("OTEL_SERVICE_NAME", "", "Service name on traces; empty means ring-<service>."),
    Variable(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "",
        "OTLP/HTTP collector; traces and metrics are exported only when this is set (metrics "
        "are always on `GET /metrics` as Prometheus text).",
    ),
    Variable(
        "OTEL_METRICS_EXPORTER",
        "otlp",
        "`otlp`: metrics are also pushed to the OTLP endpoint; `none`: only scraped from "
        "`GET /metrics` (compose and Kubernetes, where Prometheus pulls).",
    ),
    Variable(
        "RING_TRACE_SQL",
        "false",
        "A span for every SQL statement (psycopg instrumentation); off by default for its cost.",
    ),
    Variable(
        "RING_BLOB_STORE",
        "fs",
        "Where voucher files are kept: `fs` (content-addressed files under RING_BLOB_DIR) or "
        "`s3` (an S3-compatible bucket, RING_S3_*).",
    ),
    Variable("RING_BLOB_DIR", ".ring/blobs", "Root directory of the filesystem blob store."),
    Variable(
        "RING_S3_ENDPOINT",
        "",
        "S3-compatible endpoint URL (e.g. https://s3.eu-central-1.amazonaws.com or a MinIO URL); "
        "path-style addressing.",
    ),
    Variable("RING_S3_BUCKET", "", "Bucket of the S3 blob store."),
    Variable("RING_S3_ACCESS_KEY", "", "Access key id of the S3 blob store."),
    Variable("RING_S3_SECRET_KEY", "", "Secret access key of the S3 blob store."),
    Variable("RING_S3_REGION", "us-east-1", "Region used to sign S3 requests (SigV4)."),
    Variable(
        "RING_VOUCHER_MAX_FILE_BYTES",
        "10485760",
        "Largest voucher file accepted, in bytes (10 MiB); larger uploads get 413.",
    ),
    Variable("RING_VOUCHER_MAX_FILES", "10", "Most files one voucher may carry."),
    Variable(
        "RING_VOUCHER_REVIEW_WINDOW_HOURS",
        "72",
        "Hours Party A has to review a voucher before it is approved automatically.",
    ),
    Variable(
        "RING_MATCHING_MAX_SCAN",
        "500",
        "Most open tasks (newest first) scored for one provider's recommendations.",
    ),
    Variable(
        "RING_TIMER_POLL_INTERVAL_MS",
        "1000",
        "How often a service's durable timers are checked for due ones.",
    ),
    Variable(
        "RING_PAYMENTS_PROVIDER",
        "simulated",
        "Ledger payment provider: simulated (confirms deposits at once) or webhook (deposits stay "
        "pending until POST /payments/webhook confirms them).",
    ),
    Variable(
        "RING_CURRENCIES",
        "CNY,USD,EUR,GBP,JPY,HKD,SGD,AUD,CAD,CHF,KRW,TWD,MOP",
        "ISO 4217 codes money may be deposited, withdrawn and offered in (gateway, task and "
        "ledger services), comma separated; codes without minor units (XXX, XAU…) are refused.",
    ),
    Variable(
        "RING_PAYMENTS_WEBHOOK_SECRET",
        "",
        "HMAC-SHA256 secret of the ledger's payment webhook (X-Ring-Signature); empty refuses it.",
    ),
    Variable(
        "RING_WITHDRAWAL_CLEARANCE_HOURS",
        "24",
        "Whole hours a payout waits between request and payment (then `ring ledger payouts`).",
    ),
    Variable(
        "RING_JWT_SECRET",
        "",
        "Gateway: HMAC key (HS256) signing access and refresh tokens. Production must set it "
        "(32+ random bytes); empty means a development key generated once under RING_DATA_DIR.",
    ),
    Variable(
        "RING_GATEWAY_SIGNING_KEY",
        "",
        "Gateway only: base64 Ed25519 private key signing the actor assertion it sends every "
        "service (`ring keys`); empty in development means a key pair under RING_DATA_DIR.",
    ),
    Variable(
        "RING_GATEWAY_VERIFY_KEY",
        "",
        "Services: base64 Ed25519 public key of RING_GATEWAY_SIGNING_KEY; a request without an "
        "assertion it verifies gets 401. Empty in development: the pair under RING_DATA_DIR.",
    ),
    Variable(
        "RING_TRUSTED_PROXIES",
        "127.0.0.1",
        "Gateway: comma-separated addresses or CIDRs of proxies whose X-Forwarded-For names the "
        "client (the ingress); `*` trusts anyone and is refused in production.",
    ),
    Variable("RING_JWT_ISSUER", "ring-gateway", "Gateway: `iss` of the tokens it issues."),
    Variable("RING_JWT_AUDIENCE", "ring-api", "Gateway: `aud` of the tokens it issues."),
    Variable("RING_ACCESS_TOKEN_MINUTES", "15", "Gateway: lifetime of an access token."),
    Variable("RING_REFRESH_TOKEN_DAYS", "14", "Gateway: lifetime of a refresh token."),
    Variable(
        "RING_TASK_URL",
        "http://127.0.0.1:8101",
        "Base URL of the task-service; asked by the gateway and catch-ups.",
    ),
    Variable(
        "RING_MATCHING_URL",
        "http://127.0.0.1:8102",
        "Base URL of the matching-service; asked by the gateway and catch-ups.",
    ),
    Variable(
        "RING_VOUCHER_URL",
        "http://127.0.0.1:8103",
        "Base URL of the voucher-service; asked by the gateway and catch-ups.",
    ),
    Variable(
        "RING_LEDGER_URL",
        "http://127.0.0.1:8104",
        "Base URL of the ledger-service; asked by the gateway and catch-ups.",
    ),
    Variable(
        "RING_IDEMPOTENCY_TTL_HOURS",
        "24",
        "Gateway: hours an Idempotency-Key and its first response are kept (PostgreSQL).",
    ),
    Variable(
        "RING_AUTH_RATE_LIMIT_PER_MINUTE",
        "10",
        "Gateway: registrations and logins per minute allowed per client IP, and per account "
        "from one client IP (a guesser elsewhere never locks the owner out).",
    ),
    Variable(
        "RING_REFRESH_RATE_LIMIT_PER_MINUTE",
        "30",
        "Gateway: token refreshes and logouts per minute per client IP (its own bucket).",
    ),
    Variable(
        "RING_PII_KEY",
        "",
        "Gateway: base64 key (32 bytes) encrypting personal data at rest (AES-GCM) and keying "
        "email lookups (HMAC); production must set it, empty means a development key under "
        "RING_DATA_DIR (`ring keys cipher` makes one).",
    ),
    Variable(
        "RING_DISPUTE_RESPONSE_DAYS",
        "5",
        "Days the other party has to respond to a dispute before it goes to arbitration.",
    ),
    Variable(
        "RING_DISPUTE_ARBITRATION_DAYS",
        "3",
        "Days arbitration may take before a dispute is flagged overdue in the admin queue.",
    ),
    Variable(
        "RING_DISPUTE_URL",
        "http://127.0.0.1:8105",
        "Base URL of the dispute-service; asked by the gateway and catch-ups.",
    ),
    Variable(
        "RING_NOTIFICATION_URL",
        "http://127.0.0.1:8106",
        "Gateway: base URL of the notification-service.",
    ),
    Variable(
        "RING_ENV",
        "development",
        "`production` or `development`. Production refuses unsafe settings; webhooks then "
        "accept only HTTPS targets outside loopback, private and link-local networks.",
    ),
    Variable(
        "RING_WEBHOOK_FIRST_RETRY_MS",
        "10000",
        "Delay before a failed webhook delivery is retried; doubles per attempt.",
    ),
    Variable(
        "RING_WEBHOOK_MAX_RETRY_MS",
        "21600000",
        "Longest delay between two attempts at a webhook delivery (6 h).",
    ),
    Variable(
        "RING_WEBHOOK_MAX_ATTEMPTS",
        "20",
        "Attempts at one webhook delivery before it is marked failed (about 2.5 days).",
    ),
    Variable(
        "RING_WEBHOOK_TIMEOUT_MS",
        "10000",
        "How long a webhook receiver may take to answer one delivery.",
    ),
    Variable(
        "RING_WEBHOOK_DISABLE_AFTER_FAILURES",
        "20",
        "Consecutive failed attempts after which a webhook endpoint may be disabled...",
    ),
    Variable(
        "RING_WEBHOOK_DISABLE_AFTER_HOURS",
        "72",
        "...once its failures have lasted this many hours (0: at once); the party is notified.",
    ),
    Variable(
        "RING_WEBHOOK_POLL_INTERVAL_MS",
        "500",
        "How often the notification service looks for due webhook deliveries.",
    ),
    Variable(
        "RING_GATEWAY_URL",
        "http://127.0.0.1:8000",
        "Web app: base URL of the public gateway API (`ring run` points it at its gateway).",
    ),
    Variable(
        "RING_WEB_SESSION_KEY",
        "",
        "Web app: base64 key (32 bytes) encrypting the session cookie that holds the gateway "
        "tokens; production requires it (`ring keys`). In development, empty means one derived "
        "from CIPHER_KEY, else a development key under RING_DATA_DIR.",
    ),
    Variable(
        "RING_WEB_SECURE_COOKIES",
        "true",
        "Web app: mark session and CSRF cookies Secure (HTTPS only; browsers still send them to "
        "http://127.0.0.1 and localhost).",
    ),
)

_DEFAULTS = {v.name: v.default for v in ENVIRONMENT}
#: ``RING_CURRENCIES`` when unset.
DEFAULT_CURRENCIES = _DEFAULTS["RING_CURRENCIES"]


class DatabaseAddress(msgspec.Struct, frozen=True, kw_only=True):
    """Connection parts of a PostgreSQL URL."""

    host: str
    port: int
    user: str
    password: str
    dbname: str

    @classmethod
    def parse(cls, url: str) -> DatabaseAddress:
        """Split ``postgresql://user:password@host:port/dbname`` into its parts."""
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres"):
            raise SettingsError(f"RING_DATABASE_URL must start with postgresql://, got {url!r}")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            dbname=(parts.path or "/").lstrip("/") or "postgres",
        )

    def url(self, dbname: str | None = None) -> str:
        """Return the address as a libpq connection URL."""
        auth = self.user if not self.password else f"{self.user}:{self.password}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{dbname or self.dbname}"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Configuration of one Ring process."""

    service: str
    environment: str
    database_url: str
    db_schema: str
    kafka_bootstrap: str
    kafka_enable_idempotence: bool
    kafka_session_timeout_ms: int
    kafka_heartbeat_interval_ms: int
    kafka_fetch_max_wait_ms: int = 100
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    kafka_sasl_username: str = ""
    kafka_sasl_password: str = ""
    topic_partitions: int
    topic_replication: int
    http_host: str
    http_port: int
    relay_batch_size: int
    relay_poll_interval_ms: int
    relay_loss_check_interval_ms: int
    consumer_max_attempts: int
    consumer_backoff_ms: int
    catch_up_timeout_ms: int = 2000
    service_urls: dict[str, str] = msgspec.field(default_factory=dict)
    cipher_topic: str
    cipher_key: str
    data_dir: str
    log_level: str
    gateway_verify_key: str = ""
    trusted_proxies: str = "127.0.0.1"
    audit_checkpoint_interval_ms: int = 5000
    audit_signing_key: str = ""
    audit_verify_key: str = ""
    currencies: frozenset[str] = msgspec.field(
        default_factory=lambda: supported_currencies(DEFAULT_CURRENCIES)
    )
    log_format: str = "text"
    trace_sql: bool = False

    @property
    def production(self) -> bool:
        """Whether this process runs with ``RING_ENV=production``."""
        return self.environment == PRODUCTION

    @property
    def kafka_servers(self) -> list[str]:
        """``RING_KAFKA_BOOTSTRAP`` as a list: faststream takes a string as one single host."""
        return [server.strip() for server in self.kafka_bootstrap.split(",") if server.strip()]

    @property
    def database(self) -> DatabaseAddress:
        """The parsed database address."""
        return DatabaseAddress.parse(self.database_url)

    def eventsourcing_env(self) -> dict[str, str]:
        """Environment for an ``eventsourcing`` Application on this service's schema."""
        db = self.database
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": db.dbname,
            "POSTGRES_HOST": db.host,
            "POSTGRES_PORT": str(db.port),
            "POSTGRES_USER": db.user,
            "POSTGRES_PASSWORD": db.password,
            "POSTGRES_SCHEMA": self.db_schema,
            "POSTGRES_POOL_SIZE": "5",
            "POSTGRES_MAX_OVERFLOW": "10",
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "30",
            "POSTGRES_PRE_PING": "y",  # checked by a socket read, see ring_runtime.connections
            "CREATE_TABLE": "y",
            "PROCESS_RECORDER_TOPIC": "ring_runtime.recorder:RingProcessRecorder",
        }
        if self.cipher_topic:
            env["CIPHER_TOPIC"] = self.cipher_topic
            env["CIPHER_KEY"] = self.cipher_key
        return env


class SettingsError(ValueError):
    """An environment variable holds a value Ring cannot use."""


def _flag(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "y", "on"):
        return True
    if lowered in ("0", "false", "no", "n", "off", ""):
        return False
    raise SettingsError(f"{name} must be true or false, got {value!r}")


def _int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {value!r}") from None


def whole_number(environ: Mapping[str, str], name: str, minimum: int = 1) -> int:
    """``name`` read from ``environ`` (its declared default when unset) as a whole number of at
    least ``minimum``: how every service's ``config.py`` reads its numbers.

    Raises:
        SettingsError: the value is not an integer, or is below ``minimum``.
    """
    value = _int(name, environ.get(name, _DEFAULTS[name]))
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise SettingsError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def supported_currencies(value: str) -> frozenset[str]:
    """The currencies named by ``RING_CURRENCIES``: ISO 4217 codes that have minor units.

    ``XXX`` (no currency), ``XTS`` (testing), precious metals and other units without minor
    units are ISO 4217 codes but not money Ring can count in integer minor units.

    Raises:
        SettingsError: a code is not such a currency, or none is named.
    """
    codes = frozenset(code.strip() for code in value.split(",") if code.strip())
    if not codes:
        raise SettingsError("RING_CURRENCIES names no currency")
    for code in sorted(codes):
        try:
            minor_digits = Currency(code).exponent
        except ValueError:
            raise SettingsError(f"RING_CURRENCIES: {code!r} is not an ISO 4217 code") from None
        if minor_digits is None:
            raise SettingsError(f"RING_CURRENCIES: {code!r} is not a currency with minor units")
    return codes


def load_settings(service: str, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings of ``service`` from ``environ`` (default: the process environment).

    Raises:
        SettingsError: a variable is set to a value that cannot be used; the message names it.
    """
    source = os.environ if environ is None else environ

    def get(name: str) -> str:
        return source.get(name, _DEFAULTS[name])

    environment = get("RING_ENV")
    if environment not in ENVIRONMENTS:
        raise SettingsError(
            f"RING_ENV must be one of {', '.join(ENVIRONMENTS)}, got {environment!r}"
        )
    if environment == PRODUCTION:
        problems = production_problems(service, get)
        if problems:
            raise SettingsError(str(ProductionRefused(problems)))
    cipher_topic = get("CIPHER_TOPIC")
    if cipher_topic and not get("CIPHER_KEY"):
        raise SettingsError("CIPHER_TOPIC is set but CIPHER_KEY is empty; run `ring keys cipher`")
    port = get("RING_HTTP_PORT")
    return Settings(
        service=service,
        environment=environment,
        database_url=get("RING_DATABASE_URL"),
        db_schema=get("RING_DB_SCHEMA") or service.replace("-", "_"),
        kafka_bootstrap=get("RING_KAFKA_BOOTSTRAP"),
        kafka_enable_idempotence=_flag(
            "RING_KAFKA_ENABLE_IDEMPOTENCE", get("RING_KAFKA_ENABLE_IDEMPOTENCE")
        ),
        kafka_session_timeout_ms=_int(
            "RING_KAFKA_SESSION_TIMEOUT_MS", get("RING_KAFKA_SESSION_TIMEOUT_MS")
        ),
        kafka_heartbeat_interval_ms=_int(
            "RING_KAFKA_HEARTBEAT_INTERVAL_MS", get("RING_KAFKA_HEARTBEAT_INTERVAL_MS")
        ),
        kafka_fetch_max_wait_ms=_int(
            "RING_KAFKA_FETCH_MAX_WAIT_MS", get("RING_KAFKA_FETCH_MAX_WAIT_MS")
        ),
        kafka_security_protocol=_choice(
            "RING_KAFKA_SECURITY_PROTOCOL",
            get("RING_KAFKA_SECURITY_PROTOCOL"),
            ("PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"),
        ),
        kafka_sasl_mechanism=_choice(
            "RING_KAFKA_SASL_MECHANISM",
            get("RING_KAFKA_SASL_MECHANISM"),
            ("SCRAM-SHA-512", "SCRAM-SHA-256"),
        ),
        kafka_sasl_username=get("RING_KAFKA_SASL_USERNAME"),
        kafka_sasl_password=get("RING_KAFKA_SASL_PASSWORD"),
        topic_partitions=_int("RING_TOPIC_PARTITIONS", get("RING_TOPIC_PARTITIONS")),
        topic_replication=_int("RING_TOPIC_REPLICATION", get("RING_TOPIC_REPLICATION")),
        http_host=get("RING_HTTP_HOST"),
        http_port=_int("RING_HTTP_PORT", port) if port else SERVICE_PORTS.get(service, 8100),
        relay_batch_size=_int("RING_RELAY_BATCH_SIZE", get("RING_RELAY_BATCH_SIZE")),
        relay_poll_interval_ms=_int(
            "RING_RELAY_POLL_INTERVAL_MS", get("RING_RELAY_POLL_INTERVAL_MS")
        ),
        relay_loss_check_interval_ms=_int(
            "RING_RELAY_LOSS_CHECK_INTERVAL_MS", get("RING_RELAY_LOSS_CHECK_INTERVAL_MS")
        ),
        consumer_max_attempts=_int("RING_CONSUMER_MAX_ATTEMPTS", get("RING_CONSUMER_MAX_ATTEMPTS")),
        consumer_backoff_ms=_int("RING_CONSUMER_BACKOFF_MS", get("RING_CONSUMER_BACKOFF_MS")),
        catch_up_timeout_ms=_int("RING_CATCH_UP_TIMEOUT_MS", get("RING_CATCH_UP_TIMEOUT_MS")),
        service_urls={
            name: get(f"RING_{name.upper()}_URL").rstrip("/")
            for name in ("task", "matching", "voucher", "ledger", "dispute")
        },
        cipher_topic=cipher_topic,
        cipher_key=get("CIPHER_KEY"),
        data_dir=get("RING_DATA_DIR"),
        log_level=get("RING_LOG_LEVEL"),
        gateway_verify_key=get("RING_GATEWAY_VERIFY_KEY"),
        trusted_proxies=get("RING_TRUSTED_PROXIES"),
        audit_checkpoint_interval_ms=_int(
            "RING_AUDIT_CHECKPOINT_INTERVAL_MS", get("RING_AUDIT_CHECKPOINT_INTERVAL_MS")
        ),
        audit_signing_key=get("RING_AUDIT_SIGNING_KEY"),
        audit_verify_key=get("RING_AUDIT_VERIFY_KEY"),
        currencies=supported_currencies(get("RING_CURRENCIES")),
        log_format=_choice(
            "RING_LOG_FORMAT",
            get("RING_LOG_FORMAT") or ("json" if environment == PRODUCTION else "text"),
            ("text", "json"),
        ),
        trace_sql=_flag("RING_TRACE_SQL", get("RING_TRACE_SQL")),
    )
