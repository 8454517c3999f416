#!/usr/bin/env bash
# Installs veribind's build and test dependencies from Debian 12's packages (as root). Skips the
# package step when everything is installed already. postgresql (15 on Debian 12) is the
# throwaway test and benchmark server (scripts/pg-test-server.sh); its cluster is never used.
set -euo pipefail
packages=(
  build-essential cmake pkg-config
  libsodium-dev libssl-dev libsqlite3-dev libpq-dev postgresql
  libphonenumber-dev libprotobuf-dev libicu-dev
  catch2 libbenchmark-dev libcli11-dev nlohmann-json3-dev
  liboath-dev  # the benchmarks' peer baseline (a TOTP check); optional for CMake
  libcurl4-openssl-dev libtomlplusplus-dev  # delivery (SMTP, HTTP SMS gateways), veribind.toml
  libboost-dev libboost-system-dev  # veribind serve: Boost.Beast (1.74; 1.81 conflicts with libphonenumber-dev)
  chromium chromium-driver python3-selenium wrk  # the signup page's browser test, the HTTP benchmark
  python3-aiosmtpd openssl  # the delivery tests' SMTP server and its throwaway CA
  clang-format
  clang libclang-rt-14-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
