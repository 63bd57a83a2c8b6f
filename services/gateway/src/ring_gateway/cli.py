"""``ring admin …``: create platform administrators (never possible over the public API).

Connects to the gateway's user store as configured by the environment (``RING_DATABASE_URL``,
``RING_DB_SCHEMA``, ``RING_PII_KEY``…), like the gateway process itself.
"""

from __future__ import annotations

import sys

import click
import psycopg
from eventsourcing.persistence import PersistenceError

from ring_gateway.application import Users
from ring_gateway.config import gateway_config
from ring_gateway.domain import EmailTaken, Role, WeakPassword
from ring_gateway.pii import PersonalDataCipher
from ring_runtime.settings import SettingsError, load_settings
from ring_runtime.store import create_application

MIN_PASSWORD_LENGTH = 12


@click.group()
def admin() -> None:
    """Platform administrators."""


@admin.command("create")
@click.argument("email")
@click.option(
    "--password-stdin",
    is_flag=True,
    required=True,
    help="Read the password from standard input (first line).",
)
@click.option("--display-name", default="Administrator", show_default=True)
def create(email: str, password_stdin: bool, display_name: str) -> None:
    """Create an admin user EMAIL; the password is read from stdin."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.ClickException(
            f"the password must be at least {MIN_PASSWORD_LENGTH} characters (read from stdin)"
        )
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise click.ClickException(f"{email!r} is not an email address")
    try:
        settings = load_settings("gateway")
        config = gateway_config()
        users = create_application(Users, settings)
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    except (PersistenceError, psycopg.Error, OSError) as error:
        raise click.ClickException(f"cannot reach the user store: {error}") from None
    try:
        users.configure(PersonalDataCipher(config.pii_key))
        user_id = users.register(email, password, Role.ADMIN, display_name)
    except EmailTaken:
        raise click.ClickException(f"{email} is already registered") from None
    except WeakPassword as weak:
        raise click.ClickException(str(weak)) from None
    finally:
        users.close()
    click.echo(f"created admin {email} with id {user_id}")
