#!/usr/bin/env bash
# llama.cpp's Hugging Face -> GGUF converters, from the llama-cpp-python sdist on PyPI (the same version overlay
# pins), unpacked into .venv/share/llama-convert/: convert_hf_to_gguf.py, convert_lora_to_gguf.py, their package
# `conversion/` and gguf-py. No other download: the converters need torch, transformers and numpy, which overlay
# already installs. Used by the tests (a GGUF of the bundled MiniLM) and by you, to convert a model you have:
#   .venv/bin/python .venv/share/llama-convert/convert_hf_to_gguf.py MODEL_FOLDER --outfile model.gguf --outtype f16
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=.venv/share/llama-convert
VERSION=$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("llama_cpp_python"))')
if [ -f "$DEST/VERSION" ] && [ "$(cat "$DEST/VERSION")" = "$VERSION" ]; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
.venv/bin/python -m pip download -q --no-deps --no-binary :all: "llama-cpp-python==$VERSION" \
  -d "$tmp" 2>&1 | grep -v "^WARNING: Location" || true
archive=$(ls "$tmp"/llama_cpp_python-*.tar.gz)
root="llama_cpp_python-$VERSION/vendor/llama.cpp"
rm -rf "$DEST" && mkdir -p "$DEST"
tar -xzf "$archive" -C "$DEST" --strip-components=3 "$root/convert_hf_to_gguf.py" "$root/convert_lora_to_gguf.py" \
  "$root/conversion" "$root/gguf-py"
echo "$VERSION" > "$DEST/VERSION"
echo "llama.cpp converters $VERSION in $DEST"
