#!/usr/bin/env node
// Print the key id (docs/api.md, "Key id") and JWS algorithm of each PEM key file given, as JSON:
//   node kid.mjs samr-token.key other.pem  ->  [{"file": ..., "kid": ..., "alg": ...}, ...]
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { algorithmFor, keyId } from './lib/token.mjs';

function load(file) {
  const pem = readFileSync(file, 'utf8');
  return pem.includes('PRIVATE KEY') ? createPrivateKey(pem) : createPublicKey(pem);
}

const files = process.argv.slice(2);
if (!files.length) {
  process.stderr.write('usage: node kid.mjs KEY.pem...\n');
  process.exit(2);
}
const keys = files.map((file) => {
  const key = load(file);
  return { file, kid: keyId(key), alg: algorithmFor(key) };
});
process.stdout.write(`${JSON.stringify(keys)}\n`);
