#!/usr/bin/env bash
# Set up on a fresh Debian machine (Python venv and the Debian packages the tests use) and run
# the whole test suite. Extra arguments go to pytest, e.g. ./run-tests.sh -k printing -x
set -euo pipefail
cd "$(dirname "$0")"
# systemd: systemd-analyze verifies our unit; iproute2: ip netns isolates the mDNS test;
# the linter for shell scripts (install.sh and these quick-start scripts); mosquitto: the
# sync tests start their own broker with generated password and ACL files (openssl makes
# the TLS test's CA); chromium: the fleet page's browser test drives Debian's Chromium through
# Playwright (which never downloads a browser of its own).
SMARTPOS_EXTRA_APT="systemd iproute2 shellcheck mosquitto openssl chromium ${SMARTPOS_EXTRA_APT:-}" ./run-hub.sh --setup-only
# Tests run in parallel workers (pytest-xdist): most of their time is spent waiting on
# processes, brokers and databases, and each test has its own ports, files and databases.
# SMARTPOS_TEST_WORKERS=0 runs them in this process, one after another.
exec .venv/bin/python -m pytest -n "${SMARTPOS_TEST_WORKERS:-4}" "$@"
