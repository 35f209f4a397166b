# lambdagate: the two set-up commands of the README are `make run` and
# `make test`. Both install what they need on a fresh Debian machine.

GO       ?= go
GOBIN    := $(shell $(GO) env GOPATH)/bin
BIN      := bin/lambdagate
FUNCTIONS ?= examples/functions

.PHONY: run test setup build lint unit fuzz bench clean

build:
	$(GO) build -o $(BIN) ./cmd/lambdagate

# The main job: the gateway with its embedded defaults (local store, local
# Lambda with the walkthrough's echo function).
run: setup-node build
	./$(BIN) serve --local-lambda $(FUNCTIONS)

setup-node:
	@SETUP_LINT=0 scripts/setup.sh

setup:
	@scripts/setup.sh

# The test command (.ci/run calls it): lint, then every test, then a short
# run of each fuzz target.
test: setup lint unit fuzz

lint:
	$(GO) vet ./...
	$(GOBIN)/staticcheck ./...

unit:
	$(GO) test -count=1 -timeout 20m ./...

# Each fuzz target for a short fixed time; corpora under testdata/fuzz are
# replayed by `unit` on every run.
FUZZTIME ?= 10s
fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin
