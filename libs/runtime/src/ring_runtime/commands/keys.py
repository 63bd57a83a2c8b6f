"""``ring keys``: fresh secrets for a production deployment, as ``NAME=value`` lines.

``ring keys >> .env`` fills a compose environment file; each line is also what a Kubernetes
Secret needs (docs/deploy.md). Every run prints new values: keep them in a secret manager.
"""

from __future__ import annotations

import base64
import os
import secrets
from uuid import UUID

import click
from eventsourcing.cryptography import AESCipher

from ring_runtime.identity import ROLES, gateway_signer, new_identity_keys
from ring_runtime.settings import BASE_SERVICE_PORTS, ENVIRONMENT


def _password() -> str:
    return secrets.token_urlsafe(32)


def fresh_secrets() -> dict[str, str]:
    """One fresh value for every secret production requires, by variable name.

    Besides Ring's settings, what docker-compose.yml reads: the PostgreSQL superuser's password,
    one PostgreSQL password per service but the web app (role ``ring_<service>``), and the Kafka
    SCRAM passwords of the broker, of ``ring-admin`` (topic creation) and of each service but the
    gateway and the web app.
    """
    signing, verify = new_identity_keys()
    audit_signing, audit_verify = new_identity_keys()
    values = {
        "CIPHER_KEY": AESCipher.create_key(num_bytes=32),
        "RING_JWT_SECRET": secrets.token_urlsafe(48),
        "RING_PII_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "RING_GATEWAY_SIGNING_KEY": signing,
        "RING_GATEWAY_VERIFY_KEY": verify,
        "RING_AUDIT_SIGNING_KEY": audit_signing,
        "RING_AUDIT_VERIFY_KEY": audit_verify,
        "RING_PAYMENTS_WEBHOOK_SECRET": secrets.token_urlsafe(48),
        "RING_WEB_SESSION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "POSTGRES_PASSWORD": _password(),
        "SCRAM_BROKER_PASSWORD": _password(),
        "SCRAM_ADMIN_PASSWORD": _password(),
    }
    for service in sorted(BASE_SERVICE_PORTS):
        if service == "web":  # a client of the gateway: no database, no Kafka (decision 0017)
            continue
        values[f"POSTGRES_{service.upper()}_PASSWORD"] = _password()
        if service != "gateway":  # the gateway holds no Kafka connection
            values[f"SCRAM_{service.upper()}_PASSWORD"] = _password()
    return values


@click.group("keys", invoke_without_command=True)
@click.pass_context
def keys(context: click.Context) -> None:
    """Print fresh secrets for every setting production requires (NAME=value lines)."""
    if context.invoked_subcommand is None:
        for name, value in fresh_secrets().items():
            click.echo(f"{name}={value}")


@keys.command("cipher")
def cipher() -> None:
    """Print a new random AES-256 key for CIPHER_KEY (with CIPHER_TOPIC set to
    eventsourcing.cryptography:AESCipher). Keep it secret; losing it loses the event store."""
    click.echo(AESCipher.create_key(num_bytes=32))


@keys.command("assertion")
@click.argument("user_id", type=click.UUID)
@click.argument("role", type=click.Choice(sorted(ROLES)))
def assertion(user_id: UUID, role: str) -> None:
    """Print an actor assertion for calling a service directly (header X-Ring-Assertion).

    Signed with RING_GATEWAY_SIGNING_KEY, or the development pair under RING_DATA_DIR; valid
    for one minute. Holding the signing key is holding every user's identity: keep it to the
    gateway and to operators.
    """
    settings = {v.name: v.default for v in ENVIRONMENT}
    signer = gateway_signer(
        os.environ.get("RING_GATEWAY_SIGNING_KEY", ""),
        os.environ.get("RING_DATA_DIR", settings["RING_DATA_DIR"]),
    )
    click.echo(signer.sign(user_id, role))


@keys.command("audit")
def audit() -> None:
    """Print a fresh audit checkpoint key pair (RING_AUDIT_SIGNING_KEY for every service with
    an event store, RING_AUDIT_VERIFY_KEY for whoever verifies; publish the verify key)."""
    signing, verify = new_identity_keys()
    click.echo(f"RING_AUDIT_SIGNING_KEY={signing}")
    click.echo(f"RING_AUDIT_VERIFY_KEY={verify}")
