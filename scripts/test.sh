#!/usr/bin/env bash
# Quickstart, tests: set up, lint, run the whole suite offline. pytest's exit code 5 (no tests ran) is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
# The graph page is tested in a real headless Chromium (Debian's package). Installed here where we may (root with
# apt-get, as on CI); elsewhere those tests skip and say why.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && \
    apt-get install -y -q chromium >/dev/null 2>&1; }) || echo "note: could not install chromium" >&2
fi
.venv/bin/ruff check .
# llama.cpp's converters (from the llama-cpp-python sdist on PyPI): the GGUF engine tests convert the bundled MiniLM
bash scripts/get_converter.sh || echo "note: could not fetch llama.cpp's converter: the GGUF engine tests will skip" >&2
set +e
.venv/bin/python -m pytest -q -rs -p no:cacheprovider "$@"   # -rs: every skip says why
code=$?
set -e
if [ "$code" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
[ "$code" -eq 0 ] || exit "$code"
# The Obsidian plugin: type-checked, built and tested against a real `overlay serve` (needs node and npm).
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  (cd obsidian-plugin && npm ci --no-audit --no-fund --loglevel=error && npm run -s typecheck && npm run -s build \
    && npm test)
else
  echo "note: node/npm not found: the Obsidian plugin's tests were SKIPPED (install Node.js 20 to run them)" >&2
fi
