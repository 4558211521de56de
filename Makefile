# Majlis — the two commands are `make run` and `make test`; the rest is for operators.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
CHECKOV_VENV := .venv-checkov
# Test files run on this many workers (pytest-xdist), a file to a worker.
PYTEST_WORKERS ?= 2
STAGE ?= dev
BUILD := build/$(STAGE)

.PHONY: run test lint fmt browser assets package deploy rehearse bench messages clean

# The virtual environment, rebuilt whenever a requirements file changes.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# checkov's own environment (it pins a boto3 other than Majlis's), for `make test`.
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

## Majlis on this machine, on embedded AWS: http://127.0.0.1:8000 (PORT overrides).
run: $(VENV)/.installed
	$(BIN)/python -m infra.local

## Lint, format check and the whole test suite (browser tests and checkov included).
test: $(VENV)/.installed $(CHECKOV_VENV)/.installed lint browser
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# What tests/browser drives: Debian's Chromium and its chromedriver, the Noto fonts that
# draw Arabic and Urdu, and axe-core (pinned in tests/browser/package-lock.json).
# Installed only when missing; with CI set, failing to install them fails the run.
BROWSER_PACKAGES := chromium chromium-driver fonts-noto-core
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

browser: tests/browser/node_modules/.package-lock.json infra/assets/node_modules/.package-lock.json
	@missing=$$(for p in $(BROWSER_PACKAGES); do \
		dpkg-query -W -f='$${db:Status-Status}' $$p 2>/dev/null | grep -qx installed || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "Installing for the browser tests:" $$missing; \
		{ $(SUDO) apt-get update -qq && \
		  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; } || \
		{ echo "Could not install $$missing: the browser tests will skip, or fail on CI." >&2; \
		  [ -z "$$CI" ]; }; \
	fi

tests/browser/node_modules/.package-lock.json: tests/browser/package.json tests/browser/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix tests/browser --no-audit --no-fund; \
	else echo "No npm for axe-core: the accessibility tests will skip, or fail on CI." >&2; \
		[ -z "$$CI" ]; fi

# The front-end libraries the pages serve from /assets, pinned in infra/assets/package-lock.json
# and kept in chalicelib/pages/static (so that `make run` needs no npm): `make assets`
# copies them again from npm, and a test checks the copies against the lock's package.
VENDOR := infra/assets/node_modules/altcha
CHARTJS := infra/assets/node_modules/chart.js
STATIC := chalicelib/pages/static

assets: infra/assets/node_modules/.package-lock.json
	cp $(VENDOR)/dist/external/altcha.min.js $(STATIC)/altcha.js
	cp $(VENDOR)/dist/external/altcha.css $(STATIC)/altcha.css
	cp $(VENDOR)/dist/workers/pbkdf2.js $(STATIC)/altcha-pbkdf2.js
	cp $(VENDOR)/LICENSE.txt $(STATIC)/altcha-LICENSE.txt
	cp $(CHARTJS)/dist/chart.umd.min.js $(STATIC)/chart.js
	cp $(CHARTJS)/LICENSE.md $(STATIC)/chart-LICENSE.md

infra/assets/node_modules/.package-lock.json: infra/assets/package.json infra/assets/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix infra/assets --no-audit --no-fund; \
	else echo "No npm: the served copies of the front-end libraries are not checked." >&2; \
		[ -z "$$CI" ]; fi

fmt: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## The CloudFormation template and code bundle (with its bytecode) for a stage (STAGE=dev|prod),
## served at PUBLIC_BASE_URL (an https origin people can reach: required).
package: $(VENV)/.installed
	$(BIN)/python -m infra.stage --check "$(PUBLIC_BASE_URL)"
	rm -rf $(BUILD)
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(BIN)/chalice package \
		--stage $(STAGE) --template-format yaml \
		--merge-template infra/resources.yaml $(BUILD)
	$(BIN)/python -m infra.stage $(BUILD) "$(PUBLIC_BASE_URL)"
	$(BIN)/python -m infra.bytecode $(BUILD)
	$(BIN)/cfn-lint $(BUILD)/sam.yaml

## Deploy a packaged stage with your AWS credentials (needs the aws CLI and a bucket).
deploy: package
	aws cloudformation package --template-file $(BUILD)/sam.yaml \
		--s3-bucket $(DEPLOY_BUCKET) --output-template-file $(BUILD)/packaged.yaml
	aws cloudformation deploy --template-file $(BUILD)/packaged.yaml \
		--stack-name majlis-$(STAGE) --capabilities CAPABILITY_IAM \
		$(if $(DOMAIN_NAME),--parameter-overrides DomainName=$(DOMAIN_NAME) CertificateArn=$(CERTIFICATE_ARN))

## The dress rehearsal: the reference conference on the packaged prod stage, on embedded
## AWS (PEOPLE registrants, 500 unless given; 5000 is the reference size). Prints the audit
## and the reference day's bill, writes build/rehearsal.json, fails on anything wrong.
PEOPLE ?= 500
REHEARSAL_URL ?= https://majlis.example.org
rehearse: $(VENV)/.installed
	$(MAKE) package STAGE=prod PUBLIC_BASE_URL=$(REHEARSAL_URL)
	$(BIN)/python -m infra.rehearsal --people $(PEOPLE) --build build/prod

## Figures beside their floors (see bench/); SECTIONS="cold_start http_load" runs those alone.
bench: $(VENV)/.installed
	$(BIN)/python -m bench $(SECTIONS)

## Refresh the message catalogs from the code and templates (then translate the .po files).
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F chalicelib/locales/babel.cfg -k gettext -k _ -k N_ \
		--no-location --omit-header -o chalicelib/locales/messages.pot .
	$(BIN)/pybabel update -i chalicelib/locales/messages.pot -d chalicelib/locales \
		-D messages --no-fuzzy-matching

clean:
	rm -rf build .pytest_cache .ruff_cache .hypothesis
