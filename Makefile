# lambdagate: the two set-up commands of the README are `make run` and
# `make test`. Both install what they need on a fresh Debian machine.

GO       ?= go
GOBIN    := $(shell $(GO) env GOPATH)/bin
BIN      := bin/lambdagate
FUNCTIONS ?= examples/functions

.PHONY: run test setup build lint unit fuzz bench clean dashboard chaos image

# Progress lines: on a fresh machine the first build downloads the modules
# and compiles for minutes.
build: dashboard
	@echo "build: compiling $(BIN) (the first build downloads the Go modules and takes minutes; later ones seconds)"
	$(GO) build -o $(BIN) ./cmd/lambdagate

# The container image the Helm chart runs, as an OCI image layout in
# out/image, built without Docker (scripts/build-image.sh).
image: dashboard
	@scripts/build-image.sh

# The web dashboard (web/) built into internal/dashboard/dist, which the
# binary embeds; only when its sources changed.
dashboard:
	@scripts/build-dashboard.sh

# The main job: the gateway with its embedded defaults (local store, local
# Lambda with the walkthrough's echo function).
run: setup-node build
	@echo "run: starting the gateway; its \"lambdagate serving\" line gives the gateway, admin and dashboard URLs (Ctrl-C stops it)"
	./$(BIN) serve --local-lambda $(FUNCTIONS)

setup-node:
	@echo "setup: checking Node.js and the dashboard's npm dependencies"
	@SETUP_LINT=0 SETUP_BROWSER=0 scripts/setup.sh

setup:
	@scripts/setup.sh

# The test command (.ci/run calls it): lint, then every test, then a short
# run of each fuzz target.
test: setup dashboard lint unit fuzz

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt: not formatted:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GOBIN)/staticcheck ./...
	@scripts/pkgmap.sh --check

unit:
	$(GO) test -count=1 -timeout 20m ./...

# Each fuzz target for a short fixed time; corpora under testdata/fuzz are
# replayed by `unit` on every run.
FUZZTIME ?= 10s
fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin

# The performance harness (not part of `test`): lambdagate against a Lambda
# stub directly and behind nginx, haproxy and Caddy, plus the scale runs and
# the Go benchmarks; installs wrk, nginx, haproxy and Caddy when missing.
# Writes bench/results/latest.md and appends to bench/results/history.md.
bench: dashboard
	@bench/run.sh

# The reliability and security suite alone, verbose, with its measured
# figures written to bin/chaos-figures.tsv (docs/reliability.md quotes
# them). CHAOS_LONG=1 runs the long variants. `unit` runs it too.
chaos:
	@mkdir -p bin
	CHAOS_FIGURES=$(CURDIR)/bin/chaos-figures.tsv $(GO) test -count=1 -v -timeout 15m ./test/chaos/
