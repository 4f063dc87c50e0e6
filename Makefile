# Paved's tasks. `make run` starts Paved on SQLite in ./paved-data;
# `make test` runs every test against the real parts (PostgreSQL, a
# kube-apiserver built from source, git).

SHELL := /bin/bash
GO    ?= go

# Paved is pure Go. gorm.io/driver/sqlite imports mattn/go-sqlite3 (unused:
# Paved hands GORM a modernc.org/sqlite connection); without cgo it compiles
# to a stub instead of building SQLite's C amalgamation on every cold build.
export CGO_ENABLED ?= 0

# The local PostgreSQL server the store tests use; override to point
# elsewhere. Unreachable: those tests skip loudly (and fail when CI is set).
PAVED_TEST_POSTGRES_DSN ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
export PAVED_TEST_POSTGRES_DSN

.PHONY: run build test bench lint fuzz envtest opa gitea crds generate

run: build
	./bin/paved serve

build:
	$(GO) build -trimpath -o bin/paved ./cmd/paved

# Prints each test with its result, so the PostgreSQL and Kubernetes tests
# are visibly run (or visibly skipped, with the reason).
test: lint envtest opa gitea crds
	KUBEBUILDER_ASSETS="$$(hack/envtest.sh --print)" $(GO) tool gotestsum --format testname -- -count=1 ./...
	@$(MAKE) --no-print-directory fuzz

# Explores each parser of untrusted input for FUZZTIME (the seeds already
# ran in go test). A crasher is written to the package's testdata/fuzz:
# commit it, so it stays a regression test. FUZZTIME is a count of inputs,
# not a duration: when a duration runs out in the middle of an input, Go's
# fuzzer reports "context deadline exceeded" as a failure.
FUZZTIME ?= 3000x
FUZZ_TARGETS := catalog:FuzzParseDocuments catalog:FuzzParseFilter catalog:FuzzDecodeCursor \
	catalog:FuzzPlaceholderTarget policies:FuzzParseReview scaffolder/render:FuzzRender
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} ($(FUZZTIME))"; \
		out=$$($(GO) test ./$${t%%:*} -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) 2>&1) || \
			{ echo "$$out" | grep -v '^fuzz: elapsed'; exit 1; }; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

lint:
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then echo "gofmt wants to change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

# Builds kube-apiserver and etcd from source (about 4 minutes once), cached
# in ~/.cache/paved/envtest.
envtest:
	@hack/envtest.sh >/dev/null

# Builds the real OPA server from source (about a minute once), cached in
# ~/.cache/paved/tools: tests load exported bundles into it, and the
# admission benchmark compares Paved with it.
opa:
	@hack/opa.sh >/dev/null

# Gitea, the real git host the scaffolder's publish tests push to, built
# from source through the module proxy (about 5 minutes, once) into
# ~/.cache/paved/tools.
gitea:
	@hack/gitea.sh >/dev/null

# The real upstream CRDs (Argo CD, Flux, Tekton, Istio, Prometheus
# Operator, SMI) from pinned releases of their Go modules, with their
# licences, into ~/.cache/paved/crds.
crds:
	@hack/crds.sh >/dev/null

generate:
	$(GO) generate ./...
