#!/usr/bin/env bash
# Test/dev PKI for the fleet broker: a CA, the broker's server certificate (localhost, 127.0.0.1),
# the fleet service's client certificate (CN fleet-service) and one client certificate per device
# whose CN is "{storeId}/{deviceId}" (what the ACL's %u matches with use_identity_as_username).
#
#   fleet/broker/gen-certs.sh OUT_DIR [STORE/DEVICE ...]
#
# Files: ca.crt ca.key crl.pem server.crt server.key fleet-service.crt fleet-service.key and, per device,
# STORE__DEVICE.crt / .key. EC P-256 keys, 30-day validity: never use these in production (there,
# the CA key stays offline and each mirror's key is generated on the mirror).
set -euo pipefail
out=${1:?usage: gen-certs.sh OUT_DIR [STORE/DEVICE ...]}
shift
mkdir -p "$out"
cd "$out"
days=30
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; chmod 600 "$1"; }

if [[ ! -f ca.crt ]]; then
  key ca.key
  openssl req -x509 -new -key ca.key -sha256 -days "$days" -subj "/CN=smart-mirror test CA" -out ca.crt
fi

sign() { # name subject extfile
  key "$1.key"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days "$days" -extfile "$3" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr"
}

printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' > server.ext
printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n' > client.ext
[[ -f server.crt ]] || sign server "/CN=localhost" server.ext
[[ -f fleet-service.crt ]] || sign fleet-service "/CN=fleet-service" client.ext
for id in "$@"; do
  if [[ ! "$id" =~ ^[A-Za-z0-9_-]{1,64}/[A-Za-z0-9_-]{1,64}$ ]]; then
    echo "gen-certs: \"$id\" is not STORE/DEVICE" >&2
    exit 2
  fi
  name=${id/\//__}
  # A "/" inside an RDN value is escaped for -subj.
  [[ -f "$name.crt" ]] || sign "$name" "/CN=${id/\//\\/}" client.ext
done
rm -f server.ext client.ext
# An empty CRL signed by the CA, for the broker's crlfile until the fleet service writes its own.
if [[ ! -f crl.pem ]]; then
  db=$(mktemp -d)
  touch "$db/index.txt"
  printf '[ca]\ndefault_ca=c\n[c]\ndatabase=%s/index.txt\ndefault_md=sha256\ndefault_crl_days=%s\ncertificate=ca.crt\nprivate_key=ca.key\n' "$db" "$days" > "$db/ca.cnf"
  openssl ca -config "$db/ca.cnf" -gencrl -out crl.pem 2>/dev/null
  rm -rf "$db"
fi
echo "certificates in $out"
