# Two commands on a fresh machine: `make run` (the platform) and `make test` (the whole suite).
# Both create the virtual environment from the hash-pinned lock first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
PACKAGES := shared services/register-service services/analytics-service services/notification-service \
            services/la-returns-service services/support-service deploy/local bench
STAMP := $(VENV)/.installed
# Apache Kafka's jars, fetched by Maven from the pom's pinned version (never committed).
KAFKA_POM := deploy/local/kafka/pom.xml
KAFKA_LIBS := $(VENV)/opt/kafka/libs
KAFKA := $(KAFKA_LIBS)/.installed
# Debian's kubectl, for its built-in Kustomize: the tests render deploy/k8s with it.
KUBECTL_DIR := $(VENV)/opt/kubernetes-client
KUBECTL := $(KUBECTL_DIR)/usr/bin/kubectl
# Debian's poppler-utils (pdftotext, pdftoppm): the tests read back the PDFs the services make.
POPPLER_DIR := $(VENV)/opt/poppler
POPPLER := $(POPPLER_DIR)/.installed
# Debian's promtool (from its prometheus package): the tests check the alert rules with it.
PROMTOOL_DIR := $(VENV)/opt/prometheus
PROMTOOL := $(PROMTOOL_DIR)/promtool
# The AsyncAPI Initiative's parser (npm, no lock file: the version is pinned here) validates
# docs/asyncapi.json in the tests.
ASYNCAPI_PARSER_VERSION := 3.6.6
ASYNCAPI_DIR := $(VENV)/opt/asyncapi
ASYNCAPI_PARSER := $(ASYNCAPI_DIR)/.installed-$(ASYNCAPI_PARSER_VERSION)
# Container images: one Dockerfile for all five services, each built with its own build args.
VERSION ?= dev
DOCKERFILE := deploy/docker/Dockerfile
SERVICES := register analytics notification la-returns support
IMAGES := $(addprefix image-,$(SERVICES))

.PHONY: install run test test-unit lint format token lock clean bench images lint-docker asyncapi kafka-users $(IMAGES)

$(STAMP): requirements/dev.txt requirements/bootstrap.txt $(addsuffix /pyproject.toml,$(PACKAGES))
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/bootstrap.txt
	$(UV) pip sync --quiet --python $(PY) --require-hashes requirements/dev.txt
	$(UV) pip install --quiet --python $(PY) --no-deps $(addprefix -e ,$(PACKAGES))
	@touch $@

install: $(STAMP) $(KUBECTL) $(KAFKA) $(POPPLER) $(PROMTOOL) $(ASYNCAPI_PARSER)

# Kafka 4 runs on Java 17 or newer; Maven fetches it and its logging jars into $(KAFKA_LIBS).
$(KAFKA): $(KAFKA_POM)
	@command -v java >/dev/null || { echo "Apache Kafka needs a JDK 17+ on PATH (java not found)" >&2; exit 1; }
	@command -v mvn >/dev/null || { echo "Apache Kafka's jars are fetched with Maven (mvn not found)" >&2; exit 1; }
	@java -version 2>&1 | awk -F'"' '/version/ { split($$2, v, "."); if (v[1] < 17) { print "Apache Kafka needs Java 17 or newer, found " $$2 > "/dev/stderr"; exit 1 } }'
	rm -rf $(KAFKA_LIBS)
	mvn -B -q -f $(KAFKA_POM) org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory=$(abspath $(KAFKA_LIBS))
	@touch $@

$(KUBECTL): | $(STAMP)
	rm -rf $(KUBECTL_DIR) && mkdir -p $(KUBECTL_DIR)
	cd $(KUBECTL_DIR) && apt-get download -q kubernetes-client 2>&1 | grep -v "couldn't be accessed by user '_apt'" || true
	dpkg-deb -x $(KUBECTL_DIR)/kubernetes-client_*.deb $(KUBECTL_DIR) && rm $(KUBECTL_DIR)/kubernetes-client_*.deb

# poppler-utils and the one library of its that a Debian machine lacks, unpacked beside the
# venv (no root needed); tests run them with LD_LIBRARY_PATH pointing there (tests/helpers.py).
$(POPPLER): | $(STAMP)
	rm -rf $(POPPLER_DIR) && mkdir -p $(POPPLER_DIR)
	cd $(POPPLER_DIR) && apt-get download -q poppler-utils libpoppler126 libopenjp2-7 2>&1 | grep -v "couldn't be accessed by user '_apt'" || true
	for deb in $(POPPLER_DIR)/*.deb; do dpkg-deb -x $$deb $(POPPLER_DIR) && rm $$deb; done
	LD_LIBRARY_PATH=$(POPPLER_DIR)/usr/lib/x86_64-linux-gnu $(POPPLER_DIR)/usr/bin/pdftotext -v >/dev/null 2>&1
	@touch $@

# Only promtool is kept of the package (a static binary); the server and its web assets are not.
$(PROMTOOL): | $(STAMP)
	rm -rf $(PROMTOOL_DIR) && mkdir -p $(PROMTOOL_DIR)/unpacked
	cd $(PROMTOOL_DIR) && apt-get download -q prometheus 2>&1 | grep -v "couldn't be accessed by user '_apt'" || true
	dpkg-deb -x $(PROMTOOL_DIR)/prometheus_*.deb $(PROMTOOL_DIR)/unpacked
	mv $(PROMTOOL_DIR)/unpacked/usr/bin/promtool $(PROMTOOL) && rm -rf $(PROMTOOL_DIR)/unpacked $(PROMTOOL_DIR)/prometheus_*.deb
	$(PROMTOOL) --version >/dev/null

$(ASYNCAPI_PARSER): | $(STAMP)
	@command -v npm >/dev/null || { echo "the AsyncAPI check needs Node.js 18+ and npm (npm not found)" >&2; exit 1; }
	rm -rf $(ASYNCAPI_DIR) && mkdir -p $(ASYNCAPI_DIR)
	npm install --prefix $(ASYNCAPI_DIR) --no-save --no-package-lock --no-audit --no-fund --ignore-scripts \
		--loglevel=error @asyncapi/parser@$(ASYNCAPI_PARSER_VERSION)
	@touch $@

asyncapi: $(STAMP) ## write docs/asyncapi.json, the stream's contract, from the event models
	$(PY) -m attendance_shared.contract > docs/asyncapi.json

kafka-users: $(STAMP) ## write the Strimzi KafkaUsers (each service's ACLs) from the contract
	$(PY) -m attendance_shared.acl > deploy/k8s/base/kafka-users.yaml

run: $(STAMP) $(KAFKA) ## start PostgreSQL, Apache Kafka and the five services; Ctrl-C stops them
	$(PY) -m attendance_stack run

test: $(STAMP) $(KUBECTL) $(KAFKA) $(POPPLER) $(PROMTOOL) $(ASYNCAPI_PARSER) ## lint, then unit, integration, end-to-end and fault tests on real PostgreSQL and Kafka
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

bench: $(STAMP) $(KAFKA) ## time register ingest over HTTP on a fresh stack; writes .bench/result.json
	$(PY) -m attendance_bench $(BENCH_ARGS)

test-unit: $(STAMP) $(KUBECTL) $(POPPLER) $(PROMTOOL) $(ASYNCAPI_PARSER)
	$(PY) -m pytest tests/unit

lint: $(STAMP)
	$(VENV)/bin/ruff check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .

lint-docker: $(STAMP) ## hadolint the Dockerfile
	$(VENV)/bin/hadolint $(DOCKERFILE)

# make images [VERSION=1.2.3] builds attendance/<service>:$(VERSION) for all five; make image-register just one.
# Every image comes from $(DOCKERFILE) with the repository root as context: SERVICE names the
# services/<SERVICE>-service folder and PACKAGE its Python package (la-returns -> la_returns_service).
images: $(IMAGES) ## build the five service images

$(IMAGES): image-%:
	docker build --file $(DOCKERFILE) --build-arg SERVICE=$* --build-arg PACKAGE=$(subst -,_,$*)_service \
		--tag attendance/$*:$(VERSION) .

# make token ROLE=mis SCHOOLS=100001[,100002] | ROLE=la LA=201 | ROLE=parent PUPILS=100001:A201... | ROLE=admin
token: $(STAMP)
	@$(PY) -m attendance_shared.auth --role $(or $(ROLE),admin) --schools "$(SCHOOLS)" --pupils "$(PUPILS)" \
		$(if $(LA),--la $(LA)) $(if $(TRUST),--trust $(TRUST))

lock: $(STAMP) ## re-pin requirements/*.txt (names, versions and hashes only)
	for f in bootstrap runtime dev; do \
		$(UV) pip compile --quiet --python-version 3.11 --generate-hashes --no-header requirements/$$f.in -o requirements/$$f.txt; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
