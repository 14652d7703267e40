#!/usr/bin/env bash
# Generates the daemon's credentials for the mirror's own broker: a random password, hashed into
# the broker's password file (via mosquitto_passwd on stdin, never on a command line) and written
# in clear into the daemon's environment file (MQTT_URL/MQTT_USERNAME/MQTT_PASSWORD replace any
# earlier ones; other lines are kept). Both files end up 0640; install.sh sets their groups.
#   make-credentials.sh PASSWD_FILE ENV_FILE [IDENTITY] [URL]
set -euo pipefail
[[ $# -ge 2 ]] || { sed -n '2,6p' "$0" >&2; exit 2; }
passwd_file=$1
env_file=$2
identity=${3:-mirror-daemon}
url=${4:-mqtt://127.0.0.1:1883}
umask 027

password="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
rm -f "$passwd_file"
printf '%s\n%s\n' "$password" "$password" | mosquitto_passwd -c "$passwd_file" "$identity" >/dev/null
chmod 0640 "$passwd_file"

tmp="$env_file.new"
{
  [[ -e "$env_file" ]] && grep -v -e '^MQTT_URL=' -e '^MQTT_USERNAME=' -e '^MQTT_PASSWORD=' "$env_file" || true
  printf 'MQTT_URL=%s\nMQTT_USERNAME=%s\nMQTT_PASSWORD=%s\n' "$url" "$identity" "$password"
} >"$tmp"
chmod 0640 "$tmp"
mv "$tmp" "$env_file"
