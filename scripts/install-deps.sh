#!/usr/bin/env bash
# Installs, with apt-get, only the Debian 12 packages lmshrink needs that are missing.
#   scripts/install-deps.sh [--with-browser]
set -euo pipefail
packages=(
  g++ make cmake
  libtorch-dev            # tensors, linear algebra, autograd (CPU build)
  libopenblas0-pthread    # fast BLAS for libtorch (Debian's default libblas is the reference BLAS)
  libgoogle-perftools-dev # tcmalloc: freed tensor pages are reused instead of faulted in again
  nlohmann-json3-dev libcli11-dev
  libgtest-dev libbenchmark-dev
  libpcre2-dev            # tokenizer.json pre-tokenizer regexes (Unicode classes, JIT)
  libutf8proc-dev         # NFC normalizer of tokenizer.json (Qwen)
  libbz2-dev              # HellaSwag's bzip2 task file
  libpng-dev              # the report test reads Chromium's screenshot
  jq                      # the GGUF check and the benches read JSON records
)
# --with-browser (the test command): also Chromium, which the report test renders the HTML report in, and clang with
# its libFuzzer runtime for the fuzz smoke step (scripts/fuzz.sh), and GNU time for bench/scale.sh's peak memory.
if [ "${1:-}" = "--with-browser" ]; then packages+=(chromium clang libclang-rt-14-dev time); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm (any vendor's): the GGUF tests run llama.cpp through node-llama-cpp (tests/gguf).
command -v node > /dev/null && command -v npm > /dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# node-llama-cpp at the versions package-lock.json pins, its prebuilt linux-x64 CPU build only: no GPU extras, no
# install script (it would try to download or build llama.cpp). `npm install` with the lock, not `npm ci`: the lock
# made on Linux leaves out the macOS/Windows builds, which `npm ci` then calls out of sync.
cd "$(dirname "$0")/../tests/gguf"
if [ ! -d node_modules/node-llama-cpp ] || [ package-lock.json -nt node_modules ]; then
  echo "install-deps: npm install in tests/gguf (node-llama-cpp, CPU build)"
  NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --omit=optional --ignore-scripts --no-audit --no-fund > /dev/null
fi
