# syntax=docker/dockerfile:1
#
# One image recipe for every Ring service. The service is chosen at build time:
#
#   docker build --build-arg SERVICE=task   -t ring-task   .
#   docker build --build-arg SERVICE=matching -t ring-matching .
#
# Every image holds the whole locked workspace (all services share the runtime), so the only
# difference between them is RING_SERVICE, which the entrypoint passes to `ring serve`.
# Other `ring` commands run in the same image: `docker run --rm ring-task ring settings`.

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------------------------
# builder: resolve the locked workspace into /app/.venv (no dev group, no editable installs)
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

# uv comes from PyPI like every other tool of the project; pin it to the version the lock file
# was written with.
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir "uv==${UV_VERSION}"

# Use the image's interpreter (never download one), compile bytecode now because the runtime
# filesystem is read-only, and copy files out of the cache mount instead of hard-linking.
ENV UV_PYTHON=/usr/local/bin/python3 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /src

# Third-party dependencies first, from the lock file alone, so this layer is reused until
# uv.lock changes. --frozen: the member pyproject.toml files are not copied yet.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --all-packages --no-dev --no-install-workspace

# Then the workspace members themselves, as regular (non-editable) installs: the runtime image
# does not contain /src. --locked fails the build if uv.lock is out of date.
COPY pyproject.toml uv.lock ./
COPY libs/ libs/
COPY services/ services/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --all-packages --no-dev --no-editable

# ---------------------------------------------------------------------------------------------
# runtime: the venv, two tiny scripts, a non-root user; nothing is written outside /tmp
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ARG SERVICE
ARG RING_UID=10001

LABEL org.opencontainers.image.title="ring-${SERVICE}" \
      org.opencontainers.image.description="Ring ${SERVICE} service"

# HOME and TMPDIR point at /tmp, the only writable path (an emptyDir in Kubernetes, a tmpfs in
# compose). RING_DATA_DIR is only used by the embedded mode, kept under /tmp all the same.
ENV PATH=/app/.venv/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp \
    RING_SERVICE=${SERVICE} \
    RING_HTTP_HOST=0.0.0.0 \
    RING_EMBEDDED=false \
    RING_DATA_DIR=/tmp/ring

RUN groupadd --system --gid "${RING_UID}" ring \
    && useradd --system --uid "${RING_UID}" --gid ring --no-create-home \
       --home-dir /tmp --shell /usr/sbin/nologin ring

COPY --from=builder --chown=root:root /app/.venv /app/.venv
COPY --chmod=0755 deploy/docker/entrypoint.sh /usr/local/bin/ring-entrypoint
COPY --chmod=0755 deploy/docker/healthcheck.py /usr/local/bin/ring-healthcheck

# Fail the build early if SERVICE is missing or names no installed service.
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<name>" >&2; exit 1; } \
    && python -c "import sys; from ring_runtime.service import SERVICE_ENTRY_POINT_GROUP as g; \
from importlib.metadata import entry_points as e; n = {p.name for p in e(group=g)}; \
sys.exit(0 if sys.argv[1] in n else f'unknown service {sys.argv[1]!r}; known: {sorted(n)}')" \
       "${SERVICE}"

WORKDIR /tmp
USER 10001:10001

# Documentation only: each service listens on its default port (task 8101, matching 8102, ...)
# unless RING_HTTP_PORT says otherwise.
EXPOSE 8000 8101 8102 8103 8104 8105

# Liveness of the process; compose and Kubernetes define their own readiness checks on /ready.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/usr/local/bin/ring-healthcheck", "/health"]

# Exec form: the entrypoint `exec`s `ring serve $RING_SERVICE`, so the service is PID 1 and
# receives SIGTERM directly (uvicorn then shuts down gracefully).
ENTRYPOINT ["/usr/local/bin/ring-entrypoint"]
CMD []
