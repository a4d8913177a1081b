#!/usr/bin/env bash
# Makes the certificates for mutual TLS on vigor's zenoh bus: a private CA (`vigor-ca`) and one
# certificate per identity. The robot's access control (deploy/zenoh/robot.json5) knows each
# identity by the certificate's common name and lets it put only on its own keys:
#
#   file         common name        may put
#   robot        vigor-robot        rt/lowstate (also the robot's server certificate)
#   controller   vigor-controller   rt/lowcmd, vigor/controller/status
#   operator     vigor-operator     vigor/controller/command, vigor/sim/request
#   perception   vigor-perception   vigor/perception/depth
#
# The robot's certificate names ROBOT_ADDRESS (its IP address or host name, as the others'
# `--connect tls/ROBOT_ADDRESS:7447` will say it), localhost and 127.0.0.1 in subjectAltName.
# Each EXTRA_NAME makes one more client certificate whose common name is that name (the tests
# make intruders this way).
#
#   deploy/make-certs.sh OUT_DIR ROBOT_ADDRESS [EXTRA_NAME ...]
#   e.g. deploy/make-certs.sh certs 192.168.123.164
#        deploy/make-certs.sh certs robot.local
#
# Writes OUT_DIR/{ca,robot,controller,operator,perception,EXTRA_NAME...}.{pem,key}, readable
# by their owner only. Idempotent: a run keeps the CA if there is one (a new CA would
# orphan every certificate made from it) and every certificate that still fits: it verifies
# against the CA, has the expected common name and, for the robot's, names ROBOT_ADDRESS. It
# (re)issues the others with new keys, so a new address re-issues only robot.pem. Issuing needs
# OUT_DIR/ca.key; remove OUT_DIR to start over. Needs the openssl command.
set -euo pipefail
usage="usage: deploy/make-certs.sh OUT_DIR ROBOT_ADDRESS [EXTRA_NAME ...]"
out=${1:?$usage}
address=${2:?$usage}
shift 2
days=3650
umask 077

# The robot's address goes into its certificate as an IP address or as a DNS name.
address=${address#[}
address=${address%]}
if [[ $address =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ || $address == *:* ]]; then
  address_san="IP:$address"
  address_check=-checkip
elif [[ $address =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]]; then
  address_san="DNS:$address"
  address_check=-checkhost
else
  echo "make-certs: ROBOT_ADDRESS '$address' is neither an IP address nor a host name" >&2
  exit 2
fi
robot_san="DNS:localhost,IP:127.0.0.1"
case $address in
  localhost | 127.0.0.1) ;;
  *) robot_san="$robot_san,$address_san" ;;
esac

for extra in "$@"; do
  case $extra in
    ca | robot | controller | operator | perception)
      echo "make-certs: EXTRA_NAME '$extra' is one of the built-in identities" >&2
      exit 2
      ;;
  esac
  if [[ ! $extra =~ ^[A-Za-z0-9][A-Za-z0-9_-]*$ ]]; then
    echo "make-certs: EXTRA_NAME '$extra' must be letters, digits, '-' and '_'" >&2
    exit 2
  fi
done

mkdir -p "$out"
cd "$out"

if [[ -f ca.pem ]]; then
  echo "kept   ca.pem (vigor-ca)"
else
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days "$days" \
    -subj "/CN=vigor-ca" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1
  echo "made   ca.pem (vigor-ca)"
fi

# fits FILE COMMON_NAME [ADDRESS_CHECK]: FILE.pem and FILE.key exist, the CA verifies FILE.pem,
# its subject is exactly COMMON_NAME and, when asked, it names the robot's address.
fits() {
  local file=$1 cn=$2 check=${3:-}
  [[ -f $file.pem && -f $file.key ]] || return 1
  openssl verify -CAfile ca.pem "$file.pem" >/dev/null 2>&1 || return 1
  [[ $(openssl x509 -in "$file.pem" -noout -subject -nameopt RFC2253) == "subject=CN=$cn" ]] \
    || return 1
  if [[ -n $check ]]; then
    openssl x509 -in "$file.pem" -noout "$check" "$address" | grep -q " does match " || return 1
  fi
}

# leaf FILE COMMON_NAME EXTENDED_KEY_USAGE [SUBJECT_ALT_NAMES [ADDRESS_CHECK]]
leaf() {
  local file=$1 cn=$2 usage=$3 san=${4:-} check=${5:-}
  if fits "$file" "$cn" "$check"; then
    echo "kept   $file.pem ($cn)"
    return
  fi
  if [[ ! -f ca.key ]]; then
    echo "make-certs: $out/$file.pem needs issuing, and that needs $out/ca.key" >&2
    exit 1
  fi
  openssl req -newkey rsa:2048 -nodes -keyout "$file.key" -out "$file.csr" -subj "/CN=$cn" \
    >/dev/null 2>&1
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    if [[ -n $san ]]; then
      echo "subjectAltName=$san"
    fi
  } >"$file.ext"
  openssl x509 -req -in "$file.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out "$file.pem" -days "$days" -extfile "$file.ext" >/dev/null 2>&1
  rm -f "$file.csr" "$file.ext"
  echo "issued $file.pem ($cn${san:+; $san})"
}

# The robot's certificate serves TLS (the router listens) and may also connect out (a bridge
# that joins a router elsewhere), so it carries both uses.
leaf robot vigor-robot serverAuth,clientAuth "$robot_san" "$address_check"
leaf controller vigor-controller clientAuth
leaf operator vigor-operator clientAuth
leaf perception vigor-perception clientAuth
for extra in "$@"; do
  leaf "$extra" "$extra" clientAuth
done
echo "certificates in $out for the robot at $address"
