#!/bin/sh
# The container's build stage: deploy/Dockerfile RUNs it in /src, a copy of
# the repository, on debian:bookworm-slim (scripts/dockerfile-check.sh runs it
# in a fresh Debian 12 root). It installs the build packages of
# scripts/install-deps.sh plus the server's two libraries and `file` (which
# cpack's dpkg-shlibdeps step runs), builds Release
# without tests, benchmarks or the Python module, and packs the .deb
# (build/sparse-infer_<version>_amd64.deb) that the run stage installs: the
# run image's libraries are then exactly the .deb's Depends (dpkg-shlibdeps).
set -eu
cd "$(dirname "$0")/.."
apt-get -qq update
scripts/install-deps.sh build
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  libcpp-httplib-dev nlohmann-json3-dev file
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
  -DSI_BUILD_TESTS=OFF -DSI_BUILD_BENCH=OFF -DSI_BUILD_PYTHON=OFF
cmake --build build -j"$(nproc)"
build/tools/sparse-infer serve --help >/dev/null  # the server is in: its libraries were found
cd build
cpack -G DEB
