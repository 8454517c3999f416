#!/usr/bin/env bash
# Makes throwaway TLS material for the delivery tests in DIR: a CA (ca.pem) and a server
# certificate it signed for 127.0.0.1, ::1 and localhost (server.pem, server.key), and a second,
# unrelated CA (other-ca.pem) that a client may be told to trust instead.
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 2 -subj /CN=veribind-test-ca \
  2>/dev/null
openssl req -x509 "${ec[@]}" -keyout other-ca.key -out other-ca.pem -days 2 \
  -subj /CN=veribind-other-ca 2>/dev/null
openssl req -new "${ec[@]}" -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
  -extfile server.ext -out server.pem 2>/dev/null
