# igrid — the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
BIN     := bin/igrid
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# Packages with goroutines and shared state run under the race detector.
RACE_PKGS := ./drm/... ./node/... ./gish/... ./accounts/... ./internal/... ./policies/...

.PHONY: build run test test-deps bench lint clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/igrid

run: build
	./$(BIN) dev

test: test-deps lint
	$(GO) test -count=1 -timeout 30m $$($(GO) list ./... | grep -v -e /drm -e /node -e /gish -e /accounts -e /internal -e /policies)
	$(GO) test -count=1 -race -timeout 30m $(RACE_PKGS)

# Packages the tests need; installed when missing (we are root on CI).
test-deps:
	@./scripts/test-deps.sh

bench: build test-deps
	$(GO) test -run '^$$' -bench . -benchtime 20x ./internal/devgrid/
	$(GO) test -run '^$$' -bench . ./drm/... ./policies/... ./gish/...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin .igrid-dev
