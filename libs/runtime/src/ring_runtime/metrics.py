"""Ring's own metrics: event flow through relays and consumers, dead letters, timers.

Counters are added where the work happens (:data:`EVENTS_PUBLISHED` by the relay,
:data:`EVENTS_APPLIED` by consumers). Gauges are *sampled* when a reader collects (a Prometheus
scrape of ``GET /metrics`` or an OTLP export): a process registers :data:`GaugeSource` callables
with :func:`observe`, and each collection runs every source once, off the event loop. A source
that fails (PostgreSQL or an owner down) is skipped for that collection: a missing sample says
"unknown", never a wrong zero.

Lag is counted in events, measured against the event stores (the embedded broker's log-end
offsets are wrong, see the broker facts):

- ``ring.relay.lag``: published events in this service's store not yet on its topic;
- ``ring.consumer.lag``: events the owner has put on the topic after the last one this consumer
  applied, as the owner counts them (``GET /internal/published?after=N``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx
from litestar import Request, Response, get
from litestar.datastructures import State
from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from ring_runtime.http import error_response

if TYPE_CHECKING:
    from ring_runtime.consumer import KafkaConsumerBinding
    from ring_runtime.dead_letters import DeadLetterStore
    from ring_runtime.relay import OutboxRelay
    from ring_runtime.settings import Settings
    from ring_runtime.timers import DurableTimers

log = logging.getLogger("ring.metrics")

#: Path where a publishing service says how many events it has put on its topic after some
#: notification id (asked by the consumers of the topic to measure their lag).
PUBLISHED_PATH = "/internal/published"
#: How long a consumer waits for the owner's count during one collection.
OWNER_TIMEOUT = httpx.Timeout(1.0, connect=0.5)
#: Samples taken within this many seconds serve every gauge of the same collection.
SAMPLE_REUSE_SECONDS = 1.0

_meter = metrics.get_meter("ring")

EVENTS_PUBLISHED = _meter.create_counter(
    "ring.relay.published", unit="{event}", description="Integration events put on the topic."
)
EVENTS_APPLIED = _meter.create_counter(
    "ring.consumer.applied",
    unit="{event}",
    description="Integration events a consumer applied (each at most once).",
)

#: A gauge source: gauge name → observations, sampled once per collection.
GaugeSource = Callable[[], Mapping[str, Iterable[Observation]]]

#: Every gauge Ring reports: name → (unit, description).
GAUGES: dict[str, tuple[str, str]] = {
    "ring.relay.lag": ("{event}", "Published events in the store not yet on the topic."),
    "ring.consumer.lag": (
        "{event}",
        "Events on the upstream topic after the last one this consumer applied.",
    ),
    "ring.dead_letters": ("{message}", "Messages parked in the dead-letter table."),
    "ring.timers.due": ("{timer}", "Timers whose due time has passed and that have not fired."),
    "ring.timers.overdue": (
        "{timer}",
        "Timers still not fired a minute after they were due.",
    ),
    "ring.sagas.open": ("{saga}", "Sagas not closed, by state."),
    "ring.sagas.oldest_age": ("s", "Age of the oldest open saga in each state."),
    "ring.ledger.total": ("{minor_unit}", "Platform money totals per currency and purpose."),
}

#: A timer still unfired this long after it was due counts as overdue: pollers run every
#: second, so a minute means a poller is down or a handler keeps failing.
TIMERS_OVERDUE_SECONDS = 60


class _Sampler:
    """Runs every registered source once per collection and hands each gauge its part."""

    def __init__(self) -> None:
        self.sources: list[GaugeSource] = []
        self._lock = threading.Lock()
        self._taken_at = float("-inf")
        self._samples: dict[str, list[Observation]] = {}

    def observations(self, name: str) -> list[Observation]:
        with self._lock:
            if time.monotonic() - self._taken_at > SAMPLE_REUSE_SECONDS:
                self._samples = self._sample()
                self._taken_at = time.monotonic()
            return self._samples.get(name, [])

    def _sample(self) -> dict[str, list[Observation]]:
        samples: dict[str, list[Observation]] = defaultdict(list)
        for source in list(self.sources):
            try:
                for name, observations in source().items():
                    samples[name].extend(observations)
            except Exception as error:  # unknown this time; the next collection tries again
                log.warning("metrics source %r failed: %r", source, error)
        return samples


_sampler = _Sampler()


def _callback(name: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
    def callback(_: CallbackOptions) -> Iterable[Observation]:
        return _sampler.observations(name)

    return callback


for _name, (_unit, _description) in GAUGES.items():
    _meter.create_observable_gauge(
        _name, callbacks=[_callback(_name)], unit=_unit, description=_description
    )


def observe(source: GaugeSource) -> Callable[[], None]:
    """Sample ``source`` at every collection until the returned function is called."""
    _sampler.sources.append(source)

    def forget() -> None:
        if source in _sampler.sources:
            _sampler.sources.remove(source)

    return forget


def owner_of(topic: str) -> str:
    """The service publishing ``topic`` (``ring.<service>.events``)."""
    return topic.split(".")[1]


class RuntimeGauges:
    """The gauges of one service process: its relay, consumers, dead letters and timers."""

    def __init__(
        self,
        settings: Settings,
        relay: OutboxRelay | None,
        bindings: Sequence[KafkaConsumerBinding],
        dead_letters: DeadLetterStore,
        timers: Sequence[DurableTimers],
    ) -> None:
        self.settings = settings
        self.relay = relay
        self.bindings = list(bindings)
        self.dead_letters = dead_letters
        self.timers = list(timers)
        self._client = httpx.Client(timeout=OWNER_TIMEOUT)

    def close(self) -> None:
        """Close the HTTP client asking owners."""
        self._client.close()

    def __call__(self) -> dict[str, list[Observation]]:
        samples: dict[str, list[Observation]] = defaultdict(list)
        if self.relay is not None:
            topic = self.relay.translator.topic
            samples["ring.relay.lag"].append(Observation(self.relay.log.lag(), {"topic": topic}))
        for consumer, count in self.dead_letters.counts().items():
            samples["ring.dead_letters"].append(Observation(count, {"consumer": consumer}))
        for binding in self.bindings:
            lag = self._consumer_lag(binding)
            if lag is not None:
                samples["ring.consumer.lag"].append(lag)
        for timers in self.timers:
            due, overdue = timers.due_counts(TIMERS_OVERDUE_SECONDS)
            samples["ring.timers.due"].append(Observation(due, {"schema": timers.schema}))
            samples["ring.timers.overdue"].append(Observation(overdue, {"schema": timers.schema}))
        return samples

    def _consumer_lag(self, binding: KafkaConsumerBinding) -> Observation | None:
        topic = binding.processor.topic
        owner = owner_of(topic)
        attributes = {"consumer": binding.processor.name, "topic": topic, "upstream": owner}
        url = self.settings.service_urls.get(owner)
        if url is None:
            return None
        applied = binding.applied_through()
        try:
            answer = self._client.get(f"{url}{PUBLISHED_PATH}", params={"after": applied})
            answer.raise_for_status()
            behind = int(answer.json()["after"])
        except (httpx.HTTPError, KeyError, ValueError) as error:
            log.debug("lag of %s unknown: %s did not answer (%r)", binding.group_id, owner, error)
            return None
        return Observation(behind, attributes)


@get(PUBLISHED_PATH, operation_id="Published", tags=["operations"], include_in_schema=False)
async def published(request: Request[Any, Any, Any], state: State) -> Response[Any]:
    """How far this service's topic goes: the relay's position and how many events it has
    published after ``?after=<notification id>`` (a consumer's lag)."""
    relay: OutboxRelay | None = state.runtime.relay
    raw = request.query_params.get("after", "0")
    if not raw.isdigit():
        return error_response(400, "invalid_after", "after must be a notification id")
    if relay is None:
        return Response({"position": 0, "after": 0})
    position, after = await asyncio.to_thread(relay.log.published_after, int(raw))
    return Response({"position": position, "after": after})
