"""Ring public integration events: topics, headers, event types, envelope and codec.

Modules: :mod:`~ring_events.topics`, :mod:`~ring_events.headers`, :mod:`~ring_events.base`,
:mod:`~ring_events.task` (one module per context), :mod:`~ring_events.registry` (topic → union,
decoders, JSON Schema) and :mod:`~ring_events.envelope` (Kafka wire form).
"""
