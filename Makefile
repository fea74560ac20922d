# Quick start: `make book` builds the book (installs what is missing first); `make test` runs the tests.
# A smaller scale is a variable away: `make book SCALE=smoke`; `JOBS=1` executes one chapter at a time
# (default: one per CPU core, at most 4).
SCALE ?= book
JOBS ?=
PYTHON ?= python3
STAMP := .localcodes-cache/installed.stamp

.PHONY: install book test lint clean

$(STAMP): pyproject.toml package.json
	bash scripts/install.sh
	mkdir -p $(dir $(STAMP)) && touch $(STAMP)

install: $(STAMP)

book: $(STAMP)
	$(PYTHON) -m localcodes build --scale $(SCALE) $(if $(JOBS),--jobs $(JOBS))

test: $(STAMP)
	$(PYTHON) -m pytest -q

lint: $(STAMP)
	$(PYTHON) -m ruff check lib tests

clean:
	rm -rf _build book/*.ipynb book/_runs book/status.md static/vendor
