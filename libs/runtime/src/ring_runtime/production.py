"""Production mode: a process refuses to start on settings that are only safe on a laptop.

``RING_ENV=production`` (what docker-compose.yml and the Kubernetes overlays run) turns every
convenience of development into a startup error: a secret that is missing, too short or a
value published in this repository, derived keys, the simulated payment provider, and
allow-everything settings. ``development`` (the default) stays zero-config: ``make run``
generates development keys under ``RING_DATA_DIR``.

The checks read raw variables, so one function covers every process (services, gateway, CLI
commands); :func:`ring_runtime.settings.load_settings` calls it. Decision 0012 lists the rules.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

DEVELOPMENT, PRODUCTION = "development", "production"
ENVIRONMENTS = (DEVELOPMENT, PRODUCTION)

#: Shortest secret accepted in production, in characters (HMAC keys, passwords).
MIN_SECRET_CHARS = 32

#: CIPHER_KEY that docker-compose.yml, .env.example and the k8s dev overlay used to ship.
PUBLISHED_CIPHER_KEY = "cmluZy1kZXYtb25seS1OT1QtQS1TRUNSRVQta2V5ISE="

#: Processes with no event store: nothing of theirs is chained or signed (decision 0016).
WITHOUT_EVENT_STORE = frozenset({"notification", "web"})

#: Labels the gateway once used to derive its keys from CIPHER_KEY (decision 0008).
_DERIVATION_LABELS = (b"ring-gateway jwt v1", b"ring-gateway pii v1")


def _derived(cipher_key: str, label: bytes) -> str:
    material = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(
        cipher_key.encode()
    )
    return base64.b64encode(material).decode()


#: Values anyone can read in this repository's history: never a production secret.
KNOWN_DEVELOPMENT_VALUES = frozenset(
    {
        PUBLISHED_CIPHER_KEY,
        "ring-dev-password",
        "ring",
        "postgres",
        "password",
        "secret",
        *(_derived(PUBLISHED_CIPHER_KEY, label) for label in _DERIVATION_LABELS),
    }
)
_PLACEHOLDER_MARKERS = ("replace", "change-me", "changeme", "example", "dev-only", "not-a-secret")


class ProductionRefused(ValueError):
    """``RING_ENV=production`` and at least one setting is unsafe; ``problems`` lists each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        listed = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(
            "RING_ENV=production refuses to start:\n"
            f"{listed}\n"
            "Generate fresh secrets with `ring keys` and see docs/deploy.md."
        )


def _known(value: str) -> bool:
    lowered = value.lower()
    return value in KNOWN_DEVELOPMENT_VALUES or any(m in lowered for m in _PLACEHOLDER_MARKERS)


def _secret(name: str, value: str, problems: list[str]) -> None:
    """A shared secret: set, at least :data:`MIN_SECRET_CHARS`, not a published value."""
    if not value:
        problems.append(f"{name} is not set")
    elif _known(value):
        problems.append(f"{name} is a published development value")
    elif len(value) < MIN_SECRET_CHARS:
        problems.append(f"{name} is too short ({len(value)} < {MIN_SECRET_CHARS} characters)")


def _key(name: str, value: str, problems: list[str], size: int = 32) -> None:
    """A base64 key of ``size`` bytes, not a published value."""
    if not value:
        problems.append(f"{name} is not set")
        return
    if _known(value):
        problems.append(f"{name} is a published development value")
        return
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        problems.append(f"{name} is not base64")
        return
    if len(decoded) < size:
        problems.append(f"{name} is too short ({len(decoded)} < {size} bytes)")


def _database_password(url: str, problems: list[str]) -> None:
    from ring_runtime.settings import DatabaseAddress, SettingsError

    try:
        password = DatabaseAddress.parse(url).password
    except SettingsError as error:
        problems.append(str(error))
        return
    if not password:
        problems.append("RING_DATABASE_URL has no password")
    elif _known(password):
        problems.append("RING_DATABASE_URL holds a published development password")
    elif len(password) < 16:
        problems.append("RING_DATABASE_URL's password is too short (< 16 characters)")


def production_problems(service: str, get: Callable[[str], str]) -> list[str]:
    """Every reason ``service`` must not start in production with the variables ``get`` reads.

    Args:
        service: the process (``gateway``, ``ledger``…): some secrets belong to one process.
        get: a variable's value, its default when unset.
    """
    if service == "web":
        return _web_problems(get)
    problems: list[str] = []
    if not get("CIPHER_TOPIC"):
        problems.append("CIPHER_TOPIC is empty: events must be encrypted at rest")
    _key("CIPHER_KEY", get("CIPHER_KEY"), problems)
    _database_password(get("RING_DATABASE_URL"), problems)
    if service not in WITHOUT_EVENT_STORE:
        _audit_signing_key(get, problems)
    if get("RING_PAYMENTS_PROVIDER") == "simulated":
        problems.append("RING_PAYMENTS_PROVIDER is `simulated` (confirms any deposit at once)")
    if service == "ledger" and get("RING_PAYMENTS_PROVIDER") == "webhook":
        _secret("RING_PAYMENTS_WEBHOOK_SECRET", get("RING_PAYMENTS_WEBHOOK_SECRET"), problems)
    if service == "gateway":
        problems += _gateway_problems(get)
    else:
        if get("RING_KAFKA_SECURITY_PROTOCOL") == "PLAINTEXT":
            problems.append("RING_KAFKA_SECURITY_PROTOCOL is PLAINTEXT: Kafka needs SASL")
        elif not get("RING_KAFKA_SASL_USERNAME"):
            problems.append("RING_KAFKA_SASL_USERNAME is not set")
        else:
            _secret("RING_KAFKA_SASL_PASSWORD", get("RING_KAFKA_SASL_PASSWORD"), problems)
        _key("RING_GATEWAY_VERIFY_KEY", get("RING_GATEWAY_VERIFY_KEY"), problems)
        _no_signing_key(get, problems)
    _no_wildcard_proxies(get, problems)
    return problems


def _web_problems(get: Callable[[str], str]) -> list[str]:
    """The web app talks only to the gateway's public API (decision 0014): it opens no
    database, broker or event store and checks no assertion, so it holds one secret, the key
    of its session cookies, and nothing it does not use (decision 0017)."""
    problems: list[str] = []
    _key("RING_WEB_SESSION_KEY", get("RING_WEB_SESSION_KEY"), problems)
    _no_signing_key(get, problems)
    _no_wildcard_proxies(get, problems)
    return problems


def _audit_signing_key(get: Callable[[str], str], problems: list[str]) -> None:
    """The key signing tamper-evidence checkpoints must be the operator's: the development pair
    is made per data directory, so every replica (and every fresh volume) would sign with a key
    of its own that no auditor holds, and the signatures would prove nothing."""
    signing = get("RING_AUDIT_SIGNING_KEY")
    _key("RING_AUDIT_SIGNING_KEY", signing, problems)
    if signing and signing == get("RING_GATEWAY_SIGNING_KEY"):
        problems.append("RING_AUDIT_SIGNING_KEY is RING_GATEWAY_SIGNING_KEY: give each its own")


def _no_signing_key(get: Callable[[str], str], problems: list[str]) -> None:
    if get("RING_GATEWAY_SIGNING_KEY"):
        problems.append("RING_GATEWAY_SIGNING_KEY is set: only the gateway may hold it")


def _no_wildcard_proxies(get: Callable[[str], str], problems: list[str]) -> None:
    if "*" in get("RING_TRUSTED_PROXIES").split(","):
        problems.append("RING_TRUSTED_PROXIES is `*`: any client could pick its own address")


def _gateway_problems(get: Callable[[str], str]) -> list[str]:
    problems: list[str] = []
    _secret("RING_JWT_SECRET", get("RING_JWT_SECRET"), problems)
    _key("RING_PII_KEY", get("RING_PII_KEY"), problems)
    _key("RING_GATEWAY_SIGNING_KEY", get("RING_GATEWAY_SIGNING_KEY"), problems)
    cipher_key = get("CIPHER_KEY")
    if cipher_key:
        derived = {_derived(cipher_key, label) for label in _DERIVATION_LABELS} | {cipher_key}
        for name in ("RING_JWT_SECRET", "RING_PII_KEY"):
            if get(name) in derived:
                problems.append(f"{name} is CIPHER_KEY or derived from it: set its own secret")
    if get("RING_JWT_SECRET") and get("RING_JWT_SECRET") == get("RING_PII_KEY"):
        problems.append("RING_JWT_SECRET and RING_PII_KEY are the same: give each its own")
    return problems
