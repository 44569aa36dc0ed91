#!/usr/bin/env bash
# GPU checks: XLA parity with the Hugging Face fixture, E2B LoRA training
# throughput and memory (fused attention and gradient checkpointing on and
# off: train, train-eager, train-remat, train-eager-remat), greedy decoding
# speed, and bfloat16 vs float32 training losses. Run from the repository root:
#
#   docker/gpu-check.sh [BINARY] [OUTDIR] [STEPS...]
#
# BINARY defaults to bin/gemma3n-therapy (build it with cgo:
# `CGO_ENABLED=1 GOEXPERIMENT=simd go build -o bin/gemma3n-therapy ./pkg/cmd/gemma3n-therapy`),
# OUTDIR to bench-results; STEPS default to "parity train-small train
# generate-small generate". Each step writes OUTDIR/<step>.json (the report)
# and OUTDIR/<step>.log (a line per phase), under a time limit: parity and
# parity-f32 60 s, train-small 90 s, train 230 s, generate-small 60 s,
# generate 120 s (the default steps fit in 560 s), the train-* variants 230 s,
# numerics 480 s; override
# with GPU_CHECK_LIMIT_<STEP>=seconds (dashes as underscores:
# GPU_CHECK_LIMIT_TRAIN_SMALL).
#
# Inside the GPU image the environment is already set. Elsewhere the script
# finds JAX's CUDA PJRT plugin and the nvidia-* libraries in python3's
# site-packages (pip install "jax-cuda13-plugin[with-cuda]") and libdevice in
# /usr/local/cuda or the wheels.
set -uo pipefail

bin=${1:-bin/gemma3n-therapy}
out=${2:-bench-results}
shift $(( $# < 2 ? $# : 2 ))
steps=${*:-parity train-small train generate-small generate}
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
export GOPJRT_CUDA_CHECKS=0 GOMLX_NO_AUTO_INSTALL=1 GODEBUG=${GODEBUG:-asyncpreemptoff=1}

{
  echo "GOMLX_BACKEND=$GOMLX_BACKEND"
  echo "XLA_FLAGS=${XLA_FLAGS:-}"
  echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
} | tee "$out/env.log"

status=0
run() { # name, default time limit in seconds, bench command and arguments...
  local name=$1 var="GPU_CHECK_LIMIT_${1^^}"
  var=${var//-/_}
  local limit=${!var:-$2}
  shift 2
  echo "== $name: bench $* (limit ${limit} s)"
  local start=$SECONDS
  timeout "$limit" "$bin" bench "$@" --json >"$out/$name.json" 2>"$out/$name.log"
  local rc=$?
  echo "   exit $rc after $((SECONDS - start)) s"
  # The log holds a line per phase (weights, compilation, every step): on a
  # timeout its last line says where the run was.
  [[ $rc == 0 ]] || { status=1; tail -n 20 "$out/$name.log"; }
  head -c 4000 "$out/$name.json"; echo
}

# Small sizes first, so that a slow or stuck phase at full size still leaves
# numbers; --layers 2 keeps the E2B widths (and the 262k vocabulary).
for step in $steps; do
  case $step in
    parity)         run parity 60 parity ;;
    # float32 dots without TF32: cuBLAS instead of Triton GEMMs, TF32 off.
    parity-f32)     XLA_FLAGS="${XLA_FLAGS:-} --xla_gpu_enable_triton_gemm=false" NVIDIA_TF32_OVERRIDE=0 \
                      run parity-f32 60 parity ;;
    train-small)    run train-small 90 train --layers 2 --seq 256 --steps 3 --warmup 1 ;;
    train)          run train 230 train --steps 10 --warmup 2 ;;
    # The issue-14 matrix: flash attention (fused) and gradient checkpointing on and off.
    train-eager)    run train-eager 230 train --steps 10 --warmup 2 --attention eager ;;
    train-remat)    run train-remat 230 train --steps 10 --warmup 2 --gradient-checkpointing ;;
    train-eager-remat) run train-eager-remat 230 train --steps 10 --warmup 2 --attention eager --gradient-checkpointing ;;
    generate-small) run generate-small 60 generate --layers 2 --prompt-len 64 --new-tokens 16 ;;
    generate)       run generate 120 generate --prompt-len 256 --new-tokens 64 --runs 2 ;;
    numerics)       run numerics 480 numerics --steps 20 ;;
    *) echo "gpu-check: unknown step $step" >&2; status=1 ;;
  esac
done
exit $status
