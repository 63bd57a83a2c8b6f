"""The ``ring`` command line: one group, subcommands contributed by the runtime and services.

Services add commands through the ``ring.cli`` entry-point group (each entry is a
``click.Command``), so ``ring ledger check`` lives in the ledger package and still shows up here.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import click

CLI_ENTRY_POINT_GROUP = "ring.cli"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Ring: outsourced work with pre-funded commissions, settled automatically."""


def _register_plugins() -> None:
    for entry in entry_points(group=CLI_ENTRY_POINT_GROUP):
        command = entry.load()
        if not isinstance(command, click.Command):
            raise TypeError(f"ring.cli entry point {entry.name} is not a click command")
        main.add_command(command, entry.name)


_register_plugins()
