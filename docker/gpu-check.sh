#!/usr/bin/env bash
# GPU checks of issue 10: XLA parity with the Hugging Face fixture, E2B LoRA
# training throughput and memory, greedy decoding speed, and bfloat16 vs
# float32 training losses. Run from the repository root:
#
#   docker/gpu-check.sh [BINARY] [OUTDIR] [STEPS...]
#
# BINARY defaults to bin/gemma3n-therapy (build it with cgo:
# `CGO_ENABLED=1 go build -o bin/gemma3n-therapy ./pkg/cmd/gemma3n-therapy`),
# OUTDIR to bench-results; STEPS default to "parity train generate numerics".
# Each step writes OUTDIR/<step>.json (the report) and OUTDIR/<step>.log,
# under a time limit: parity 90 s, train 300 s, generate 180 s (570 s
# together), numerics 480 s; override with GPU_CHECK_LIMIT_<STEP>=seconds.
#
# Inside the GPU image the environment is already set. Elsewhere the script
# finds JAX's CUDA PJRT plugin and the nvidia-* libraries in python3's
# site-packages (pip install "jax-cuda13-plugin[with-cuda]") and libdevice in
# /usr/local/cuda or the wheels.
set -uo pipefail

bin=${1:-bin/gemma3n-therapy}
out=${2:-bench-results}
shift $(( $# < 2 ? $# : 2 ))
steps=${*:-parity train generate numerics}
mkdir -p "$out"

if [[ -z "${GOMLX_BACKEND:-}" || "$GOMLX_BACKEND" != xla:* ]]; then
  site=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  plugin=$(ls "$site"/jax_plugins/xla_cuda*/xla_cuda_plugin.so 2>/dev/null | sort | tail -n 1)
  if [[ -z "$plugin" ]]; then
    echo "gpu-check: no jax_plugins/xla_cuda*/xla_cuda_plugin.so in $site" >&2
    exit 1
  fi
  export GOMLX_BACKEND="xla:$plugin"
  libs=$(find "$site/nvidia" -maxdepth 3 -type d -name lib 2>/dev/null | paste -sd: -)
  export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  if [[ -z "${XLA_FLAGS:-}" ]]; then
    cuda=/usr/local/cuda
    if [[ ! -f $cuda/nvvm/libdevice/libdevice.10.bc ]]; then
      libdevice=$(find "$site/nvidia" -name libdevice.10.bc 2>/dev/null | head -n 1)
      cuda=$(dirname "$(dirname "$(dirname "$libdevice")")")
    fi
    export XLA_FLAGS="--xla_gpu_cuda_data_dir=$cuda"
  fi
fi
export GOPJRT_CUDA_CHECKS=0 GOMLX_NO_AUTO_INSTALL=1

{
  echo "GOMLX_BACKEND=$GOMLX_BACKEND"
  echo "XLA_FLAGS=${XLA_FLAGS:-}"
  echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
} | tee "$out/env.log"

status=0
run() { # step, default time limit in seconds, bench arguments...
  local step=$1 var="GPU_CHECK_LIMIT_${1^^}"
  local limit=${!var:-$2}
  shift 2
  echo "== bench $step $*"
  local start=$SECONDS
  timeout "$limit" "$bin" bench "$step" "$@" --json >"$out/$step.json" 2>"$out/$step.log"
  local rc=$?
  echo "   exit $rc after $((SECONDS - start)) s"
  [[ $rc == 0 ]] || { status=1; tail -n 20 "$out/$step.log"; }
  head -c 4000 "$out/$step.json"; echo
}

for step in $steps; do
  case $step in
    parity)   run parity 90 ;;
    train)    run train 300 --steps 10 --warmup 2 ;;
    generate) run generate 180 --prompt-len 256 --new-tokens 64 --runs 2 ;;
    numerics) run numerics 480 --steps 20 ;;
    *) echo "gpu-check: unknown step $step" >&2; status=1 ;;
  esac
done
exit $status
