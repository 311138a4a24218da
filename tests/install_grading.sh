#!/usr/bin/env bash
# System packages of the grading tests (idempotent; a no-op when they are present):
#   bubblewrap  the sandbox every submission runs in (course_tools/sandbox/)
#   postgresql  a throw-away server on 127.0.0.1 for the PostgreSQL gradebook test
# Needs root (apt-get). Without root or apt, it says so and the tests that need the missing
# package skip (PostgreSQL) or fail with the command to run (bubblewrap).
set -uo pipefail
# Usage: bash tests/install_grading.sh [bubblewrap] [postgresql]   (both when none is named)
want=("$@")
[ ${#want[@]} -eq 0 ] && want=(bubblewrap postgresql)
need=()
for pkg in "${want[@]}"; do
  case $pkg in
    bubblewrap) command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap) ;;
    postgresql) ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql) ;;
  esac
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install_grading.sh: cannot install ${need[*]} (needs root and apt-get)" >&2
  exit 0
fi
echo "Installing ${need[*]} for the grading tests..."
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null 2>&1 || {
  apt-get update -q >/dev/null 2>&1
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
    echo "install_grading.sh: apt-get could not install ${need[*]}" >&2
}
# Debian's package starts a cluster of its own; the tests start their own throw-away one.
exit 0
