# Checkpoint: `make demo` and `make test` are the two commands of the README.
# Only Python 3.11 and make are needed: uv is bootstrapped into .tools/, the project's
# dependencies come from uv.lock into .venv/.

PORT ?= 8000
# The interpreter itself, not a version manager's shim: uv rebuilds .venv when the path it is
# given differs from the one the venv was made with.
PYTHON ?= $(shell python3.11 -c 'import sys; print(sys.executable)' 2>/dev/null || python3 -c 'import sys; print(sys.executable)')
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV_BIN := .venv/bin

# uv must never try to download a Python build; it uses the interpreter above.
export UV_PYTHON_DOWNLOADS := never

.PHONY: demo test lint bench install manage

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Cheap when nothing changed, so every target runs it rather than trusting a stale venv.
install: $(UV)
	$(UV) sync --locked --python $(PYTHON)

demo: export DEBUG := 1
# The demo's published SECRET_KEY (and the field encryption key derived from it) only here and
# in `make manage`: without CHECKPOINT_DEMO=1, DEBUG=1 alone needs a SECRET_KEY of its own.
demo: export CHECKPOINT_DEMO := 1
demo: export CALLBACK_ALLOW_PRIVATE_NETWORKS := 1
# The demo's links (emails, the API's review_url) point at the port it serves on.
demo: export SITE_URL ?= http://127.0.0.1:$(PORT)
# Emails go to files, one per message (the demo prints where), not to the terminal.
demo: export EMAIL_URL ?= filemail://$(CURDIR)/.demo-mail
demo: install
	$(VENV_BIN)/python manage.py migrate --noinput
	$(VENV_BIN)/python manage.py install_playbook --all
	$(VENV_BIN)/python manage.py seed_demo
	PORT=$(PORT) $(VENV_BIN)/python scripts/demo.py

# A management command against the demo database, e.g. `make manage ARGS="create_api_token ci"`.
manage: export DEBUG := 1
manage: export CHECKPOINT_DEMO := 1
manage: install
	@$(VENV_BIN)/python manage.py $(ARGS)

test: install
	$(VENV_BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(VENV_BIN)/ruff check .
	$(VENV_BIN)/ruff format --check .
	# The django-stubs plugin imports the settings, which refuse production without a key.
	DEBUG=1 $(VENV_BIN)/mypy .

# Quick mode (under 5 minutes); `make bench FULL=1` runs the full sizes (1,000,000 rows).
bench: install
	$(VENV_BIN)/python bench/run.py $(if $(FULL),--full) $(BENCH_ARGS)
