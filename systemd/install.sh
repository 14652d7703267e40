#!/usr/bin/env bash
# Installs the smart mirror systemd units. Idempotent: safe to run again after an update.
#
#   sudo systemd/install.sh          # install + enable (starts at next boot)
#   sudo systemd/install.sh --now    # install + enable + (re)start now
#   DRY_RUN=1 systemd/install.sh     # print what would be done, change nothing (no root needed)
#
# Expects the application itself at /opt/smart-mirror (with node_modules installed) and the
# mosquitto package; this script sets up the users (mirror: the daemon, mirror-kiosk: the browser,
# mirror-broker: the local MQTT broker), directories, the broker's config and the daemon's local
# broker credentials, the environment file and the units around it.
set -euo pipefail

APP_DIR=/opt/smart-mirror
CONF_DIR=/etc/smart-mirror
STATE_DIR=/var/lib/smart-mirror
UNIT_DIR=/etc/systemd/system
KIOSK_STATE_DIR=/var/lib/smart-mirror-kiosk
BROKER_DIR=$CONF_DIR/broker
SERVICE_USER=mirror
KIOSK_USER=mirror-kiosk
BROKER_USER=mirror-broker
# The daemon's identity on the mirror's own broker (systemd/broker/acl).
BROKER_IDENTITY=mirror-daemon
UNITS=(mirror-broker.service mirror-daemon.service mirror-kiosk.service)

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

# --- service users: one per unit, so the browser and the broker can read nothing of the daemon's ---
ensure_user() { # name home comment
  if id -u "$1" >/dev/null 2>&1; then
    log "user $1 exists"
  else
    log "creating system user $1"
    run useradd --system --user-group --home-dir "$2" --no-create-home --shell /usr/sbin/nologin --comment "$3" "$1"
  fi
}
add_groups() { # user group... (only groups that exist here and the user lacks)
  local user=$1 group
  shift
  for group in "$@"; do
    getent group "$group" >/dev/null || continue
    id -nG "$user" 2>/dev/null | tr ' ' '\n' | grep -qx "$group" || run usermod -aG "$group" "$user"
  done
}
ensure_user "$SERVICE_USER" "$STATE_DIR" "Smart mirror daemon"
ensure_user "$KIOSK_USER" "$KIOSK_STATE_DIR" "Smart mirror kiosk browser"
ensure_user "$BROKER_USER" /var/lib/mirror-broker "Smart mirror MQTT broker"
# The daemon needs the camera (video); the kiosk the GPU (render, video) and the touch screen (input).
add_groups "$SERVICE_USER" video
add_groups "$KIOSK_USER" video render input

# --- directories ---
run install -d -m 0755 -o root -g root "$APP_DIR"
run install -d -m 0750 -o root -g "$SERVICE_USER" "$CONF_DIR"
run install -d -m 0700 -o "$SERVICE_USER" -g "$SERVICE_USER" "$STATE_DIR"
run install -d -m 0700 -o "$KIOSK_USER" -g "$KIOSK_USER" "$KIOSK_STATE_DIR"
run install -d -m 0750 -o root -g "$BROKER_USER" "$BROKER_DIR"
run install -m 0640 -o root -g "$BROKER_USER" "$SRC_DIR/broker/mosquitto.conf" "$BROKER_DIR/mosquitto.conf"
run install -m 0640 -o root -g "$BROKER_USER" "$SRC_DIR/broker/acl" "$BROKER_DIR/acl"

# --- the daemon's local broker credentials ---
# Generated when the pair is incomplete (first install, a lost file), unless mirror.env points
# MQTT_URL at another broker (a fleet broker with TLS): those settings are the operator's.
env_has() { [[ -e "$CONF_DIR/mirror.env" ]] && grep -q "^$1=" "$CONF_DIR/mirror.env"; }
if env_has MQTT_URL && ! grep -qx 'MQTT_URL=mqtt://127.0.0.1:1883' "$CONF_DIR/mirror.env"; then
  log "MQTT_URL in $CONF_DIR/mirror.env names another broker: leaving the MQTT settings alone"
elif [[ -e "$BROKER_DIR/passwd" ]] && env_has MQTT_PASSWORD; then
  log "keeping the daemon's broker credentials"
else
  log "generating the daemon's broker credentials ($BROKER_IDENTITY)"
  run "$SRC_DIR/broker/make-credentials.sh" "$BROKER_DIR/passwd" "$CONF_DIR/mirror.env" "$BROKER_IDENTITY"
  run chown root:"$BROKER_USER" "$BROKER_DIR/passwd"
  run chown root:"$SERVICE_USER" "$CONF_DIR/mirror.env"
fi

# Environment file: defaults written once (above the broker credentials), never overwritten later
# (it holds per-device settings).
if env_has PORT; then
  log "keeping existing $CONF_DIR/mirror.env"
elif [[ "$DRY_RUN" == 1 ]]; then
  printf '+ write default %s\n' "$CONF_DIR/mirror.env"
else
  log "writing default $CONF_DIR/mirror.env"
  umask 027
  cat - "$CONF_DIR/mirror.env" >"$CONF_DIR/mirror.env.new" <<'EOF'
# Smart mirror daemon settings (read by mirror-daemon.service); these override the config file.
# KEY=value, no quotes needed. Restart after editing:  systemctl restart mirror-daemon
# The kiosk (mirror-kiosk.service) opens http://127.0.0.1:8080, so keep HOST/PORT in step with it.
HOST=127.0.0.1
PORT=8080
MIRROR_STATE_DIR=/var/lib/smart-mirror
LOG_LEVEL=info
#SOURCE=auto
# MQTT_URL/MQTT_USERNAME/MQTT_PASSWORD (below) point at the mirror's own broker
# (mirror-broker.service); for a fleet broker set MQTT_URL=mqtts://... and mqtt.tls in the config.
#MIRROR_STORE_ID=
#MIRROR_DEVICE_ID=
EOF
  chown root:"$SERVICE_USER" "$CONF_DIR/mirror.env.new"
  chmod 0640 "$CONF_DIR/mirror.env.new"
  mv "$CONF_DIR/mirror.env.new" "$CONF_DIR/mirror.env"
fi

# --- the first application release ---
# The daemon runs from $STATE_DIR/releases/current (device/release/layout.ts); the code in $APP_DIR
# becomes the first release, once. Later releases arrive as signed bundles (fleet push) and are
# switched by the daemon itself; $APP_DIR keeps the release boot check (ExecStartPre).
if [[ -L "$STATE_DIR/releases/current" ]]; then
  log "keeping the installed application releases ($STATE_DIR/releases)"
else
  log "installing $APP_DIR as the first application release"
  run runuser -u "$SERVICE_USER" -- /usr/bin/env -C "$APP_DIR" /usr/bin/node --import tsx device/tools/install-release.ts --state-dir "$STATE_DIR"
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

# Debian's own mosquitto.service would take 127.0.0.1:1883 with anonymous access: the mirror's
# broker replaces it.
if systemctl list-unit-files mosquitto.service >/dev/null 2>&1 && systemctl is-enabled --quiet mosquitto.service 2>/dev/null; then
  log "disabling the distribution's mosquitto.service (mirror-broker.service replaces it)"
  run systemctl disable --now mosquitto.service
fi

run systemctl daemon-reload
run systemctl enable "${UNITS[@]}"
if [[ "$START_NOW" == 1 ]]; then
  run systemctl restart "${UNITS[@]}"
fi
log "done (units: ${UNITS[*]}; config: $CONF_DIR/mirror.env; state: $STATE_DIR, $KIOSK_STATE_DIR)"
