"""Container health check: GET http://127.0.0.1:<port><path> must answer 2xx.

Usage: ``python ring-healthcheck [/health|/ready]``. The port is the one the service binds:
``RING_HTTP_PORT`` when set, else the service's default from ``ring_runtime.settings``.
Standard library and Ring settings only, so it costs one short Python start.
"""

from __future__ import annotations

import os
import sys
import urllib.request

from ring_runtime.settings import load_settings


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "/health"
    port = load_settings(os.environ.get("RING_SERVICE", "")).http_port
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=4) as answer:
            return 0 if 200 <= answer.status < 300 else 1
    except OSError as error:  # URLError, HTTPError (503 from /ready), timeouts
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
