#!/usr/bin/env bash
# Idempotent install step for v2s and its local lab (Debian 12, run as root).
# Installs the Debian packages the lab and the product need, then the Python
# dependencies into .venv. Re-running it is cheap: a stamp keyed by the hash of
# this script and pyproject.toml skips work that is already done.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
CACHE=${V2S_CACHE:-$ROOT/.cache}
mkdir -p "$CACHE"

APT_PACKAGES=(
  golang-go golang-github-vmware-govmomi-dev golang-github-kr-pretty-dev
  qemu-utils qemu-system-x86 ovmf
  libguestfs-tools virt-v2v libnbd-bin nbdkit linux-image-amd64
  debootstrap gdisk dosfstools mtools grub-efi-amd64-bin grub-pc-bin
  parted kpartx fdisk e2fsprogs lvm2 openssl ca-certificates
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install: Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

stamp_key=$(cat tests/lab/install.sh pyproject.toml | sha256sum | cut -c1-16)
stamp=.venv/.v2s-install-$stamp_key
if [ ! -f "$stamp" ]; then
  echo "install: Python dependencies into .venv"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[dev,dask]"
  rm -f .venv/.v2s-install-*
  touch "$stamp"
fi
echo "install: ok"
