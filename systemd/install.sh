#!/usr/bin/env bash
# Installs the smart mirror systemd units. Idempotent: safe to run again after an update.
#
#   sudo systemd/install.sh          # install + enable (starts at next boot)
#   sudo systemd/install.sh --now    # install + enable + (re)start now
#   DRY_RUN=1 systemd/install.sh     # print what would be done, change nothing (no root needed)
#
# Expects the application itself at /opt/smart-mirror (with node_modules installed); this script
# only sets up the user, directories, environment file and units around it.
set -euo pipefail

APP_DIR=/opt/smart-mirror
CONF_DIR=/etc/smart-mirror
STATE_DIR=/var/lib/smart-mirror
UNIT_DIR=/etc/systemd/system
SERVICE_USER=mirror
UNITS=(mirror-daemon.service mirror-kiosk.service)

SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DRY_RUN="${DRY_RUN:-0}"
START_NOW=0

for arg in "$@"; do
  case "$arg" in
    --now) START_NOW=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

run() {
  if [[ "$DRY_RUN" == 1 ]]; then
    printf '+ %s\n' "$*"
  else
    "$@"
  fi
}

log() { printf 'install.sh: %s\n' "$*"; }

if [[ "$DRY_RUN" != 1 && "$(id -u)" -ne 0 ]]; then
  echo "install.sh: must run as root (or DRY_RUN=1)" >&2
  exit 1
fi

for unit in "${UNITS[@]}"; do
  [[ -f "$SRC_DIR/$unit" ]] || { echo "install.sh: missing $SRC_DIR/$unit" >&2; exit 1; }
done

# --- service user ---
if id -u "$SERVICE_USER" >/dev/null 2>&1; then
  log "user $SERVICE_USER exists"
else
  log "creating system user $SERVICE_USER"
  run useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home \
    --shell /usr/sbin/nologin --comment "Smart mirror" "$SERVICE_USER"
fi
# Camera (video), GPU render nodes (render) and touch input (input), where those groups exist.
for group in video render input; do
  if getent group "$group" >/dev/null; then
    if id -nG "$SERVICE_USER" 2>/dev/null | tr ' ' '\n' | grep -qx "$group"; then
      :
    else
      run usermod -aG "$group" "$SERVICE_USER"
    fi
  fi
done

# --- directories ---
run install -d -m 0755 -o root -g root "$APP_DIR"
run install -d -m 0750 -o root -g "$SERVICE_USER" "$CONF_DIR"
run install -d -m 0750 -o "$SERVICE_USER" -g "$SERVICE_USER" "$STATE_DIR"

# Environment file: created once with defaults, never overwritten (it holds per-device settings).
if [[ -e "$CONF_DIR/mirror.env" ]]; then
  log "keeping existing $CONF_DIR/mirror.env"
elif [[ "$DRY_RUN" == 1 ]]; then
  printf '+ write default %s\n' "$CONF_DIR/mirror.env"
else
  log "writing default $CONF_DIR/mirror.env"
  umask 027
  cat >"$CONF_DIR/mirror.env" <<'EOF'
# Smart mirror daemon settings (read by mirror-daemon.service); these override the config file.
# KEY=value, no quotes needed. Restart after editing:  systemctl restart mirror-daemon
# The kiosk (mirror-kiosk.service) opens http://127.0.0.1:8080, so keep HOST/PORT in step with it.
HOST=127.0.0.1
PORT=8080
MIRROR_STATE_DIR=/var/lib/smart-mirror
LOG_LEVEL=info
#SOURCE=auto
#MQTT_URL=mqtt://fleet.example:1883
#MIRROR_STORE_ID=
#MIRROR_DEVICE_ID=
EOF
  chown root:"$SERVICE_USER" "$CONF_DIR/mirror.env"
  chmod 0640 "$CONF_DIR/mirror.env"
fi

# --- units ---
for unit in "${UNITS[@]}"; do
  run install -m 0644 -o root -g root "$SRC_DIR/$unit" "$UNIT_DIR/$unit"
done

# Debian ships /usr/bin/chromium, Ubuntu/Raspberry Pi OS often /usr/bin/chromium-browser.
dropin_dir="$UNIT_DIR/mirror-kiosk.service.d"
if [[ ! -x /usr/bin/chromium && -x /usr/bin/chromium-browser ]]; then
  log "using /usr/bin/chromium-browser for the kiosk"
  run install -d -m 0755 "$dropin_dir"
  if [[ "$DRY_RUN" == 1 ]]; then
    printf '+ write %s\n' "$dropin_dir/chromium-browser.conf"
  else
    {
      echo '# Written by install.sh: this system has chromium-browser, not chromium.'
      echo '[Service]'
      echo 'ExecStart='
      grep -A50 '^ExecStart=' "$SRC_DIR/mirror-kiosk.service" \
        | sed -n '1,/[^\\]$/p' \
        | sed '1s#^ExecStart=/usr/bin/chromium #ExecStart=/usr/bin/chromium-browser #'
    } >"$dropin_dir/chromium-browser.conf"
    chmod 0644 "$dropin_dir/chromium-browser.conf"
  fi
elif [[ -e "$dropin_dir/chromium-browser.conf" && -x /usr/bin/chromium ]]; then
  run rm -f "$dropin_dir/chromium-browser.conf"
elif [[ ! -x /usr/bin/chromium ]]; then
  log "warning: no chromium found; mirror-kiosk.service will fail until it is installed"
fi

run systemctl daemon-reload
run systemctl enable "${UNITS[@]}"
if [[ "$START_NOW" == 1 ]]; then
  run systemctl restart "${UNITS[@]}"
fi
log "done (units: ${UNITS[*]}; config: $CONF_DIR/mirror.env; state: $STATE_DIR)"
