#!/usr/bin/env bash
# Installs the Debian packages Strand needs, if any are missing. Sourced by tests/run.sh and
# deploy/quickstart.sh. As root it runs apt-get; otherwise it prints the exact command and fails.
STRAND_PACKAGES=(build-essential pkg-config meson ninja-build python3
  libzookeeper-mt-dev zookeeper libevent-dev libprotobuf-c-dev protobuf-c-compiler
  libssl-dev openssl liblz4-dev libcriterion-dev libjansson-dev strace
  iproute2 nftables iptables e2fsprogs)

strand_install_deps() {
  local missing=() p
  for p in "${STRAND_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing packages: ${missing[*]}" >&2
    echo "Install them with:  sudo apt-get install -y ${missing[*]}" >&2
    return 1
  fi
  echo "Installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || return 1
  apt-get install -y -qq "${missing[@]}" || return 1
}
