#!/usr/bin/env bash
# Install or upgrade the SmartPOS hub on a Debian 12 box from this source checkout. Run as root.
#
#   sudo systemd/install.sh              install or upgrade, then (re)start the service
#   sudo systemd/install.sh --no-start   install, enable, but don't start or restart now
#   sudo systemd/install.sh --bluetooth  also install BlueZ (done anyway if the box has an adapter)
#   systemd/install.sh --dry-run         print what would be done, change nothing
#   sudo systemd/install.sh --root DIR   put the unit, udev rules, sysusers/tmpfiles entries and
#                                        default config into the tree DIR (an image being built);
#                                        no apt-get, no venv, nothing started
#
# Idempotent: running it again upgrades the hub and keeps /etc/smartpos/hub.toml and
# /etc/default/smartpos-hub as they are. pip honours PIP_INDEX_URL / PIP_FIND_LINKS /
# PIP_NO_INDEX from the environment for boxes without Internet access.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=/opt/smartpos
VENV=$PREFIX/venv
# Debian's interpreter, not whatever python3 comes first on PATH: a venv made from a pyenv or
# other build under /root or /home breaks under the service user and ProtectHome=yes.
PYTHON=/usr/bin/python3
SERVICE=smartpos-hub

ARGS=("$@")
DRY_RUN=0
START=1
BLUETOOTH=auto
ROOT=

usage() { sed -n '2,15s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) DRY_RUN=1 ;;
    --no-start) START=0 ;;
    --bluetooth) BLUETOOTH=yes ;;
    --no-bluetooth) BLUETOOTH=no ;;
    --root)
      [ $# -ge 2 ] || { echo "--root needs a directory" >&2; exit 2; }
      ROOT=$(cd "$2" && pwd)
      shift
      ;;
    --root=*) ROOT=$(cd "${1#--root=}" && pwd) ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done
[ "$ROOT" = / ] && ROOT=

say() { printf '>> %s\n' "$*"; }
note() { printf '   %s\n' "$*"; }
die() { printf '!! %s\n' "$*" >&2; exit 1; }

# run CMD...: run it, or only print it under --dry-run.
run() {
  if [ "$DRY_RUN" -eq 1 ]; then
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

# install_new SRC DEST MODE [GROUP]: install a file only if DEST doesn't exist yet, so a
# technician's edits survive upgrades.
install_new() {
  if [ -e "$2" ]; then
    note "keeping existing $2"
  else
    run install -D -m "$3" ${4:+-g "$4"} "$1" "$2"
  fi
}

# The numeric GID of smartpos in the target tree's /etc/group (works for --root as well,
# where the host's name service doesn't know the group).
smartpos_gid() { awk -F: '$1 == "smartpos" { print $3 }' "$ROOT/etc/group" 2>/dev/null; }

systemd_running() { [ -z "$ROOT" ] && [ -d /run/systemd/system ]; }

if [ ! -f "$SRC/pyproject.toml" ] || [ ! -f "$SRC/systemd/$SERVICE.service" ]; then
  die "run this from a SmartPOS source checkout ($SRC has no pyproject.toml or systemd/)"
fi
if [ "$DRY_RUN" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
  die "run as root: sudo $0 ${ARGS[*]}"
fi
[ "$DRY_RUN" -eq 1 ] && say "dry run: printing the commands, changing nothing"
[ -n "$ROOT" ] && say "installing files into $ROOT (no packages, no venv, no service start)"

# --- Debian packages ---------------------------------------------------------------------
if [ -z "$ROOT" ]; then
  say "Debian packages"
  command -v apt-get >/dev/null || die "apt-get not found: this script is for Debian 12"
  # python3-venv brings ensurepip, so the venv gets its own pip (no python3-pip needed);
  # libusb-1.0-0 is what pyusb loads for USB printers; fonts-dejavu-core gives B2B invoice
  # PDFs a font with every letter of our languages (č ć đ š ž).
  packages=(python3 python3-venv libusb-1.0-0 fonts-dejavu-core)
  if [ "$BLUETOOTH" = yes ] || { [ "$BLUETOOTH" = auto ] && [ -n "$(ls -A /sys/class/bluetooth 2>/dev/null)" ]; }; then
    # BLE devices go through BlueZ over D-Bus; its D-Bus policy lets any local user talk to it.
    packages+=(bluez)
  fi
  missing=()
  for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    run apt-get update -qq
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    note "already installed: ${packages[*]}"
  fi
  if [ "$DRY_RUN" -eq 0 ]; then
    "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' ||
      die "SmartPOS needs Python 3.11 or newer (Debian 12 has 3.11)"
  fi
fi

# --- Service user and directories --------------------------------------------------------
say "service user smartpos and its directories"
run install -D -m 0644 "$SRC/systemd/sysusers.d/smartpos.conf" "$ROOT/etc/sysusers.d/smartpos.conf"
run install -D -m 0644 "$SRC/systemd/tmpfiles.d/smartpos.conf" "$ROOT/etc/tmpfiles.d/smartpos.conf"
run systemd-sysusers ${ROOT:+--root="$ROOT"} "$ROOT/etc/sysusers.d/smartpos.conf"
run systemd-tmpfiles --create ${ROOT:+--root="$ROOT"} "$ROOT/etc/tmpfiles.d/smartpos.conf"

# --- Python environment ------------------------------------------------------------------
if [ -z "$ROOT" ]; then
  say "Python environment $VENV"
  make_venv=0
  [ -x "$VENV/bin/python" ] || make_venv=1
  venv_home=$(sed -n 's/^home *= *//p' "$VENV/pyvenv.cfg" 2>/dev/null || true)
  if [ -n "$venv_home" ] && [ "$venv_home" != "$(dirname "$PYTHON")" ]; then
    note "$VENV was made from $venv_home, not $PYTHON: making it again"
    run rm -rf "$VENV"
    make_venv=1
  fi
  if [ "$make_venv" -eq 1 ]; then
    run "$PYTHON" -m venv "$VENV"
  fi
  # pip builds from a scratch copy: building in the checkout would leave root-owned build/
  # and *.egg-info behind. pip reinstalls a local directory even at the same version.
  if [ "$DRY_RUN" -eq 1 ]; then
    run "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input "$SRC"
    note "(pip runs on a scratch copy of $SRC)"
  else
    stage=$(mktemp -d)
    trap 'rm -rf "$stage"' EXIT
    tar -C "$SRC" --exclude=./.git --exclude=./.venv --exclude=./.demo --exclude=./build \
      --exclude='*.egg-info' --exclude=__pycache__ --exclude='.*_cache' --exclude=./.hypothesis \
      -cf - . | tar -C "$stage" -xf -
    "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input "$stage"
  fi
fi
# The CLI on root's PATH: sudo smartpos-hub status (it reads the admin token as root).
run install -d -m 0755 "$ROOT/usr/local/bin"
run ln -sfn "$VENV/bin/smartpos-hub" "$ROOT/usr/local/bin/smartpos-hub"
# The unit's Documentation= points here.
run install -D -m 0644 "$SRC/README.md" "$ROOT$PREFIX/doc/README.md"
run install -D -m 0644 "$SRC/systemd/README.md" "$ROOT$PREFIX/doc/systemd.md"

# --- Configuration -----------------------------------------------------------------------
say "configuration"
gid=$(smartpos_gid)
if [ -z "$gid" ] && [ "$DRY_RUN" -eq 0 ]; then
  die "systemd-sysusers did not create the group smartpos in $ROOT/etc/group"
fi
install_new "$SRC/systemd/hub.toml.example" "$ROOT/etc/smartpos/hub.toml" 0640 "${gid:-smartpos}"
install_new "$SRC/systemd/smartpos-hub.env" "$ROOT/etc/default/$SERVICE" 0644
if [ -z "$ROOT" ]; then
  # As the service user: proves the hub can read the file, not just that root can.
  if ! run runuser -u smartpos -- "$VENV/bin/smartpos-hub" check-config --config /etc/smartpos/hub.toml; then
    die "fix /etc/smartpos/hub.toml and run this again (the running hub was left alone)"
  fi
fi

# --- udev rules --------------------------------------------------------------------------
say "udev rules"
run install -D -m 0644 "$SRC/systemd/60-smartpos-hub.rules" "$ROOT/etc/udev/rules.d/60-smartpos-hub.rules"
if [ -z "$ROOT" ] && command -v udevadm >/dev/null && udevadm control --ping >/dev/null 2>&1; then
  run udevadm control --reload
  # Re-run the rules for what is plugged in now; new devices get them when plugged in.
  run udevadm trigger --action=change --subsystem-match=usb --subsystem-match=usbmisc --subsystem-match=tty
elif [ -z "$ROOT" ]; then
  note "udev is not running here: the rules apply from the next boot or plug-in"
fi

# --- systemd unit ------------------------------------------------------------------------
say "systemd unit $SERVICE.service"
run install -D -m 0644 "$SRC/systemd/$SERVICE.service" "$ROOT/etc/systemd/system/$SERVICE.service"
if systemd_running; then
  run systemctl daemon-reload
  if [ "$START" -eq 1 ]; then
    was_active=0
    systemctl is-active --quiet "$SERVICE" && was_active=1
    run systemctl enable --now "$SERVICE"
    # An upgrade: the running hub still has the old code loaded.
    [ "$was_active" -eq 1 ] && run systemctl restart "$SERVICE"
    if [ "$DRY_RUN" -eq 0 ]; then
      systemctl --no-pager --lines=5 status "$SERVICE" || true
    fi
  else
    run systemctl enable "$SERVICE"
    note "not started (--no-start): systemctl start $SERVICE"
  fi
elif [ -n "$ROOT" ]; then
  # Offline: only makes the multi-user.target.wants symlink inside ROOT.
  run systemctl --root="$ROOT" enable "$SERVICE"
  note "enabled in $ROOT; it starts when that system boots"
else
  note "systemd is not PID 1 here (a container or chroot?): skipped systemctl daemon-reload,"
  note "enable and start. On a booted box: systemctl daemon-reload && systemctl enable --now $SERVICE"
fi

say "done. Logs: journalctl -u $SERVICE -f   Status: sudo smartpos-hub status"
