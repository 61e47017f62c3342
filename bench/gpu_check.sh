#!/usr/bin/env bash
# overlay's generation path on a CUDA GPU, against bare llama-cpp-python on the same card. Run on the GPU machine
# from the project root, after `bash ../shared/gpu/prepare.sh` on a machine with network has filled .gpu/ (a slim
# llama-cpp-python source, the `gguf` wheel, the random-weight Qwen3 writer) and pure-Python wheels overlay needs
# that the GPU image lacks are in .whl/ (bm25s, PyStemmer, python-frontmatter, orjson). Prints, and writes under
# $OUT (default /tmp/gpu_check):
#   build.txt      the CUDA build of llama-cpp-python (skipped when one with GPU offload is importable)
#   cpu.txt        the CPU model and its AMX flags (the `cpu_repack = "auto"` decision)
#   doctor.txt     doctor's generation check (a real generation in a model process) with the GPU build
#   raw-SIZE.json  raw llama.cpp prefill / decode tok/s for a Qwen3 shape (.gpu/llm_bench.py), full offload
#   ask-SIZE.json  bench/ask_bench.py: overlay's path (model process, streamed) / bare, same model and options
#   repack.json    bench/repack_bench.py with half the layers on the CPU (a partial offload), Q4_0
# SIZES (default "0.6b 4b") picks the Qwen3 shapes; weights are random (speed does not depend on their values).
# NO_BUILD=1 runs the rest with whatever llama_cpp is importable (a dry run of this script on a CPU: SIZES=tiny).
set -euo pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/gpu_check}
SIZES=${SIZES:-0.6b 4b}
[ -d /tmp/site ] && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
mkdir -p "$OUT"
if [ "${NO_BUILD:-0}" != 1 ] && ! python3 -c 'import llama_cpp, sys; sys.exit(0 if llama_cpp.llama_supports_gpu_offload() else 1)' 2>/dev/null
then
  NO_BENCH=1 bash .gpu/device_run.sh 2>&1 | tee "$OUT/build.txt"
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
[ -d .whl ] && python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$(pwd)${PYTHONPATH:+:$PYTHONPATH}
{ grep -m1 "model name" /proc/cpuinfo; echo "amx flags: $(grep -o -w 'amx_[a-z0-9]*' /proc/cpuinfo | sort -u | tr '\n' ' ')";
  nproc; } | tee "$OUT/cpu.txt"
ls -d /tmp/src/llama_cpp_python-* >/dev/null 2>&1 || { mkdir -p /tmp/src && tar xzf .gpu/llama_cpp_python-slim.tar.gz -C /tmp/src; }
VOCAB=$(ls -d /tmp/src/llama_cpp_python-*)/vendor/llama.cpp/models/ggml-vocab-qwen2.gguf
for size in $SIZES; do
  model=/tmp/q3-$size.gguf
  [ -f "$model" ] || python3 .gpu/make_random_qwen3_gguf.py "$VOCAB" "$model" "$size"
  if [ "$size" = "${SIZES%% *}" ]; then
    python3 - "$model" <<'EOF' | tee "$OUT/doctor.txt"
import sys
from pathlib import Path
from overlay.doctor import _generation
from overlay.settings import Settings
check = _generation(Settings(vault=Path("."), state_dir=Path("/tmp"), model_path=sys.argv[1]))
print(("OK  " if check.ok else "FAIL"), check.name, check.detail, check.fix)
EOF
  fi
  python3 .gpu/llm_bench.py "$model" -1 2048 256 | tee "$OUT/raw-$size.json"
  python3 bench/ask_bench.py --model "$model" --runs 5 --tokens 256 --n-ctx 4096 --repeat-penalty 1.5 | tee "$OUT/ask-$size.json"
  if [ "$size" = "${SIZES%% *}" ]; then
    layers=$(python3 -c 'import gguf, sys; print(gguf.GGUFReader(sys.argv[1]).fields["qwen3.block_count"].contents() // 2)' "$model")
    python3 bench/repack_bench.py --model "$model" --quantize Q4_0 --n-gpu-layers "$layers" --runs 3 --tokens 64 \
      | tee "$OUT/repack.json"
  fi
done
