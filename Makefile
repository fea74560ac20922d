# Quick start: `make book` builds the book (installs what is missing first); `make test` runs the tests.
# A smaller scale is a variable away: `make book SCALE=smoke`; `JOBS=1` executes one chapter at a time
# (default: one per CPU core, at most 4). `make lab` opens the chapters live in JupyterLab.
SCALE ?= book
JOBS ?=
PYTHON ?= python3
STAMP := .localcodes-cache/installed.stamp
# make lab: JupyterLab's settings for this checkout (kept out of your ~/.jupyter), the chapter it opens first and
# any further arguments (e.g. LAB_ARGS="--no-browser --port 8890")
LAB_SETTINGS := .localcodes-cache/lab/user-settings
LAB_VIEWERS := $(LAB_SETTINGS)/@jupyterlab/docmanager-extension/plugin.jupyterlab-settings
LAB_OPEN ?= notebooks/28_grow_your_own.py
LAB_ARGS ?=

.PHONY: install book test lab lint clean

$(STAMP): pyproject.toml constraints.txt package.json
	bash scripts/install.sh
	mkdir -p $(dir $(STAMP)) && touch $(STAMP)

install: $(STAMP)

book: $(STAMP)
	$(PYTHON) -m localcodes build --scale $(SCALE) $(if $(JOBS),--jobs $(JOBS))

test: $(STAMP)
	$(PYTHON) -m pytest -q

# Live chapters: the .py chapters open as notebooks (jupytext: jupytext.toml; a double click opens the notebook
# view, set below) and their charts render with JupyterLab's own Vega (charts.setup() picks that outside a build).
# The root is the checkout (given a file alone, Jupyter would serve only its folder, away from jupytext.toml).
lab: $(STAMP)
	mkdir -p $(dir $(LAB_VIEWERS))
	test -f $(LAB_VIEWERS) || echo '{"defaultViewers": {"python": "Jupytext Notebook"}}' > $(LAB_VIEWERS)
	$(PYTHON) -m jupyterlab --ServerApp.root_dir=$(CURDIR) --LabApp.user_settings_dir=$(CURDIR)/$(LAB_SETTINGS) \
	  $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS) $(LAB_OPEN)

lint: $(STAMP)
	$(PYTHON) -m ruff check lib tests

clean:
	rm -rf _build book/*.ipynb book/_runs book/status.md static/vendor
