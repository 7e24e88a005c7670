# Portcullis: two commands on a machine with only Go: `make run` and `make test`.
SHELL := /bin/bash
GO    ?= go
MODULES := shared authserver middleware resourceserver e2e deploy
PKGS  := $(addprefix ./,$(addsuffix /...,$(MODULES)))
TEST_FLAGS ?= -count=1 -timeout 12m

.PHONY: all build run test test-cluster bench lint fmt vet fuzz clean screenshots

all: build

build:
	@mkdir -p bin
	$(GO) build -o bin/authserver ./authserver/cmd/authserver
	@if [ -d resourceserver/cmd/resourceserver ]; then $(GO) build -o bin/resourceserver ./resourceserver/cmd/resourceserver; fi

# run starts the whole stack with the embedded defaults (SQLite files under
# ./data, an in-process Redis on 127.0.0.1:6380). Ctrl-C stops both.
run: build
	@bash deploy/run-local.sh

test:
	$(GO) test $(TEST_FLAGS) $(PKGS)

# test-cluster starts a throwaway 3-master Redis Cluster on loopback
# (deploy/redis-cluster.sh) and runs the token-store contract suite, whose
# revocation-event tests included, against it.
CLUSTER_PORTS ?= 7001 7002 7003
test-cluster:
	@set -e; export REDIS_CLUSTER_PORTS="$(CLUSTER_PORTS)"; \
	addrs=$$(bash deploy/redis-cluster.sh start | sed -n 's/^REDIS_CLUSTER_ADDRS=//p'); \
	trap 'bash deploy/redis-cluster.sh stop >/dev/null' EXIT; \
	TEST_REDIS_CLUSTER_ADDRS=$$addrs $(GO) test $(TEST_FLAGS) -run . ./authserver/internal/tokens/

bench:
	@bash deploy/bench.sh

lint: vet
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $(MODULES)

# fuzz runs every fuzz target briefly (FUZZTIME each); the seed corpora run in `make test`.
FUZZTIME ?= 20s
fuzz:
	@bash deploy/fuzz.sh $(FUZZTIME)

# screenshots refreshes docs/screenshots (the README's) from the browser test.
screenshots:
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run TestBrowserAcceptance ./authserver/cmd/authserver/

clean:
	rm -rf bin
