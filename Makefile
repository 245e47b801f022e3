# hoop — make targets. `make demo` and `make test` are the quick start.
GO      ?= go
BIN     := bin
HOOPCTL := $(BIN)/hoopctl
PKGS    := ./...

.PHONY: all build setup setup-bench test test-short check fuzz demo bench clean

all: build

build:
	$(GO) build -o $(HOOPCTL) ./cmd/hoopctl

# Installs the servers and clients the tests drive (apt-get when missing).
setup:
	@bash internal/testenv/setup.sh test

setup-bench:
	@bash internal/testenv/setup.sh bench

# Formatting, vet, then every test under the race detector against real servers.
test: setup check
	$(GO) test -race -timeout 30m $(PKGS)

test-short: check
	$(GO) test -short $(PKGS)

check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# A short run of every fuzz target (FUZZTIME per target).
FUZZTIME ?= 10s
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# Starts throwaway upstreams (Postgres, MariaDB, sshd, Kubernetes, an HTTP
# service) and one broker, and prints what to type. DEMO_KUBE=0 skips
# Kubernetes. Built, not `go run`: go run exits 1 on Ctrl-C.
demo: setup build
	$(GO) build -o $(BIN)/demo ./internal/demo
	$(BIN)/demo

# Direct vs pgbouncer vs the broker, printed as ratios.
bench: setup-bench build
	$(GO) run ./internal/bench

clean:
	rm -rf $(BIN) .demo
