# The two set-up commands of README.md: `make demo` and `make test`.
# Each builds what it needs by itself: the virtual environment and its packages
# (pinned by constraints.txt), and the front-end libraries from the npm registry
# (pinned by package-lock.json), copied into app/static/vendor.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp
STATIC := app/static/vendor/.built-stamp

.PHONY: demo test lint install clean

demo: $(STAMP) $(STATIC)
	$(VENV)/bin/switchboard demo

test: $(STAMP) $(STATIC)
	./scripts/test

lint: $(STAMP)
	$(VENV)/bin/ruff check .

install: $(STAMP) $(STATIC)

$(STATIC): package.json package-lock.json scripts/build-static.mjs
	npm ci --no-audit --no-fund --loglevel=error
	npm run --silent build
	touch $(STATIC)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache node_modules app/static/vendor
