"""Commands of the ``ring`` CLI contributed by the runtime (``ring run``, ``ring serve``…)."""
