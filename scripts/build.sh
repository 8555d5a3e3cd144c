#!/usr/bin/env bash
# Configures and builds lmshrink (Release) into build/. Extra arguments go to cmake, e.g.
#   scripts/build.sh -DTorch_DIR=/opt/libtorch/share/cmake/Torch   (a CUDA libtorch)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" > build.configure.log 2>&1 || { cat build.configure.log; exit 1; }
cmake --build build -j"$(nproc)"
