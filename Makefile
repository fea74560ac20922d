# Quick start: `make book` builds the book (installs what is missing first); `make test` runs the tests.
# A smaller scale is a variable away: `make book SCALE=smoke`.
SCALE ?= book
PYTHON ?= python3
STAMP := .localcodes-cache/installed.stamp

.PHONY: install book test lint clean

$(STAMP): pyproject.toml package.json
	bash scripts/install.sh
	mkdir -p $(dir $(STAMP)) && touch $(STAMP)

install: $(STAMP)

book: $(STAMP)
	$(PYTHON) -m localcodes build --scale $(SCALE)

test: $(STAMP)
	$(PYTHON) -m pytest -q

lint: $(STAMP)
	$(PYTHON) -m ruff check lib tests

clean:
	rm -rf _build book/*.ipynb book/_runs book/status.md static/vendor
