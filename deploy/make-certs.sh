#!/usr/bin/env bash
# Makes the certificates for mutual TLS between the robot side and the controller: a private CA,
# one certificate for the robot side (the zenoh DDS bridge, or `vigor sim-robot`) and one for
# the controller, whose common name `vigor-controller` is the only identity the robot's access
# control lets put on rt/lowcmd. Extra arguments name more client identities (tests use one
# called `intruder`).
#
#   deploy/make-certs.sh OUT_DIR [EXTRA_NAME ...]
#
# Writes OUT_DIR/{ca,robot,controller,EXTRA_NAME...}.{pem,key}. Needs the openssl command.
set -euo pipefail
out=${1:?usage: deploy/make-certs.sh OUT_DIR [EXTRA_NAME ...]}
shift
mkdir -p "$out"
cd "$out"
days=3650
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days "$days" \
  -subj "/CN=vigor-ca" >/dev/null 2>&1
leaf() {
  local name=$1 cn=$2
  openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" \
    -subj "/CN=$cn" >/dev/null 2>&1
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out "$name.pem" -days "$days" -extfile "$name.ext" >/dev/null 2>&1
  rm -f "$name.csr" "$name.ext"
}
leaf robot vigor-robot
leaf controller vigor-controller
for extra in "$@"; do
  leaf "$extra" "$extra"
done
echo "certificates in $out: ca, robot, controller${*:+, $*}"
