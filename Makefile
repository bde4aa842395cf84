# Two commands matter: `make run` and `make test`. Everything else is a step they share.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Where `make run` listens, as `loyalty serve --host --port`: `make run PORT=8001 HOST=0.0.0.0`
# (or PORT and HOST in the environment).
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test check lint typecheck imports unit openapi bench bench-quick fuzz chaos clean messages browser

run: $(STAMP)
	$(BIN)/loyalty serve --migrate --host $(HOST) --port $(PORT)

test: $(STAMP) check browser
	$(BIN)/pytest -q

check: lint typecheck imports

# The console's browser tests (tests/browser) drive Debian's Chromium; `playwright install`
# cannot download browsers here. Installed when missing and the machine allows it (root with
# apt-get), with a CJK font for the Chinese pages; otherwise the tests skip saying so (and
# fail under CI=true).
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	else echo "no Chromium: browser tests will skip (apt-get install -y chromium fonts-wqy-microhei)"; fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit tests/app

openapi: $(STAMP)
	$(BIN)/loyalty openapi

# Benchmarks (not part of `make test`): scratch databases next to the tests' one, the service
# served and loaded with wrk; one table, tests/bench/results/latest.json. About 10-15 minutes.
bench: $(STAMP)
	$(BIN)/python tests/bench/run.py

# The same harness on small data for a few seconds each: checks it works, measures nothing.
bench-quick: $(STAMP)
	$(BIN)/python tests/bench/run.py --quick --output tests/bench/results/quick.json

# Long forms of the suites `make test` runs bounded (issues #8, #16): more examples, more
# faults. Each fuzz run draws a new seed and prints it; FUZZ_SEED=<seed> replays a run.
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-100} FUZZ_STEPS=$${FUZZ_STEPS:-50} $(BIN)/pytest -q -s -m fuzz

chaos: $(STAMP)
	CHAOS_SALES=$${CHAOS_SALES:-4000} CHAOS_KILLS=$${CHAOS_KILLS:-10} CHAOS_TILLS=$${CHAOS_TILLS:-16} \
	CHAOS_PG_CYCLES=$${CHAOS_PG_CYCLES:-5} CHAOS_EVENTS=$${CHAOS_EVENTS:-2000} \
	$(BIN)/pytest -q -s -m chaos

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required; set PYTHON=python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# The console's message catalogues (docs/console.md): extract every text, merge into each
# language's .po (then translate the new entries; a test fails while one is missing).
CONSOLE := adapters/http/console
messages: $(STAMP)
	$(BIN)/pybabel extract -F $(CONSOLE)/babel.cfg -k _ -k N_ --no-location --omit-header \
		-o $(CONSOLE)/locales/messages.pot .
	$(BIN)/pybabel update --omit-header --no-fuzzy-matching \
		-i $(CONSOLE)/locales/messages.pot -d $(CONSOLE)/locales -l zh_Hans
