# gemma3n-therapy: the two commands of the README are `make train` and `make test`.
# Both need only Go (1.26) on a Debian machine; Go modules download on first use.

GO      ?= go
BIN     := bin/gemma3n-therapy
PKG     := ./pkg/...
# Tests and the embedded default run on the pure-Go backend, never downloading a PJRT plugin.
export GOMLX_BACKEND ?= go
export GOMLX_NO_AUTO_INSTALL := 1
# The pure-Go backend's SIMD (AVX2/AVX-512) matrix kernels are compiled only with this Go
# experiment; without it CPU training is about ten times slower. Exported, so every go
# command here, the notebooks' GoNB kernel and CI build with it.
export GOEXPERIMENT := simd
# Go's asynchronous preemption slows scalar float code after SIMD kernels on AVX-512
# machines (pkg/backend/preemption.go); the command turns it off itself, tests and
# notebooks get it from here.
export GODEBUG := asyncpreemptoff=1

.PHONY: all build train test test-short lint fuzz clean llamacpp-deps

all: build

build:
	$(GO) build -o $(BIN) ./pkg/cmd/gemma3n-therapy

# The main job on the embedded default: the debug-size curriculum (five phases, DPO, merge) on
# the shipped data and the built-in tiny Gemma 3n, on the CPU (about 4 minutes on 2 cores).
# The tiny model is random-init and LoRA moves its loss only a little (it starts near
# ln 8192), so each phase trains its 20 examples as one batch for 4 epochs at scaled-up
# learning rates: every step sees the same data and the fall within each phase is steady.
# The run directory goes under runs/ and is the last line printed.
TRAIN_FLAGS ?= --model tiny --debug --dtype float32 --lr-scale 100 --epochs 4 --max-eval-examples 16 \
	--dpo-max-steps 4 --verify-merge --set data.debug.max_seq_length=128 \
	--set training.per_device_train_batch_size=20 --set training.gradient_accumulation_steps=1 \
	--set training.warmup_ratio=0 --set training.logging_steps=1 --set lora.lora_dropout=0 \
	--set dpo.per_device_train_batch_size=8 --set dpo.gradient_accumulation_steps=1 \
	--set dpo.num_train_epochs=4 --set dpo.learning_rate=5e-5 --set dpo.warmup_ratio=0
train: build
	./$(BIN) train curriculum $(TRAIN_FLAGS) --out runs/curriculum-$$(date +%Y%m%d-%H%M%S)

# The test command of the README; .ci/run calls exactly this.
# It also executes every notebook headless (notebooks-check, notebooks/notebooks.mk), which
# installs Jupyter's nbconvert from Debian packages on first use, and installs the CPU build of
# llama.cpp (npm package node-llama-cpp, llamacpp-deps) that the GGUF export tests run; under
# make test those tests fail rather than skip when it is missing (GGUF_REQUIRE_LLAMA=1).
test: llamacpp-deps
	$(GO) vet $(PKG)
	GGUF_REQUIRE_LLAMA=1 $(GO) test -timeout 30m -count=1 $(PKG)
	$(MAKE) notebooks-check

# llama.cpp for the GGUF export tests: node-llama-cpp 3.21.1 and its prebuilt Linux x64 CPU
# binaries (about 80 MB), pinned by pkg/export/testdata/llamacpp/package-lock.json, installed
# into that folder's node_modules (ignored by git) on first use. Needs Node.js 18+ and npm.
LLAMACPP_DIR := pkg/export/testdata/llamacpp
llamacpp-deps:
	@test -f $(LLAMACPP_DIR)/node_modules/node-llama-cpp/package.json || { \
	  command -v npm >/dev/null || { echo "llamacpp-deps: npm is missing (apt-get install -y nodejs npm)" >&2; exit 1; }; \
	  echo "llamacpp-deps: installing node-llama-cpp into $(LLAMACPP_DIR)"; \
	  cd $(LLAMACPP_DIR) && npm ci --omit=optional --ignore-scripts --no-audit --no-fund; \
	}

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
	rm -rf bin runs reports notebooks/.executed $(LLAMACPP_DIR)/node_modules

include notebooks/notebooks.mk
