#!/usr/bin/env bash
# `npm test` runs this first (the `pretest` script): it makes sure the machine has what the
# suite needs before the long build starts.
#
#   curl          a test streams through it as an outside client
#   redis-server  the Redis broker's tests start their own, on a free loopback port
#   promtool      test/hub-metrics.test.ts checks the hub's /metrics with it (Debian: prometheus)
#   Chromium      test/browser.test.ts drives it with playwright-core, at $CHROMIUM_PATH or
#                 /usr/bin/chromium (no browser is ever downloaded by npm)
#   ruby, php, go, rustc  test/hub-publishers.test.ts runs examples/publishers with them
#   nginx, openssl  test/hub-nginx.test.ts runs docs/hub-deploy.md's config in front of two
#                 hubs, with a certificate openssl makes
#   nghttp        test/http2-outside-clients.test.ts talks HTTP/2 to the app with it
#                 (Debian: nghttp2-client)
#   node_modules  installed with `npm ci` on a fresh clone
#
# As root on Debian/Ubuntu it installs what is missing with apt-get; anywhere else it stops at
# once with the command to run. It prints nothing when all is there. Bash 3.2 (macOS) safe.
set -euo pipefail

# Where to look for Chromium: the same default and override as the browser tests.
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"

# Debian puts nginx in /usr/sbin, which a non-root user's PATH lacks; the test looks there too.
SBIN_DIRS="${SBIN_DIRS-/usr/local/sbin:/usr/sbin:/sbin}"

# The missing tools, by the keywords curl, redis, promtool, chromium, ruby, php, go, rustc,
# openssl, nginx and nghttp (a space-separated list).
missing=""

main() {
  cd "$(project_root "${BASH_SOURCE[0]}")"
  find_missing_tools
  if [ -n "$missing" ]; then provide_missing_tools; fi
  ensure_node_modules
}

project_root() {
  case "$1" in
    */*) printf '%s/..\n' "${1%/*}" ;;
    *) printf '..\n' ;;
  esac
}

find_missing_tools() {
  missing=""
  if ! command -v curl >/dev/null 2>&1; then missing="$missing curl"; fi
  if ! command -v redis-server >/dev/null 2>&1; then missing="$missing redis"; fi
  if ! command -v promtool >/dev/null 2>&1; then missing="$missing promtool"; fi
  if [ ! -x "$CHROMIUM" ]; then missing="$missing chromium"; fi
  local tool
  for tool in ruby php go rustc openssl; do
    if ! command -v "$tool" >/dev/null 2>&1; then missing="$missing $tool"; fi
  done
  if ! PATH="$PATH:$SBIN_DIRS" command -v nginx >/dev/null 2>&1; then missing="$missing nginx"; fi
  if ! command -v nghttp >/dev/null 2>&1; then missing="$missing nghttp"; fi
  missing="${missing# }"
}

is_missing() {
  case " $missing " in
    *" $1 "*) return 0 ;;
    *) return 1 ;;
  esac
}

provide_missing_tools() {
  if [ -n "${CHROMIUM_PATH:-}" ] && is_missing chromium; then
    fail "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable file: point it at a Chromium or Chrome executable, or unset it to use /usr/bin/chromium."
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    install_with_apt
  else
    fail "$(install_instructions)"
  fi
}

# --- Debian and Ubuntu -----------------------------------------------------------------------

is_ubuntu() {
  local key value
  [ -r /etc/os-release ] || return 1
  while IFS='=' read -r key value; do
    case "$key=$value" in
      ID=ubuntu | ID=\"ubuntu\" | ID_LIKE=*ubuntu*) return 0 ;;
    esac
  done </etc/os-release
  return 1
}

# Ubuntu ships Chromium as a snap only (its apt package just installs the snap).
apt_packages() {
  local packages=""
  if is_missing curl; then packages="$packages curl"; fi
  if is_missing redis; then packages="$packages redis-server"; fi
  if is_missing promtool; then packages="$packages prometheus"; fi
  if is_missing chromium && ! is_ubuntu; then packages="$packages chromium"; fi
  if is_missing ruby; then packages="$packages ruby"; fi
  if is_missing php; then packages="$packages php-cli"; fi
  if is_missing go; then packages="$packages golang-go"; fi
  if is_missing rustc; then packages="$packages rustc"; fi
  if is_missing openssl; then packages="$packages openssl"; fi
  if is_missing nginx; then packages="$packages nginx"; fi
  if is_missing nghttp; then packages="$packages nghttp2-client"; fi
  printf '%s\n' "${packages# }"
}

ubuntu_chromium_hint() {
  echo "  sudo snap install chromium, then: CHROMIUM_PATH=/snap/bin/chromium npm test"
  echo "  (or Google Chrome's .deb, then: CHROMIUM_PATH=/usr/bin/google-chrome npm test)"
}

install_with_apt() {
  local packages
  packages="$(apt_packages)"
  if [ -n "$packages" ]; then
    echo "test setup: installing $packages (apt-get)"
    apt-get update
    if is_missing redis || is_missing nginx || is_missing promtool; then
      without_starting_services apt_install $packages
    else
      apt_install $packages
    fi
  fi
  find_missing_tools
  if [ -n "$missing" ]; then
    fail "still $(install_instructions)"
  fi
}

apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

# The redis-server, nginx and prometheus packages would start services (on 6379, 80 and 9090)
# that the tests never use (they run redis-server, nginx and promtool themselves): a
# policy-rc.d that answers 101 ("action forbidden") keeps invoke-rc.d from starting them, and
# whatever started anyway is stopped.
without_starting_services() {
  local policy=/usr/sbin/policy-rc.d added_policy="" status=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added_policy=1
    # Interrupted mid-install, the file must not stay: it would keep every service installed
    # later on this machine from starting.
    trap 'rm -f "$policy"; exit 130' INT TERM
  fi
  "$@" || status=$?
  if [ -n "$added_policy" ]; then
    rm -f "$policy"
    trap - INT TERM
  fi
  service redis-server stop >/dev/null 2>&1 || true
  service nginx stop >/dev/null 2>&1 || true
  service prometheus stop >/dev/null 2>&1 || true
  return "$status"
}

# --- What to tell a user who is not root, or not on Debian ------------------------------------

describe_missing() {
  local names=""
  if is_missing curl; then names="$names, curl"; fi
  if is_missing redis; then names="$names, redis-server"; fi
  if is_missing promtool; then names="$names, promtool (Debian package prometheus)"; fi
  if is_missing chromium; then names="$names, Chromium (looked for $CHROMIUM)"; fi
  if is_missing ruby; then names="$names, ruby"; fi
  if is_missing php; then names="$names, php (the CLI)"; fi
  if is_missing go; then names="$names, go"; fi
  if is_missing rustc; then names="$names, rustc"; fi
  if is_missing openssl; then names="$names, openssl"; fi
  if is_missing nginx; then names="$names, nginx"; fi
  if is_missing nghttp; then names="$names, nghttp (Debian package nghttp2-client)"; fi
  printf '%s\n' "${names#, }"
}

install_instructions() {
  printf 'missing %s. Install with the following, then run npm test again:\n' "$(describe_missing)"
  if command -v apt-get >/dev/null 2>&1; then
    debian_instructions
  elif [ "$(uname -s)" = Darwin ]; then
    macos_instructions
  else
    other_instructions
  fi
}

debian_instructions() {
  local packages
  packages="$(apt_packages)"
  if [ -n "$packages" ]; then
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends $packages"
    echo "(npm test runs this apt-get itself when run as root.)"
  fi
  if is_missing chromium && is_ubuntu; then ubuntu_chromium_hint; fi
  if is_missing redis; then
    echo "(The tests start their own redis-server; the package's service on 6379 is not needed:"
    echo "sudo systemctl disable --now redis-server stops it.)"
  fi
}

macos_instructions() {
  local chrome="/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"
  if is_missing curl; then echo "  brew install curl"; fi
  if is_missing redis; then echo "  brew install redis"; fi
  if is_missing promtool; then echo "  brew install prometheus"; fi
  if is_missing ruby; then echo "  brew install ruby"; fi
  if is_missing php; then echo "  brew install php"; fi
  if is_missing go; then echo "  brew install go"; fi
  if is_missing rustc; then echo "  brew install rust"; fi
  if is_missing openssl; then echo "  brew install openssl"; fi
  if is_missing nginx; then echo "  brew install nginx"; fi
  if is_missing nghttp; then echo "  brew install nghttp2"; fi
  if is_missing chromium; then
    if [ ! -x "$chrome" ]; then echo "  brew install --cask google-chrome"; fi
    echo "  export CHROMIUM_PATH=\"$chrome\""
  fi
}

other_instructions() {
  echo "  with your package manager: curl, Redis (redis-server on the PATH), Prometheus (promtool"
  echo "  on the PATH), Chromium or Chrome, ruby, php (the CLI), go, rustc, openssl, nginx and"
  echo "  nghttp2's nghttp (set CHROMIUM_PATH to its executable if it is not /usr/bin/chromium)."
}

# --- node_modules ----------------------------------------------------------------------------

# A fresh clone gets `npm ci`. A node_modules that no longer matches package.json is left to
# its owner (npm ci would delete it, and it may be a link to another checkout's).
ensure_node_modules() {
  if [ ! -e node_modules ] && [ ! -L node_modules ]; then
    echo "test setup: no node_modules, running npm ci"
    npm ci --no-audit --no-fund
    return
  fi
  local problems
  if ! problems="$(npm ls --depth=0 2>&1 >/dev/null)"; then
    fail "node_modules does not match package.json:" "$problems" \
      "Run npm ci (or npm install), then npm test again."
  fi
}

fail() {
  {
    printf 'test setup: %s\n' "$1"
    shift
    if [ $# -gt 0 ]; then printf '%s\n' "$@"; fi
  } >&2
  exit 1
}

main
