# customer-api: every task a developer or CI runs. `make help` lists them.
GO ?= go
BIN := bin/customer-api
PKGS := ./...

.PHONY: help generate check-generated build run test vet fmt lint fuzz bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

generate: ## regenerate gen/ from openapi.yaml
	$(GO) generate ./gen/...

check-generated: generate ## regenerate and fail if gen/ differs from what is committed
	@git diff --exit-code --stat -- gen/ || (echo "gen/ is out of date: run 'make generate' and commit" >&2; exit 1)
	@test -z "$$(git status --porcelain -- gen/)" || (git status --porcelain -- gen/; echo "gen/ has untracked generated files" >&2; exit 1)

build: ## build the binary into bin/
	$(GO) build -o $(BIN) ./cmd/customer-api

run: ## run the service on the embedded SQLite database with demo data, as its own token issuer
	$(GO) run ./cmd/customer-api serve --dev --demo

test: ## run every test
	$(GO) test -count=1 -race $(PKGS)

vet: ## go vet
	$(GO) vet $(PKGS)

fmt: ## gofmt the hand-written code
	gofmt -w $$(git ls-files '*.go' | grep -v '\.gen\.go$$')

lint: vet ## gofmt check and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.gen\.go$$')); test -z "$$out" || (echo "gofmt would change: $$out" >&2; exit 1)

FUZZTIME ?= 20s
fuzz: ## fuzz the request path for FUZZTIME (new failures land in impl/server/testdata/fuzz)
	$(GO) test -run '^$$' -fuzz '^FuzzRequest$$' -fuzztime $(FUZZTIME) ./impl/server

bench: ## run the benchmarks
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
