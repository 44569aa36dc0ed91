# gemma3n-therapy: the two commands of the README are `make train` and `make test`.
# Both need only Go (1.26) on a Debian machine; Go modules download on first use.

GO      ?= go
BIN     := bin/gemma3n-therapy
PKG     := ./pkg/...
# Tests and the embedded default run on the pure-Go backend, never downloading a PJRT plugin.
export GOMLX_BACKEND ?= go
export GOMLX_NO_AUTO_INSTALL := 1

.PHONY: all build train test test-short lint fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./pkg/cmd/gemma3n-therapy

# The main job on the embedded default: shipped data, CPU.
train: build
	./$(BIN) data stats

# The test command of the README; .ci/run calls exactly this.
test:
	$(GO) vet $(PKG)
	$(GO) test -timeout 30m -count=1 $(PKG)

# A quicker loop for development: skips the slow cases.
test-short:
	$(GO) test -short -count=1 $(PKG)

lint:
	@out=$$(gofmt -l pkg); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKG)

# Run every fuzz target for FUZZTIME each (e.g. make fuzz FUZZTIME=30s).
FUZZTIME ?= 10s
fuzz:
	@for pkg in $$($(GO) list $(PKG)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin runs reports

include notebooks/notebooks.mk
