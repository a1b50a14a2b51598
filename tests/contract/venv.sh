#!/usr/bin/env bash
# The contract tier's venv (docs/contract-tier.md): vLLM <version> from its PyPI wheel without its CUDA
# stack. vLLM installs with --no-deps; its Python dependencies come pinned from
# requirements-vllm-<version>.txt (vLLM's own Requires-Dist without torch/torchvision/torchaudio,
# xformers, ray and triton, resolved once and frozen), with a CPU build of torch. The wheel's CUDA
# kernels (*.abi3.so: they need libcudart and a driver) are deleted: nothing here can load them.
#
# usage: venv.sh VERSION VENV_DIR
# exit 0: ready (fresh or reused); 75: skipped for lack of disk (a loud warning on stderr); else failed.
set -euo pipefail
version="$1"
venv="$2"
here="$(cd "$(dirname "$0")" && pwd)"
lock="$here/requirements-vllm-$version.txt"
need_gib="${AKS_LLM_CONTRACT_NEED_GIB:-8}"  # measured: the wheel download (0.4 GiB) + the install (2.3 GiB) + pip's cache and build room

if [ ! -f "$lock" ]; then
  echo "contract tier: no pinned requirements for vLLM $version ($lock)" >&2
  exit 2
fi
if [ -f "$venv/.installed" ] && [ "$(cat "$venv/.installed")" = "$(sha256sum "$lock" | cut -d' ' -f1)" ]; then
  echo "contract tier: reusing $venv"
  exit 0
fi
mkdir -p "$(dirname "$venv")"
free_kib="$(df -Pk "$(dirname "$venv")" | awk 'NR == 2 {print $4}')"
if [ "$free_kib" -lt $((need_gib * 1024 * 1024)) ]; then
  {
    echo "##################################################################################"
    echo "WARNING: contract tier SKIPPED: $((free_kib / 1024 / 1024)) GiB free under $(dirname "$venv"),"
    echo "WARNING: it needs $need_gib GiB for vLLM $version's venv. vLLM's parser did NOT check the"
    echo "WARNING: rendered vLLM containers in this run. Free disk space and run: make contract"
    echo "##################################################################################"
  } >&2
  exit 75
fi
start=$(date +%s)
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$lock"
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "vllm==$version"
find "$venv"/lib/python3*/site-packages/vllm -name '*.abi3.so' -delete
sha256sum "$lock" | cut -d' ' -f1 > "$venv/.installed"
echo "contract tier: built $venv in $(($(date +%s) - start)) s ($(du -sh "$venv" | cut -f1))"
