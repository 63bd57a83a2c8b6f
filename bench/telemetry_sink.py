"""What a collector and Prometheus do to a platform, for measuring telemetry's cost.

Accepts OTLP/HTTP exports (answers 200 to every POST, counting requests and bytes) and scrapes
``GET /metrics`` of every Ring process every ``--scrape-seconds``, as Prometheus would. Run it
beside ``bench/lifecycle.py`` with the platform's ``OTEL_EXPORTER_OTLP_ENDPOINT`` pointing at it::

    .venv/bin/python bench/telemetry_sink.py --port 4318 &
    OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 .venv/bin/python bench/lifecycle.py ...

and compare with a run under ``OTEL_SDK_DISABLED=true`` (no spans, no metrics). It scrapes the
service ports of its own ``RING_PORT_OFFSET``: export the benchmark's offset for both. On
SIGINT or SIGTERM it prints what it received and how many scrapes failed.
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType

import httpx

from ring_runtime.settings import SERVICE_PORTS

received: Counter[str] = Counter()


class Sink(BaseHTTPRequestHandler):
    """Takes any OTLP export and answers 200 with an empty body."""

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(size)
        received[f"{self.path} requests"] += 1
        received[f"{self.path} bytes"] += size
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return


def scrape_forever(every: float, stop: threading.Event) -> None:
    """Scrape every process's ``/metrics`` every ``every`` seconds until ``stop``."""
    with httpx.Client(timeout=10) as client:
        while not stop.wait(every):
            for name, port in SERVICE_PORTS.items():
                started = time.perf_counter()
                try:
                    answer = client.get(f"http://127.0.0.1:{port}/metrics")
                except httpx.HTTPError:
                    received[f"scrape {name} failed"] += 1
                    continue
                received[f"scrape {name} ms"] += round((time.perf_counter() - started) * 1000)
                received[f"scrape {name} {answer.status_code}"] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=4318)
    parser.add_argument("--scrape-seconds", type=float, default=15.0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Sink)
    stop = threading.Event()
    threading.Thread(target=scrape_forever, args=(args.scrape_seconds, stop), daemon=True).start()

    def finish(_: int, __: FrameType | None) -> None:
        stop.set()
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGINT, finish)
    signal.signal(signal.SIGTERM, finish)
    server.serve_forever()
    for key, value in sorted(received.items()):
        print(f"{key}: {value}", flush=True)


if __name__ == "__main__":
    main()
