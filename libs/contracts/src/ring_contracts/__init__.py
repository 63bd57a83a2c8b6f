"""Public request bodies, each declared once (conventions 13).

The gateway validates a request against the type and documents it in its OpenAPI document; the
owning service decodes the same type, so a limit cannot differ between the two. Requests list
exactly what a client may set and refuse unknown fields (no mass assignment). The class name is
the schema's name in the gateway's OpenAPI document and its docstring the schema's description:
renaming one is an API change.

One module per owning context: :mod:`~ring_contracts.tasks` (task service),
:mod:`~ring_contracts.money` (ledger), :mod:`~ring_contracts.providers` (matching),
:mod:`~ring_contracts.disputes` (dispute service); :mod:`~ring_contracts.decisions` holds the
reason bodies several services take.
"""
