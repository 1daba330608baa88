# kafkaio developer entry points. Every target sets up what it needs itself.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: all venv generate check-generated lint typecheck test test-unit demo clean

all: test

# Re-installing also rebuilds the native extension (src/kafkaio/records/_native.c) in place.
$(STAMP): pyproject.toml setup.py src/kafkaio/records/_native.c src/kafkaio/records/_native_producer.c
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "kafkaio needs Python 3.10+ as $(PYTHON)"; exit 1; }
	@command -v java >/dev/null || { echo "JDK 17+ is needed to run the local Kafka broker (apt-get install openjdk-17-jdk-headless)"; exit 1; }
	@command -v mvn >/dev/null || { echo "Maven is needed to fetch Apache Kafka's jars (apt-get install maven)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Regenerate the protocol messages and the error table from the pinned Kafka release.
generate: $(STAMP)
	$(PY) tools/generate_protocol.py
	$(PY) tools/generate_errors.py
	$(PY) tools/generate_sync_admin.py

check-generated: $(STAMP)
	$(PY) tools/generate_protocol.py --check
	$(PY) tools/generate_errors.py --check
	$(PY) tools/generate_sync_admin.py --check
	$(PY) tools/golden/generate_golden.py --check
	$(PY) tools/golden_records/golden.py --check
	sh tools/golden_partitioner/run.sh --check

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests tools examples bench
	$(VENV)/bin/ruff format --check src tests tools examples bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# The full suite: generated-code drift, lint, types, unit tests and the real-broker tests
# (the pytest plugin starts Apache Kafka on loopback itself).
test: check-generated lint typecheck
	@$(PY) -c 'import kafkaio.records as r; assert r.IMPLEMENTATION == "native", "the native extension did not build"'
	$(VENV)/bin/pytest -q -p no:cacheprovider
	# The pure-Python reference path, which runs wherever the extension cannot be built.
	KAFKAIO_NO_EXTENSIONS=1 $(VENV)/bin/pytest -q -p no:cacheprovider -m "not kafka" tests/unit/records tests/unit/consumer tests/unit/producer

test-unit: $(STAMP)
	$(VENV)/bin/pytest -q -m "not kafka"

demo: $(STAMP)
	$(PY) examples/cluster_demo.py

clean:
	rm -rf $(VENV) dist build .mypy_cache .ruff_cache .pytest_cache

# Benchmarks against aiokafka, confluent-kafka, kafka-python and the Java perf tools (bench/).
# The suite creates the peers' own virtualenv (.venv-bench/) and starts and stops the broker;
# results go to bench/results/latest.{md,json} and PNG charts next to them.
.PHONY: bench bench-quick

bench: $(STAMP)
	$(PY) -m bench run

bench-quick: $(STAMP)
	$(PY) -m bench run --quick
