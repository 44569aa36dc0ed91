# Notebooks on the GoNB kernel, headless. Included by the top-level Makefile.
#
#   make report            execute every notebook and write HTML reports to reports/
#                          (setup cells hidden), then check them
#   make notebooks-check   CI: test the checker, check that committed notebooks have no
#                          outputs, execute every notebook with GEMMA3N_THERAPY_DEBUG=1 and
#                          fail on any error output, panic, non-zero exit status or lost chart
#
# nbconvert exits 0 when a Go cell panics or exits non-zero, so both targets run
# notebooks/tools/nbcheck over the executed notebooks and their HTML.
#
# Tools, installed on first use (idempotent): Jupyter's nbconvert from Debian packages
# (apt-get; needs root), GoNB, goimports and nbcheck from the tool module notebooks/tools
# (versions pinned in its go.mod) into notebooks/.tools/bin, and the GoNB kernel spec into
# notebooks/.jupyter. Executed notebooks and logs go to notebooks/.executed. All three are
# ignored by git.

GO            ?= go
NB_DIR        := notebooks
NB_NAMES      := $(basename $(notdir $(sort $(wildcard $(NB_DIR)/[0-9][0-9]_*.ipynb))))
NB_BIN        := $(abspath $(NB_DIR)/.tools/bin)
NB_WORK       := $(NB_DIR)/.executed
NB_REPORTS    := reports
NB_TIMEOUT    ?= 600
# Environment of the CI execution: debug sizes (notebooks 01-02 read the whole corpora
# either way; they take seconds), and half the default training and evaluation sizes of 03-05
# (every cell and chart still runs; make report keeps the notebooks' own defaults).
NB_CHECK_ENV  ?= GEMMA3N_THERAPY_DEBUG=1 GEMMA3N_THERAPY_DATASET_SIZE=50 GEMMA3N_THERAPY_EVAL_EXAMPLES=8 \
	GEMMA3N_THERAPY_DPO_STEPS=4 GEMMA3N_THERAPY_DPO_PAIRS=8
NB_APT        := jupyter-nbconvert jupyter-client jupyter-core

# GoNB runs go and goimports: both must be on the PATH of the jupyter process.
NB_ENV = PATH="$(NB_BIN):$(dir $(shell command -v $(GO))):$$PATH" JUPYTER_DATA_DIR="$(abspath $(NB_DIR)/.jupyter)"

.PHONY: report notebooks-check notebooks-tools notebooks-selftest

report: $(NB_NAMES:%=$(NB_WORK)/report/%.html)
	@mkdir -p $(NB_REPORTS)
	@for n in $(NB_NAMES); do \
	  cp $(NB_WORK)/report/$$n.html $(NB_REPORTS)/.$$n.html.tmp && mv $(NB_REPORTS)/.$$n.html.tmp $(NB_REPORTS)/$$n.html || exit 1; \
	  echo "report: $(NB_REPORTS)/$$n.html"; \
	done
	$(NB_BIN)/nbcheck -reports $(NB_REPORTS) $(NB_NAMES:%=$(NB_WORK)/report/%.ipynb)

notebooks-check: notebooks-selftest $(NB_NAMES:%=$(NB_WORK)/check/%.html)
	$(NB_BIN)/nbcheck -reports $(NB_WORK)/check $(NB_NAMES:%=$(NB_WORK)/check/%.ipynb)

# The checker's own tests, and committed notebooks must carry no outputs.
notebooks-selftest: notebooks-tools
	$(GO) -C $(NB_DIR)/tools vet ./...
	$(GO) -C $(NB_DIR)/tools test -count=1 ./...
	$(NB_BIN)/nbcheck -clean $(NB_NAMES:%=$(NB_DIR)/%.ipynb)

notebooks-tools:
	@command -v jupyter-nbconvert >/dev/null || { \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "notebooks: Jupyter is missing; as root: apt-get install -y --no-install-recommends $(NB_APT)" >&2; exit 1; \
	  fi; \
	  echo "notebooks: installing $(NB_APT)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(NB_APT) >/dev/null; \
	}
	GOBIN="$(NB_BIN)" $(GO) -C $(NB_DIR)/tools install tool ./nbcheck
	@mkdir -p $(NB_WORK)
	@$(NB_ENV) gonb --install --force_deps --raw_error >$(NB_WORK)/gonb-install.log 2>&1 || { cat $(NB_WORK)/gonb-install.log >&2; exit 1; }

# nb_execute,DIR,ENV: execute notebooks/$*.ipynb into DIR/$*.ipynb (errors kept as
# outputs, for nbcheck to report) and render it to DIR/$*.html without the setup cells
# and with the input of "hide-input" cells hidden.
define nb_execute
	@mkdir -p $(1)
	@echo "notebook $*: executing"
	@$(NB_ENV) $(2) jupyter nbconvert --to notebook --execute --allow-errors \
	  --ExecutePreprocessor.timeout=$(NB_TIMEOUT) --ExecutePreprocessor.kernel_name=gonb \
	  --output-dir $(1) $(NB_DIR)/$*.ipynb >$(1)/$*.log 2>&1 \
	  || { tail -n 30 $(1)/$*.log >&2; echo "notebook $*: nbconvert failed (log: $(1)/$*.log)" >&2; exit 1; }
	@jupyter nbconvert --to html --Highlight2HTML.default_language=go \
	  --TagRemovePreprocessor.enabled=True --TagRemovePreprocessor.remove_cell_tags='["setup"]' \
	  --TagRemovePreprocessor.remove_input_tags='["hide-input"]' \
	  --output-dir $(1) $(1)/$*.ipynb >>$(1)/$*.log 2>&1 \
	  || { tail -n 30 $(1)/$*.log >&2; echo "notebook $*: rendering failed (log: $(1)/$*.log)" >&2; exit 1; }
endef

# Always re-executed (notebooks-tools is phony): the packages a notebook uses are not
# tracked as prerequisites. `make -j2 report` runs notebooks in parallel.
$(NB_WORK)/report/%.html: $(NB_DIR)/%.ipynb notebooks-tools
	$(call nb_execute,$(NB_WORK)/report,)

$(NB_WORK)/check/%.html: $(NB_DIR)/%.ipynb notebooks-tools
	$(call nb_execute,$(NB_WORK)/check,$(NB_CHECK_ENV))

# Notebooks 03-05 share a run folder (notebooks/.executed/runs): 04 tunes 03's curriculum
# adapter and 05 evaluates the adapters of both. Under -j they run one after the other
# (01-02 beside them), so that each finds the runs of the one before.
$(NB_WORK)/report/04_dpo.html: | $(NB_WORK)/report/03_curriculum_training.html
$(NB_WORK)/report/05_evaluation_report.html: | $(NB_WORK)/report/04_dpo.html
$(NB_WORK)/check/04_dpo.html: | $(NB_WORK)/check/03_curriculum_training.html
$(NB_WORK)/check/05_evaluation_report.html: | $(NB_WORK)/check/04_dpo.html
