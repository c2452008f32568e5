#!/usr/bin/env bash
# Create .venv and install the pinned dependencies. Idempotent: re-installs only when a
# requirements file changed. Usage: scripts/setup.sh [requirements.txt|requirements-test.txt]
set -euo pipefail
cd "$(dirname "$0")/.."
req="${1:-requirements.txt}"
py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
stamp=".venv/.installed-$(cat requirements*.txt pyproject.toml | sha256sum | cut -c1-16)-${req%.txt}"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet -r "$req"
  # the project itself, editable: `import engine` works from anywhere (benchmarks, tools)
  .venv/bin/python -m pip install --quiet --no-deps -e .
  touch "$stamp"
fi
