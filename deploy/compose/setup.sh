#!/bin/sh
# The compose deployment's one-shot set-up (deploy/compose.yaml, service "setup"); does nothing twice.
set -eu
DATA=/var/lib/exchange
FIRE=/srv/fire
if [ ! -f "$DATA/pki/ca.crt" ]; then
  # The hub certificate names every address departments and haproxy's checks dial.
  exchange init --config /etc/exchange/hub.yaml --host localhost --host 127.0.0.1 --host hub-1 --host hub-2 --host haproxy
fi
if [ ! -f "$FIRE/certs/FIRE-adapter.crt" ]; then
  mkdir -p "$FIRE/certs" "$FIRE/keys"
  exchange pki issue-adapter FIRE --host adapter-fire --dir "$DATA/pki" --out "$FIRE/certs"
  cp "$DATA/pki/ca.crt" "$FIRE/certs/hub-ca.crt"
  exchange adapter keygen --out "$FIRE/keys/fire-signing.pem"
  python -c 'from pathlib import Path; from exchange.demo.data import generate, write_fire_csv; write_fire_csv(generate(2026), Path("/srv/fire/fire_certificates.csv"))'
fi
exchange migrate --config /etc/exchange/hub.yaml
