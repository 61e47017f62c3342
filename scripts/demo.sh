#!/usr/bin/env bash
# Quickstart, main job: set up, index the bundled example vault with the bundled embedding model, search it.
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
