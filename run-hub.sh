#!/usr/bin/env bash
# SmartPOS quick start: set up on a fresh Debian machine, then run the hub with a simulated
# ESC/POS receipt printer. Ctrl-C stops both.
#
#   ./run-hub.sh               set up (if needed) and run
#   ./run-hub.sh --setup-only  only install what is missing (used by ./run-tests.sh)
#
# Ports: HUB_PORT (default 8420) for the hub's API, PRINTER_PORT (9100) and PRINTER_CONTROL_PORT
# (9101) for the simulator. Everything listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo ">> installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
}

setup() {
  if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    apt_install python3 python3-venv python3-pip
  fi
  python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "SmartPOS needs Python 3.11 or newer")'
  # B2B invoices are A4 PDFs set in DejaVu Sans, which has every letter of our languages.
  apt_install fonts-dejavu-core
  if [ -n "${SMARTPOS_EXTRA_APT:-}" ] && command -v dpkg-query >/dev/null; then
    # shellcheck disable=SC2086 # a space-separated list on purpose
    apt_install $SMARTPOS_EXTRA_APT
  fi
  if [ ! -x .venv/bin/python ]; then
    echo ">> creating .venv"
    python3 -m venv .venv
  fi
  local stamp=.venv/.smartpos-installed
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo ">> installing SmartPOS and its Python packages into .venv"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[dev]'
    touch "$stamp"
  fi
}

setup
[ "${1:-}" = "--setup-only" ] && exit 0

HUB_PORT=${HUB_PORT:-8420}
PRINTER_PORT=${PRINTER_PORT:-9100}
PRINTER_CONTROL_PORT=${PRINTER_CONTROL_PORT:-9101}
DEMO=.demo
mkdir -p "$DEMO"
cat > "$DEMO/hub.toml" <<TOML
# Demo hub written by run-hub.sh: embedded SQLite, one simulated receipt printer.
[hub]
name = "demo-hub"
language = "bs"

[api]
host = "127.0.0.1"
port = $HUB_PORT

[storage]
data_dir = "$PWD/$DEMO/data"

[mdns]
# Off in the demo so nothing is multicast onto the machine's network.
enabled = false

[log]
format = "text"

[[devices]]
id = "receipt"
kind = "printer"
driver = "escpos"
name = "Simulated receipt printer"
url = "tcp://127.0.0.1:$PRINTER_PORT"
TOML

.venv/bin/smartpos-sim printer --port "$PRINTER_PORT" --control-port "$PRINTER_CONTROL_PORT" \
  --output "$DEMO/paper.txt" 2> "$DEMO/printer.log" &
SIM_PID=$!
trap 'kill $SIM_PID 2>/dev/null || true' EXIT

cat <<EOF_MSG
>> simulated printer on 127.0.0.1:$PRINTER_PORT (faults: nc 127.0.0.1 $PRINTER_CONTROL_PORT, then e.g. "paper_out on")
>> what it prints goes to $DEMO/paper.txt
>> in another terminal:
     .venv/bin/smartpos-hub --config $DEMO/hub.toml print-test receipt
     cat $DEMO/paper.txt
EOF_MSG
.venv/bin/smartpos-hub serve --config "$DEMO/hub.toml"
