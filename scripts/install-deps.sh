#!/usr/bin/env bash
# Installs the Debian packages the test suite needs (debootstrap for the test root, systemd-nspawn for the systemd
# test host, iproute2 for network namespaces, openssl for the HTTPS test's certificate), only when one is missing.
# Needs root.
set -euo pipefail
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
command -v ip >/dev/null || need+=(iproute2)
command -v nsenter >/dev/null || need+=(util-linux)
command -v dpkg-deb >/dev/null || need+=(dpkg)
command -v openssl >/dev/null || need+=(openssl)
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
