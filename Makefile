# Two commands on a fresh machine: `make run` and `make test`. Both set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPARK_STAMP := $(VENV)/.installed-spark
CHROMIUM := /usr/bin/chromium
INSIGHTS_DB ?= data/insights.duckdb
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install run test bench browser spark java clean

install: $(STAMP)

# Reinstall only when pyproject.toml changes, so a second `make test` installs nothing.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# PySpark (the spark extra: Spark itself and the Spark Connect client) for the Spark engine's tests
# and benchmark; `make run` does without it. Reinstalled only when pyproject.toml changes.
spark: $(SPARK_STAMP) java

$(SPARK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	touch $(SPARK_STAMP)

# Spark runs on Java 17: Debian's JRE when no `java` is on the PATH; never a downloaded JDK.
java:
	@command -v java >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq openjdk-17-jre-headless; }

# Debian's Chromium for the real-browser tests; never a downloaded browser build.
browser: $(CHROMIUM)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

run: install
	INSIGHTS_DB=$(INSIGHTS_DB) $(BIN)/streamlit run app.py

# INSIGHTS_REQUIRE_SPARK: the Spark tests fail instead of skipping when Spark cannot start.
# One process: on two cores the browser's and the cluster's tests run slower side by side (pytest-xdist
# with them on separate workers took longer than this, at a load average of 18).
test: install browser spark
	INSIGHTS_REQUIRE_SPARK=1 $(BIN)/pytest

bench: install spark
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .hypothesis
