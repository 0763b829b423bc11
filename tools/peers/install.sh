#!/usr/bin/env bash
# Installs the real third-party servers that cohort's interop tests and benchmarks run, from
# Debian's packages, idempotently, without letting their init scripts start daemons.
#   bash tools/peers/install.sh           install what is missing (as root), print versions
#   bash tools/peers/install.sh --check   exit 1 and list what is missing; install nothing
#   bash tools/peers/install.sh --quiet   as the default, but print only what changed
set -euo pipefail

# chromium: headless browser for cohort-proxy's status-page test (driven by playwright-core).
PACKAGES=(tomcat10 apache2 libapache2-mod-jk haproxy nginx pen memcached redis-server wrk netcat-openbsd chromium)
mode=install
quiet=0
for arg in "$@"; do
  case "$arg" in
    --check) mode=check ;;
    --quiet) quiet=1 ;;
    *) echo "install.sh: unknown argument '$arg' (use --check or --quiet)" >&2; exit 2 ;;
  esac
done

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done

if [ "$mode" = check ]; then
  if [ ${#missing[@]} -gt 0 ]; then
    printf '  missing Debian package: %s\n' "${missing[@]}"
    exit 1
  fi
  exit 0
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: missing ${missing[*]}; run as root: sudo bash tools/peers/install.sh" >&2
    exit 1
  fi
  # P22: never let a package's init script start a daemon on a shared port during install.
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  for p in "${missing[@]}"; do
    installed "$p" || { echo "install.sh: $p did not install" >&2; exit 1; }
  done
fi

if [ "$quiet" = 0 ] || [ ${#missing[@]} -gt 0 ]; then
  for p in "${PACKAGES[@]}"; do
    printf '  %-20s %s\n' "$p" "$(dpkg-query -W -f='${Version}' "$p")"
  done
fi
