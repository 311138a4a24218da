#!/usr/bin/env bash
# Install Debian's headless Chromium and its driver for the browser tests, when missing.
# Needs root (CI and the course machines run as root); elsewhere prints how to do it by hand.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install_chromium: not root; install the Debian packages chromium and chromium-driver" \
       "(sudo apt-get install chromium chromium-driver) to run the browser tests." >&2
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install_chromium: no apt-get here; install Chromium and ChromeDriver by hand." >&2
  exit 0
fi
echo "Installing chromium and chromium-driver (Debian packages)..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
chromium --version
