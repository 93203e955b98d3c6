#!/usr/bin/env bash
# Remake every capture of pcaps/ (byte-identical: all generators are
# deterministic).  Usage: pcaps/make-pcaps.sh [BUILD_DIR]   (default: build)
# Needs a configured build directory: flowgen (bench/flowgen.c) is built
# there first.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
ninja -C "$build" bench/flowgen >/dev/null
python3 pcaps/make-pcaps.py --flowgen "$build/bench/flowgen" pcaps
