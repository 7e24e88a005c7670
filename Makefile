# Portcullis: two commands on a machine with only Go: `make run` and `make test`.
SHELL := /bin/bash
GO    ?= go
MODULES := shared authserver middleware resourceserver e2e deploy
PKGS  := $(addprefix ./,$(addsuffix /...,$(MODULES)))
TEST_FLAGS ?= -count=1 -timeout 12m
# gotestsum and staticcheck are pinned by `tool` lines in deploy/go.mod;
# `go tool` fetches them through the Go module proxy on first use.
GOTESTSUM := $(GO) tool gotestsum

.PHONY: all build run reset test install-check test-modules test-cluster bench lint fmt vet tidy fuzz clean screenshots

all: build

# -buildvcs=auto records the git revision that `version` prints (this
# machine's GOFLAGS may say -buildvcs=false).
build:
	@mkdir -p bin
	$(GO) build -buildvcs=auto -o bin/authserver ./authserver/cmd/authserver
	$(GO) build -buildvcs=auto -o bin/resourceserver ./resourceserver/cmd/resourceserver

# run builds (with progress) and starts the whole stack with the embedded
# defaults: SQLite files under ./data, an in-process Redis on
# 127.0.0.1:6380. Ctrl-C (or kill -INT on make) stops both.
run:
	@RUN_PARENT=$$PPID exec bash deploy/run-local.sh

# reset deletes ./data (users, clients, items), so the next `make run`
# starts clean.
reset:
	rm -rf data

# test runs every module's tests and ends with a summary: counts, every
# failure, and every skipped test with the reason it gives.
test:
	@$(GOTESTSUM) --format pkgname-and-test-fails --format-hide-empty-pkg \
	  --post-run-command 'bash deploy/test-summary.sh' -- $(TEST_FLAGS) $(PKGS)

# install-check installs the modules as a stranger would: published at
# v0.1.0 into a file-based GOPROXY, `go get` of the middleware, `go install`
# of both servers, GOWORK=off (deploy/install_test.go; `make test` runs it too).
install-check:
	$(GO) test -count=1 -timeout 15m -run '^TestInstallFromProxy$$' -v ./deploy/

# test-modules runs every module's tests with GOWORK=off against that proxy.
test-modules:
	$(GO) run ./deploy/cmd/modproxy exec -- $(GO) test $(TEST_FLAGS) ./...

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

# lint: gofmt, go vet, every module tidy with GOWORK=off (our own modules
# from the file proxy), and staticcheck with zero findings.
lint: vet
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) run ./deploy/cmd/modproxy tidy -diff
	$(GO) tool staticcheck $(PKGS)

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $(MODULES)

# tidy runs `go mod tidy` in every module with GOWORK=off, rewriting the
# go.sum lines of our own modules from the working tree.
tidy:
	$(GO) run ./deploy/cmd/modproxy tidy

# fuzz runs every fuzz target briefly (FUZZTIME each); the seed corpora run in `make test`.
FUZZTIME ?= 20s
fuzz:
	@bash deploy/fuzz.sh $(FUZZTIME)

# screenshots refreshes docs/screenshots (the README's) from the browser test.
screenshots:
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run TestBrowserAcceptance ./authserver/cmd/authserver/

clean:
	rm -rf bin
