"""Read models of the matching service, all in one :class:`~ring_runtime.projection.ProjectionStore`.

They share the service schema so recommendations can read the board, the provider directory and
the performance records together. Each is fed exactly once by its own consumer.
"""
