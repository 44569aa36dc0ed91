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

.PHONY: all build train pretrain pretrain-check test test-short lint fuzz clean llamacpp-deps

all: build

build:
	$(GO) build -o $(BIN) ./pkg/cmd/gemma3n-therapy

# The main job on the embedded default: the debug-size curriculum (five phases, DPO, merge) on
# the shipped data and the built-in pretrained mini Gemma 3n (pkg/gemma3n/assets/mini), on the
# CPU, at the configuration's own learning rates. Each phase trains its 20 examples once (the
# phases' epochs) in batches of 4 rows of 128 tokens, packed; evaluation batches of 8 keep one
# graph shape per phase; DPO takes two steps of 4 pairs of at most 128 tokens. The run directory
# goes under runs/ and is the last line printed.
TRAIN_FLAGS ?= --model mini --debug --dtype float32 --max-eval-examples 16 \
	--dpo-max-steps 2 --verify-merge --set data.debug.max_seq_length=128 --set training.packing=true \
	--set training.per_device_train_batch_size=4 --set training.gradient_accumulation_steps=1 \
	--set training.per_device_eval_batch_size=8 --set training.warmup_ratio=0 --set training.logging_steps=1 \
	--set lora.lora_dropout=0 --set dpo.per_device_train_batch_size=4 --set dpo.gradient_accumulation_steps=1 \
	--set dpo.warmup_ratio=0 --set dpo.max_length=128 --set dpo.max_prompt_length=64
train: build
	./$(BIN) train curriculum $(TRAIN_FLAGS) --out runs/curriculum-$$(date +%Y%m%d-%H%M%S)

# The embedded default model (preset mini, pkg/gemma3n/assets/mini, embedded by the next build): a
# small Gemma 3n trained from random weights (seed training.seed = 42) on the training splits of the
# shipped corpora, on the CPU (about an hour on 2 idle cores), then shipped in bfloat16 with its model
# card. Resumable: an interrupted `make pretrain` continues from its last checkpoint in PRETRAIN_RUN
# (delete that directory to start over). Not part of `make test`.
PRETRAIN_RUN   ?= runs/pretrain-mini
PRETRAIN_FLAGS ?= --model mini --from-scratch --data corpus --loss-on all \
	--max-steps 800 --max-eval-examples 64 \
	--set model.max_seq_length=512 --set training.packing=true \
	--set training.per_device_train_batch_size=4 --set training.gradient_accumulation_steps=1 \
	--set training.learning_rate=3e-3 --set training.warmup_steps=30 --set training.weight_decay=0.1 \
	--set training.logging_steps=5 --set training.eval_steps=200 --set training.save_steps=50 \
	--set training.save_total_limit=2 --set training.early_stopping_patience=0 \
	--set training.per_device_eval_batch_size=8 \
	--set dpo.max_length=512 --set dpo.max_prompt_length=256
PRETRAIN_CMD    = gemma3n-therapy train full $(PRETRAIN_FLAGS)
# --resume when the run directory has a checkpoint (--resume of a directory without one is an error).
resume_if_started = $(if $(wildcard $(1)/checkpoints/step-*),--resume)
pretrain: build
	./$(BIN) train full $(PRETRAIN_FLAGS) $(call resume_if_started,$(PRETRAIN_RUN)) --out $(PRETRAIN_RUN)
	./$(BIN) pretrain ship --run $(PRETRAIN_RUN) --out pkg/gemma3n/assets/mini \
	  --command "make pretrain  # $(PRETRAIN_CMD) --out $(PRETRAIN_RUN) (--resume after an interruption)"
	$(MAKE) build

# Rebuild the default model from scratch in another run directory and compare its validation loss
# with the shipped model's (tolerance 0.05 nats); the result goes into the model card.
PRETRAIN_CHECK_RUN ?= runs/pretrain-check
pretrain-check: build
	./$(BIN) train full $(PRETRAIN_FLAGS) $(call resume_if_started,$(PRETRAIN_CHECK_RUN)) --out $(PRETRAIN_CHECK_RUN)
	./$(BIN) pretrain check --run $(PRETRAIN_CHECK_RUN) --shipped pkg/gemma3n/assets/mini --record \
	  --command "make pretrain-check  # $(PRETRAIN_CMD) --out $(PRETRAIN_CHECK_RUN) (--resume after an interruption)"

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
