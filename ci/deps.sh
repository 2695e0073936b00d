#!/usr/bin/env bash
# ci/deps.sh [package...] — installs the Debian packages warden's builds and
# tests need (or the ones named), skipping what is already installed.
set -euo pipefail
packages=("$@")
if [ ${#packages[@]} -eq 0 ]; then
  # llvm: llvm-symbolizer for report stacks; libunwind8: the debug profile's unwinder
  # (the runtime only: libunwind-dev would remove the image's libunwind-14-dev)
  packages=(cmake make gcc clang libclang-rt-14-dev pkg-config check valgrind llvm libunwind8)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "ci/deps.sh: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq || true
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
