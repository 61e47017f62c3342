#!/usr/bin/env bash
# Quickstart, main job: set up, index the bundled example vault with the bundled embedding model, search it,
# answer a question without a model (extractive) and through the LLM pipeline (bundled smoke-test model).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 ANONYMIZED_TELEMETRY=False
VAULT=examples/vault
echo "== overlay index --vault $VAULT"
.venv/bin/overlay index --vault "$VAULT"
echo "== overlay status --vault $VAULT"
.venv/bin/overlay status --vault "$VAULT"
echo "== overlay search 'сколько видеопамяти нужно для 32B модели' --vault $VAULT --k 3"
.venv/bin/overlay search "сколько видеопамяти нужно для 32B модели" --vault "$VAULT" --k 3
echo "== overlay search 'when does the nightly backup run' --vault $VAULT --k 3"
.venv/bin/overlay search "when does the nightly backup run" --vault "$VAULT" --k 3
echo "== overlay ask 'Сколько часов сна нужно спортсмену?' --vault $VAULT   (no model configured: extractive)"
echo "   (quotes the notes' own sentences, each cited; no model runs. Writes Overlay/<date> <question>.md)"
.venv/bin/overlay ask "Сколько часов сна нужно спортсмену?" --vault "$VAULT"
echo "== overlay ask 'Какую квантизацию выбрать для Qwen3-32B на RTX 6000?' --vault $VAULT --k 4 --no-write --set model_path=bundled"
echo "   (the LLM pipeline with the bundled SmolLM2-135M, a smoke-test model: its prose is weak and English-only; the"
echo "    note's skeleton, sources, citations and every [[link]] are built and checked by overlay. Set model_path to a"
echo "    Qwen3 GGUF for real answers.)"
.venv/bin/overlay ask "Какую квантизацию выбрать для Qwen3-32B на RTX 6000?" --vault "$VAULT" --k 4 --no-write \
    --set model_path=bundled
echo "== overlay doctor --vault $VAULT"
.venv/bin/overlay doctor --vault "$VAULT" || true
