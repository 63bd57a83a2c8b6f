# Ring: the two commands are `make run` and `make test`.
# From a clean clone they install what they need: uv (pinned) into .ring/bootstrap with the
# machine's python3, then the locked workspace into .venv (CLI at .venv/bin/ring).

PYTHON      ?= python3
UV_VERSION  := 0.13.9
BOOT        := .ring/bootstrap
UV          := $(BOOT)/bin/uv
VENV        := .venv
BIN         := $(VENV)/bin

# uv uses the machine's Python and never downloads one; the venv is always ./.venv.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

PY_SOURCES  := $(wildcard libs/*/src services/*/src)

.DEFAULT_GOAL := help
.PHONY: help bootstrap sync run test test-pending pytest kafka-test kafka-jars lint format screenshots clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11+" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Ring needs Python 3.11+, $(PYTHON) is $$($(PYTHON) -V)" >&2; exit 1; }
	$(PYTHON) -m venv $(BOOT) \
		|| { echo "python3 -m venv failed (Debian/Ubuntu: apt install python3-venv)" >&2; exit 1; }
	$(BOOT)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

bootstrap: $(UV) ## install uv into .ring/bootstrap (once)

sync: $(UV) ## install the locked workspace into .venv
	$(UV) sync --all-packages --locked --python $(PYTHON)

run: sync ## start the whole platform (Ctrl-C stops it)
	$(BIN)/ring run

# The tests are type-checked too, one tree per mypy run: every tree has its own conftest.py and
# test modules named like another tree's, which one run would take for duplicate modules.
# MYPYPATH is the tree's parent, so its modules are named tests.<dir>.<module>.
TEST_TREES  := tests libs/client/tests libs/events/tests libs/runtime/tests \
	services/dispute-service/tests \
	services/notification-service/tests \
	services/gateway/tests services/ledger-service/tests services/matching-service/tests \
	services/task-service/tests \
	services/voucher-service/tests services/web/tests

lint: sync ## ruff check, ruff format --check, mypy (strict for every package and its tests)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(PY_SOURCES)
	@for tree in $(TEST_TREES); do \
		echo "$(BIN)/mypy $$tree"; \
		MYPYPATH=$$(dirname $$tree) $(BIN)/mypy --explicit-package-bases $$tree || exit 1; \
	done

# The seeded fault suite has had one whole green run, not yet several in a row (its driver was
# still learning client-side retry cases; decision 0010): `make test-pending` runs it.
PENDING := --ignore=tests/fault

pytest: sync ## the test suite only (on Tansu)
	$(BIN)/pytest -p no:cacheprovider -m "not apache_kafka" $(PENDING)

# The Kafka lane, the last part of `make test`: the tests marked kafka_lane (relay, consumers,
# saga, e2e) again and the apache_kafka ones, on Apache Kafka with the idempotent producer on.
# It runs whenever Java 17+ and Maven are present and fails if Kafka cannot start; without them
# it says so and passes, except in CI (CI=true), where .ci/run installs them and their absence
# is a failure.
KAFKA_TOOLS_MISSING = $(BIN)/python -c 'from ring_runtime.embedded import kafka_tools_missing as m; print(m() or "")'

kafka-jars: sync ## resolve the pinned Apache Kafka jars with Maven into .ring/kafka (once)
	$(BIN)/python -c 'from pathlib import Path; from ring_runtime.embedded.apache_kafka import kafka_jars; kafka_jars(Path("$(or $(RING_KAFKA_JARS),.ring/kafka)"))'

kafka-test: sync ## the Kafka lane only (Apache Kafka instead of Tansu)
	@missing="$$($(KAFKA_TOOLS_MISSING))"; \
	if [ -n "$$missing" ]; then \
		echo "Kafka lane NOT RUN: $$missing"; \
		if [ -n "$$CI" ]; then exit 1; fi; exit 0; \
	fi; \
	$(MAKE) --no-print-directory kafka-jars && \
	RING_TEST_BROKER=kafka RING_BROKER=kafka RING_KAFKA_ENABLE_IDEMPOTENCE=true \
		$(BIN)/pytest -p no:cacheprovider -m "kafka_lane or apache_kafka"

# The lane runs even when the suite on Tansu failed, so that one CI run reports both.
test: lint ## lint, the suite on Tansu (browser tests included), then the Kafka lane
	tansu=0; $(BIN)/pytest -p no:cacheprovider --durations=30 -m "not apache_kafka" $(PENDING) || tansu=$$?; \
	$(MAKE) --no-print-directory kafka-test && exit $$tansu

test-pending: sync ## the seeded fault suite (not yet several green runs in a row)
	$(BIN)/pytest -p no:cacheprovider tests/fault

screenshots: sync ## regenerate docs/screenshots/ (web app in Debian's headless Chromium)
	RING_SCREENSHOT_DIR=docs/screenshots $(BIN)/pytest -p no:cacheprovider tests/e2e/test_web.py

format: sync ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean: ## remove .venv and the bootstrap uv (keeps .ring data)
	rm -rf $(VENV) $(BOOT)
