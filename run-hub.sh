#!/usr/bin/env bash
# SmartPOS quick start: set up on a fresh Debian machine, then run the cloud (SQLite), a local
# Mosquitto, and the hub claimed from that cloud with a simulated ESC/POS receipt printer.
# Ctrl-C stops them all.
#
#   ./run-hub.sh               set up (if needed) and run
#   ./run-hub.sh --setup-only  only install what is missing (used by ./run-tests.sh)
#
# Ports: HUB_PORT (default 8420) for the hub's API, CLOUD_PORT (8600) for the cloud, BROKER_PORT
# (1884) for Mosquitto, PRINTER_PORT (9100) and PRINTER_CONTROL_PORT (9101) for the simulator,
# DISPLAY_CONTROL_PORT (9102) and SCANNER_CONTROL_PORT (9103) for the simulated customer display
# and barcode scanner, which sit on pseudo-terminals linked from .demo/by-id/ for discovery.
# Everything listens on 127.0.0.1 only. State lives in .demo/ (delete it to start afresh).
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

# The demo runs its own Mosquitto beside the cloud (the machine's may already hold 1883).
apt_install mosquitto

HUB_PORT=${HUB_PORT:-8420}
PRINTER_PORT=${PRINTER_PORT:-9100}
PRINTER_CONTROL_PORT=${PRINTER_CONTROL_PORT:-9101}
BROKER_PORT=${BROKER_PORT:-1884}
CLOUD_PORT=${CLOUD_PORT:-8600}
DISPLAY_CONTROL_PORT=${DISPLAY_CONTROL_PORT:-9102}
SCANNER_CONTROL_PORT=${SCANNER_CONTROL_PORT:-9103}
DEMO=.demo
ABS="$PWD/$DEMO"
mkdir -p "$DEMO/broker" "$DEMO/cloud" "$DEMO/data"
chmod 700 "$DEMO/broker" "$DEMO/cloud" "$DEMO/data"

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

secret() { .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(18))'; }
[ -s "$DEMO/cloud/bridge.secret" ] || (umask 077; secret > "$DEMO/cloud/bridge.secret")

# --- the cloud's settings: SQLite, the local broker, and the broker files it manages -----------
export SMARTPOS_CLOUD_DB_URL="sqlite+aiosqlite:///$ABS/cloud/cloud.db"
export SMARTPOS_CLOUD_HOST=127.0.0.1
export SMARTPOS_CLOUD_PORT="$CLOUD_PORT"
export SMARTPOS_CLOUD_BROKER_URL="mqtt://127.0.0.1:$BROKER_PORT"
SMARTPOS_CLOUD_BRIDGE_PASSWORD="$(cat "$DEMO/cloud/bridge.secret")"
export SMARTPOS_CLOUD_BRIDGE_PASSWORD
export SMARTPOS_CLOUD_MOSQUITTO_PASSWORD_FILE="$ABS/broker/passwd"
export SMARTPOS_CLOUD_MOSQUITTO_ACL_FILE="$ABS/broker/acl"
CLOUD=.venv/bin/smartpos-cloud

if [ ! -s "$DEMO/cloud/login.txt" ]; then
  echo ">> first run: creating the demo business, its owner and its store in the cloud"
  rm -f "$DEMO/cloud/cloud.db" "$DEMO/cloud/store.id" "$DEMO/data/cloud-link.toml"
  $CLOUD migrate >/dev/null
  $CLOUD create-tenant "Demo Business" >/dev/null
  OWNER_PASSWORD="$(secret)"
  $CLOUD create-user --tenant "Demo Business" --email owner@demo.example --password "$OWNER_PASSWORD" \
    --role owner --name "Demo Owner" >/dev/null
  $CLOUD create-store --tenant "Demo Business" --name "Demo store" --country BA --currency BAM \
    --timezone Europe/Sarajevo --locale bs-BA --pos-mode retail --address "Ferhadija 1" \
    --postal-code 71000 --city Sarajevo > "$DEMO/cloud/store.id"
  (umask 077; printf 'email: owner@demo.example\npassword: %s\n' "$OWNER_PASSWORD" > "$DEMO/cloud/login.txt")
fi
$CLOUD migrate >/dev/null
# Mosquitto will not start without its password and ACL files (there is no broker to reload yet).
$CLOUD broker-files >/dev/null 2>&1 || $CLOUD broker-files

# --- the broker ------------------------------------------------------------------------------
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
{
  echo "listener $BROKER_PORT 127.0.0.1"
  echo "allow_anonymous false"
  echo "password_file $ABS/broker/passwd"
  echo "acl_file $ABS/broker/acl"
  echo "persistence true"
  echo "persistence_location $ABS/broker/"
  echo "max_queued_messages 100000"
  # As root Mosquitto would drop to the "mosquitto" user, who cannot read .demo.
  [ "$(id -u)" -eq 0 ] && echo "user root"
} > "$DEMO/broker/mosquitto.conf"
"$MOSQUITTO" -c "$DEMO/broker/mosquitto.conf" > "$DEMO/broker/mosquitto.log" 2>&1 &
PIDS+=($!)
echo "$!" > "$DEMO/broker/mosquitto.pid"
# The cloud signals the broker (SIGHUP) after each claim or revocation to reload its files.
export SMARTPOS_CLOUD_MOSQUITTO_PID_FILE="$ABS/broker/mosquitto.pid"

# --- the cloud -----------------------------------------------------------------------------
$CLOUD serve > "$DEMO/cloud/cloud.log" 2>&1 &
PIDS+=($!)
.venv/bin/python - "$CLOUD_PORT" <<'PY' || { echo "the cloud did not start; see .demo/cloud/cloud.log" >&2; exit 1; }
import sys, time, urllib.request, urllib.error
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/v1/auth/me", timeout=1)
    except urllib.error.HTTPError:
        sys.exit(0)  # answering (401): up
    except OSError:
        time.sleep(0.2)
sys.exit(1)
PY

# --- the demo store's configuration, authored through the cloud's API as an admin would ------
if [ ! -s "$DEMO/cloud/config.authored" ]; then
  echo ">> first run: authoring the demo store's taxes, tenders, catalog, settings and cashier in the cloud"
  .venv/bin/python - "$CLOUD_PORT" "$DEMO/cloud/login.txt" "$(cat "$DEMO/cloud/store.id")" > "$DEMO/cloud/config.authored" <<'PY' \
    || { echo "authoring the demo configuration failed" >&2; exit 1; }
import json, sys, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}/api/v1"
login = dict(line.split(": ", 1) for line in open(sys.argv[2]).read().splitlines())

def call(method, path, body=None, token=None):
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")

token = call("POST", "/auth/login", {"email": login["email"], "password": login["password"]})["token"]
api = lambda method, path, body=None: call(method, path, body, token)
pdv = api("POST", "/config/tax_rates", {"name": "PDV 17 %", "rate": "17", "inclusive": True, "is_default": True})["key"]
api("PUT", "/config/tenders/cash", {"name": "Gotovina", "tender_type": "cash", "cashdrawer": "force_open",
                                    "change_type": "tender", "change_tender": "cash", "over_tender": True, "sort_order": 1})
api("PUT", "/config/tenders/card", {"name": "Kartica", "tender_type": "card", "eft": True, "sort_order": 2})
drinks = api("POST", "/config/categories", {"name": "Pića", "color": "#1f5fbf"})["key"]
food = api("POST", "/config/categories", {"name": "Hrana", "color": "#137a3f"})["key"]
for name, price, category, sku in (("Kafa", 200, drinks, "KAFA"), ("Čaj", 180, drinks, "CAJ"),
                                   ("Sok od jabuke", 350, drinks, "SOK"), ("Kisela voda 0,5 l", 250, drinks, "VODA"),
                                   ("Burek", 450, food, "BUREK"), ("Ćevapi 10 kom", 1200, food, "CEVAPI10"),
                                   ("Somun", 150, food, "SOMUN"), ("Baklava", 300, food, "BAKLAVA")):
    api("POST", "/config/products", {"name": name, "price": price, "category_id": int(category),
                                     "tax_rate_id": int(pdv), "sku": sku, "cost_price": price * 2 // 5})
api("PUT", "/config/store_settings/store", {"store_name": "Demo store", "business_name": "Demo Business d.o.o.",
                                            "address": "Ferhadija 1, 71000 Sarajevo", "currency": "BAM",
                                            "currency_symbol": "KM", "language": "bs", "timezone": "Europe/Sarajevo",
                                            "receipt_footer": "Hvala na posjeti!"})
api("POST", "/config/employees", {"cashier_num": 1, "name": "Demo Kasir", "role": "manager", "pin": "1234"})
print(json.dumps({"config_version": api("GET", f"/stores/{sys.argv[3]}/config")["version"]}))
PY
  printf 'cashier: number 1, PIN 1234 (authored in the cloud, pushed to the hub)\n' >> "$DEMO/cloud/login.txt"
fi

# --- the hub -------------------------------------------------------------------------------
cat > "$DEMO/hub.toml" <<TOML
# Demo hub written by run-hub.sh: embedded SQLite, one simulated receipt printer, claimed from the
# demo cloud (the claim writes data/cloud-link.toml, which fills the [sync] section).
[hub]
name = "demo-hub"
language = "bs"

[api]
host = "127.0.0.1"
port = $HUB_PORT

[storage]
data_dir = "$ABS/data"

[mdns]
# Off in the demo so nothing is multicast onto the machine's network.
enabled = false

[log]
format = "text"

[discovery]
# The simulated display and scanner are found by their by-id style links; mDNS is browsed on
# loopback only, and no Bluetooth scan runs.
serial = ["$ABS/by-id/*"]
mdns_interfaces = ["127.0.0.1"]
ble = false

[[devices]]
id = "receipt"
kind = "printer"
driver = "escpos"
name = "Simulated receipt printer"
url = "tcp://127.0.0.1:$PRINTER_PORT"
TOML

if [ ! -s "$DEMO/data/cloud-link.toml" ]; then
  echo ">> claiming the hub from the demo cloud"
  CODE=$($CLOUD add-hub --tenant "Demo Business" --store "$(cat "$DEMO/cloud/store.id")" --name demo-hub)
  .venv/bin/smartpos-hub --config "$DEMO/hub.toml" claim "$CODE" --cloud "http://127.0.0.1:$CLOUD_PORT"
fi

.venv/bin/smartpos-sim printer --port "$PRINTER_PORT" --control-port "$PRINTER_CONTROL_PORT" \
  --output "$DEMO/paper.txt" 2> "$DEMO/printer.log" &
PIDS+=($!)
mkdir -p "$DEMO/by-id"
.venv/bin/smartpos-sim display --link "$ABS/by-id/usb-Generic_CD5220_Customer_Display_DEMO1-if00-port0" \
  --protocol cd5220 --control-port "$DISPLAY_CONTROL_PORT" 2> "$DEMO/display.log" &
PIDS+=($!)
.venv/bin/smartpos-sim scanner --link "$ABS/by-id/usb-Honeywell_Barcode_Scanner_DEMO1-if00-port0" \
  --control-port "$SCANNER_CONTROL_PORT" 2> "$DEMO/scanner.log" &
PIDS+=($!)

cat <<EOF_MSG
>> cloud: fleet view at http://127.0.0.1:$CLOUD_PORT/fleet  (API docs: /schema)
   sign in with the owner in $DEMO/cloud/login.txt; the store's catalog, taxes, tenders, settings
   and cashier were authored through the cloud's API and pushed to the hub
>> broker: Mosquitto on 127.0.0.1:$BROKER_PORT (files the cloud writes: $DEMO/broker/)
>> simulated printer on 127.0.0.1:$PRINTER_PORT (faults: nc 127.0.0.1 $PRINTER_CONTROL_PORT, then e.g. "paper_out on")
>> what it prints goes to $DEMO/paper.txt
>> in another terminal:
     .venv/bin/smartpos-hub --config $DEMO/hub.toml print-test receipt
     .venv/bin/smartpos-hub --config $DEMO/hub.toml sync status   # the config version applied
     cat $DEMO/paper.txt
>> a simulated customer display and barcode scanner wait to be adopted:
     .venv/bin/smartpos-hub --config $DEMO/hub.toml discover
     .venv/bin/smartpos-hub --config $DEMO/hub.toml devices adopt "serial:$ABS/by-id/usb-Generic_CD5220_Customer_Display_DEMO1-if00-port0" --role customer_display --terminal T1
     .venv/bin/smartpos-hub --config $DEMO/hub.toml devices adopt "serial:$ABS/by-id/usb-Honeywell_Barcode_Scanner_DEMO1-if00-port0" --role scanner --terminal T1
   then: echo status | nc 127.0.0.1 $DISPLAY_CONTROL_PORT   (what the display shows)
         echo 'scan 3870000000020' | nc 127.0.0.1 $SCANNER_CONTROL_PORT   (a scan, sent to T1's websocket)
EOF_MSG
.venv/bin/smartpos-hub serve --config "$DEMO/hub.toml" &
PIDS+=($!)
wait "${PIDS[-1]}"
