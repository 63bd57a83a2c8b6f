"""``ring keys``: make keys for settings that need them."""

from __future__ import annotations

import click
from eventsourcing.cryptography import AESCipher


@click.group("keys")
def keys() -> None:
    """Generate secrets for Ring settings."""


@keys.command("cipher")
def cipher() -> None:
    """Print a new random AES-256 key for CIPHER_KEY (with CIPHER_TOPIC set to
    eventsourcing.cryptography:AESCipher). Keep it secret; losing it loses the event store."""
    click.echo(AESCipher.create_key(num_bytes=32))
