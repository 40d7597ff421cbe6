# customer-api: every task a developer or CI runs. `make help` lists them.
GO ?= go
BIN := bin/customer-api
PKGS := ./...

.PHONY: help generate check-generated build run test vet fmt lint fuzz bench image image-test
.PHONY: npm-tools lint-spec check-breaking contract-prism check-typescript test-browser

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

# What is generated: gen/ (oapi-codegen) and openapi.json (openapi.go's //go:generate line). Each
# is committed. The demo data (impl/demo/dataset.json) is a fixture edited by hand: see impl/demo.
GENERATED := gen/ openapi.json

generate: ## regenerate gen/ and openapi.json from openapi.yaml
	$(GO) generate ./gen/... .

check-generated: generate ## regenerate and fail if gen/ or openapi.json differs from what is committed
	@git diff --exit-code --stat -- $(GENERATED) || (echo "generated files are out of date: run 'make generate' and commit" >&2; exit 1)
	@test -z "$$(git status --porcelain -- $(GENERATED))" || (git status --porcelain -- $(GENERATED); echo "generated files are not committed" >&2; exit 1)

# The VCS stamp of `version`: the toolchain's own (-buildvcs) where it can (not in a git
# worktree), else these.
GIT_REVISION := $(shell git rev-parse HEAD 2>/dev/null)
GIT_MODIFIED := $(shell test -z "$$(git status --porcelain --untracked-files=no 2>/dev/null)" && echo false || echo true)
LDFLAGS := -X github.com/cyrexa/customer-api/impl/buildinfo.revision=$(GIT_REVISION) -X github.com/cyrexa/customer-api/impl/buildinfo.modified=$(GIT_MODIFIED)

build: ## build the binary into bin/
	$(GO) build -buildvcs=auto -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/customer-api
	$(GO) build -buildvcs=auto -ldflags '$(LDFLAGS)' -o bin/customerctl ./cmd/customerctl

# make run runs the binary of make build, not go run: go run stamps no VCS revision, and
# `version` and customer_api_build_info would say "unknown".
ADDR ?= 127.0.0.1:8080
METRICS_ADDR ?= 127.0.0.1:9464
run: build ## build, then serve demo data as its own token issuer on ADDR (127.0.0.1:8080; loopback only), metrics on METRICS_ADDR (127.0.0.1:9464; off: none)
	$(BIN) serve --dev --demo --addr $(ADDR) --metrics-addr $(METRICS_ADDR)

# The image: the static binary (the SQLite driver is pure Go), CA roots, user 65532, no shell;
# built by scripts/image with go-containerregistry, no Docker daemon needed. One per platform
# of IMAGE_ARCHS in the OCI layout's index; the tarball (docker load takes one) holds the build
# machine's.
IMAGE_TAR := bin/customer-api-image.tar
IMAGE_OCI := bin/customer-api-oci
IMAGE_ARCHS := amd64 arm64
HOST_ARCH = $(shell $(GO) env GOARCH)
image: ## build the OCI image (linux/amd64 and linux/arm64) without a Docker daemon: bin/customer-api-image.tar (docker/podman load, this machine's platform) and bin/customer-api-oci (OCI layout, both)
	for arch in $(IMAGE_ARCHS); do \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -buildvcs=auto -ldflags '$(LDFLAGS)' -o bin/image/linux-$$arch/customer-api ./cmd/customer-api || exit 1; \
	done
	$(GO) run ./scripts/image $(foreach arch,$(IMAGE_ARCHS),--binary linux/$(arch)=bin/image/linux-$(arch)/customer-api) \
		--ca /etc/ssl/certs/ca-certificates.crt --tarball-platform linux/$(HOST_ARCH) \
		--version "$$(bin/image/linux-$(HOST_ARCH)/customer-api version | cut -d' ' -f2)" --revision '$(GIT_REVISION)' \
		--tarball $(IMAGE_TAR) --oci $(IMAGE_OCI)

image-test: ## unpack the image of `make image` and run its binary from the image's file system (version, serve --dev, /healthz, healthcheck); check the OCI index's platforms
	@test -f $(IMAGE_TAR) || (echo "no $(IMAGE_TAR): run 'make image' first" >&2; exit 1)
	CUSTOMER_API_IMAGE=$(CURDIR)/$(IMAGE_TAR) CUSTOMER_API_IMAGE_OCI=$(CURDIR)/$(IMAGE_OCI) \
		CUSTOMER_API_IMAGE_PLATFORMS='$(foreach arch,$(IMAGE_ARCHS),linux/$(arch))' \
		$(GO) test -count=1 -run '^TestImage' -v ./scripts/image

# The server every development and CI machine runs; `make test` uses it when it answers and
# CUSTOMER_API_TEST_POSTGRES is not set already.
PG_TEST_URL := postgres://postgres@127.0.0.1:5432/test?sslmode=disable

test: ## run every test (PostgreSQL's too, when a server answers on 127.0.0.1:5432)
	@if [ -z "$$CUSTOMER_API_TEST_POSTGRES" ] && pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
		export CUSTOMER_API_TEST_POSTGRES='$(PG_TEST_URL)'; fi; \
	echo "go test -count=1 -race $(PKGS)"; $(GO) test -count=1 -race $(PKGS)

vet: ## go vet
	$(GO) vet $(PKGS)

fmt: ## gofmt the hand-written code
	gofmt -w $$(git ls-files '*.go' | grep -v '\.gen\.go$$')

# staticcheck is pinned here by version and run with go run, so it stays out of go.mod.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: vet ## gofmt, go vet, staticcheck, and a go.mod that go mod tidy would leave as it is
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.gen\.go$$')); test -z "$$out" || (echo "gofmt would change: $$out" >&2; exit 1)
	$(GO) run $(STATICCHECK) $(PKGS)
	@$(GO) mod tidy -diff || (echo "go.mod or go.sum is not tidy: run go mod tidy and commit" >&2; exit 1)

FUZZTIME ?= 20s
fuzz: ## fuzz the request path for FUZZTIME (new failures land in impl/server/testdata/fuzz)
	$(GO) test -run '^$$' -fuzz '^FuzzRequest$$' -fuzztime $(FUZZTIME) ./impl/server

bench: ## run the benchmarks
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# --- The contract as a product: checks by tools we did not write. The npm ones are pinned in
# package.json and package-lock.json; oasdiff in tools/oasdiff/go.mod, a module of its own, so
# the service's go.mod stays free of it (scripts/check-breaking.sh builds it into bin/oasdiff).
NPM_BIN := node_modules/.bin
export REDOCLY_TELEMETRY := off
export REDOCLY_SUPPRESS_UPDATE_NOTICE := true

node_modules/.package-lock.json: package.json package-lock.json
	npm ci

npm-tools: node_modules/.package-lock.json ## install the pinned npm tools from package-lock.json (npm ci)

lint-spec: npm-tools ## lint openapi.yaml with Redocly CLI and Spectral (redocly.yaml, .spectral.yaml): 0 errors, 0 warnings
	$(NPM_BIN)/redocly lint --config redocly.yaml --format stylish openapi.yaml
	$(NPM_BIN)/spectral lint --ruleset .spectral.yaml --fail-severity warn openapi.yaml

check-breaking: ## fail on breaking changes since api/baseline/openapi.yaml (oasdiff), then prove the gate bites
	scripts/check-breaking.sh
	scripts/check-breaking-test.sh

contract-prism: npm-tools ## run the main scenarios through Prism's validating proxy in front of the real service
	scripts/prism-contract.sh

check-typescript: npm-tools ## generate TypeScript types from openapi.yaml; partners/typescript must compile with tsc --strict
	$(NPM_BIN)/openapi-typescript openapi.yaml --output partners/typescript/generated/customer-api.d.ts
	$(NPM_BIN)/tsc --strict --noEmit -p partners/typescript

test-browser: npm-tools build ## open the docs page in headless Debian chromium; screenshots in test-output/
	node scripts/docs-browser-test.mjs $(BIN)

# The reliability suite (reliability/, docs/reliability.md): the real binary under load and faults.
# SOAK is the length of the soak (the full one: SOAK=10m); PostgreSQL's tests run when a server
# answers on 127.0.0.1:5432, the full-disk test when mount(8) is permitted.
SOAK ?= 90s
.PHONY: reliability
reliability: ## SIGTERM, PostgreSQL outages, imports while reading, tenant isolation under attack, a soak (SOAK=90s) and a full disk, on the real binary
	@if [ -z "$$CUSTOMER_API_TEST_POSTGRES" ] && pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
		export CUSTOMER_API_TEST_POSTGRES='$(PG_TEST_URL)'; fi; \
	echo "CUSTOMER_API_RELIABILITY=1 CUSTOMER_API_SOAK=$(SOAK) go test -count=1 -v -timeout 40m ./reliability"; \
	CUSTOMER_API_RELIABILITY=1 CUSTOMER_API_SOAK=$(SOAK) $(GO) test -count=1 -v -timeout 40m ./reliability
