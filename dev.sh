#!/usr/bin/env bash
# One entry point for people and CI.
#   ./dev.sh serve [aigateway serve options]   set up (first run only) and start the gateway
#   ./dev.sh test  [pytest options]            set up everything the tests need and run them all
# Setup is repeated only when pyproject.toml (or the test's node package) changes.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=.venv

need_python() {
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "aigateway needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))" >&2
    exit 1
  }
}

stamp() { cat pyproject.toml dev.sh | sha256sum | cut -c1-16; }

# setup_venv DIR STAMP_NAME PIP_ARGS...: (re)install when the inputs changed
setup_venv() {
  local dir=$1 name=$2
  shift 2
  local want
  want=$(stamp)
  if [ -f "$dir/.stamp-$name" ] && [ "$(cat "$dir/.stamp-$name")" = "$want" ]; then
    return
  fi
  need_python
  [ -x "$dir/bin/python" ] || "$PYTHON" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
  echo "$want" >"$dir/.stamp-$name"
}

# The dashboard's browser tests drive Debian's chromium with Playwright (Playwright's own
# browser download is not used).
setup_chromium() {
  [ -x /usr/bin/chromium ] && return
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
}

setup_test_extras() {
  setup_venv "$VENV" test -e '.[test]'
  setup_chromium
  # The seed's Python examples pass `temperature` as an argument, which the anthropic SDK
  # accepts only up to its last 0.x release: they run verbatim in a venv of their own.
  setup_venv .venv-sdk0 sdk0 'anthropic==0.125.0'
  # The seed's TypeScript examples run under node with the official SDK.
  if command -v npm >/dev/null 2>&1; then
    local want
    want=$(sha256sum tests/node/package.json | cut -c1-16)
    if [ ! -f tests/node/node_modules/.stamp ] || [ "$(cat tests/node/node_modules/.stamp)" != "$want" ]; then
      (cd tests/node && npm install --silent --no-package-lock --no-audit --no-fund)
      echo "$want" >tests/node/node_modules/.stamp
    fi
  fi
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  serve)
    # A venv set up for the tests already holds everything serving needs.
    if ! { [ -f "$VENV/.stamp-test" ] && [ "$(cat "$VENV/.stamp-test")" = "$(stamp)" ]; }; then
      setup_venv "$VENV" serve -e .
    fi
    exec "$VENV/bin/aigateway" serve "$@"
    ;;
  test)
    setup_test_extras
    "$VENV/bin/ruff" check src tests bench
    "$VENV/bin/ruff" format --check src tests bench
    "$VENV/bin/mypy"
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  *)
    echo "usage: ./dev.sh serve [options] | ./dev.sh test [pytest options]" >&2
    exit 2
    ;;
esac
