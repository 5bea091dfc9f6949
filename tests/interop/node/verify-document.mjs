#!/usr/bin/env node
// Verify served documents and the test vectors of docs/document-format.md, from that spec alone:
// node:crypto (Ed25519, SHA-256) and the `canonicalize` package (RFC 8785, pinned in package.json).
//
//   node verify-document.mjs vectors DIR            -> {"jcs": n, "documents": n, "legacy": 1}
//   node verify-document.mjs served FILE --key PEM  -> {"ok": true, "document": {...}, "withheld": n}
//                                                     or {"ok": false, "field": ..., "problem": ..., "error": ...}
// A served FILE is a FetchResponse in protobuf JSON (`exchange fetch -o FILE`): bytes in base64, int64 as strings.
// Exit status: 0 verified, 1 refused (the JSON says why and names the field), 2 usage.
import canonicalize from 'canonicalize';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyId } from './lib/token.mjs';

const CONTEXT = Buffer.from('exchange-document/v2\n', 'utf8');
const SALT_CHARS = 22;

class Refused extends Error {
  constructor(field, problem, message) {
    super(message);
    this.field = field;
    this.problem = problem;
  }
}

const jcs = (value) => Buffer.from(canonicalize(value), 'utf8');
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const b64 = (text) => Buffer.from(text ?? '', 'base64');

/** The fields the disclosures reveal, each matched against the signed digest list (throws naming the field). */
function disclosedFields(digests, disclosures) {
  const committed = new Set(digests);
  const fields = new Map();
  disclosures.forEach((bytes, position) => {
    let parsed;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      throw new Refused(`#${position}`, 'DISCLOSURE_MALFORMED', `disclosure #${position} is not JSON`);
    }
    if (!Array.isArray(parsed) || parsed.length !== 3 || typeof parsed[0] !== 'string' || typeof parsed[1] !== 'string') {
      throw new Refused(`#${position}`, 'DISCLOSURE_MALFORMED', `disclosure #${position} is not [salt, name, value]`);
    }
    const [salt, name, value] = parsed;
    if (salt.length !== SALT_CHARS) {
      throw new Refused(name, 'DISCLOSURE_MALFORMED', `field '${name}': salt of ${salt.length} characters, not ${SALT_CHARS}`);
    }
    if (!jcs(parsed).equals(bytes)) {
      throw new Refused(name, 'DISCLOSURE_MALFORMED', `field '${name}': disclosure not in RFC 8785 form`);
    }
    if (fields.has(name)) throw new Refused(name, 'DISCLOSURE_DUPLICATE', `field '${name}' is disclosed twice`);
    if (!committed.has(sha256(bytes))) {
      throw new Refused(name, 'DISCLOSURE_NOT_SIGNED', `field '${name}': matches none of the issuer's signed digests`);
    }
    fields.set(name, value);
  });
  return fields;
}

/** Check the envelope, its signature and the key id; returns the parsed envelope. */
function checkEnvelope(provenance, envelopeBytes, signature, publicKey) {
  const envelope = JSON.parse(envelopeBytes.toString('utf8'));
  if (!jcs(envelope).equals(envelopeBytes)) throw new Refused('#envelope', 'ENVELOPE', 'envelope not in RFC 8785 form');
  const expected = {
    v: 2,
    dataset: provenance.dataset,
    version: provenance.dataset_version,
    key: provenance.key,
    issuer: provenance.issuer,
    issued_at_us: Number(provenance.issued_at_us),
    kid: provenance.kid,
    alg: 'Ed25519',
    digest_alg: 'sha-256',
  };
  for (const [name, value] of Object.entries(expected)) {
    if (envelope[name] !== value) throw new Refused('#envelope', 'ENVELOPE', `envelope ${name} is not ${value}`);
  }
  if (keyId(publicKey) !== provenance.kid) {
    throw new Refused('#envelope', 'KEY', `the key given has id ${keyId(publicKey)}, the envelope names ${provenance.kid}`);
  }
  if (!verify(null, Buffer.concat([CONTEXT, envelopeBytes]), publicKey, signature)) {
    throw new Refused('#envelope', 'SIGNATURE', 'Ed25519 signature over the envelope does not verify');
  }
  return envelope;
}

/** Verify a served FetchResponse (protobuf JSON) against the issuer's public key. */
function verifyServed(saved, publicKey) {
  const p = saved.provenance ?? {};
  if (Number(p.format ?? 0) !== 2) throw new Refused('#document', 'FORMAT', `format ${p.format ?? 1} is not verifiable`);
  const envelope = checkEnvelope(p, b64(p.envelope_json), b64(p.signature), publicKey);
  const fields = disclosedFields(envelope.digests, (p.disclosures ?? []).map(b64));
  const documentBytes = b64(saved.document_json);
  const document = JSON.parse(documentBytes.toString('utf8'));
  for (const name of [...new Set([...(saved.fields ?? []), ...Object.keys(document)])]) {
    if (!fields.has(name)) throw new Refused(name, 'DISCLOSURE_MISSING', `field '${name}' is served without its disclosure`);
  }
  for (const [name, value] of fields) {
    if (!(name in document)) throw new Refused(name, 'DISCLOSURE_MISSING', `field '${name}' is missing from the document`);
    if (!jcs(document[name]).equals(jcs(value))) {
      throw new Refused(name, 'DISCLOSURE_NOT_SIGNED', `field '${name}': the document differs from its signed disclosure`);
    }
  }
  if (!jcs(document).equals(documentBytes)) throw new Refused('#document', 'DOCUMENT', 'document not in RFC 8785 form');
  if (p.content_digest && p.content_digest !== sha256(b64(p.envelope_json))) {
    throw new Refused('#envelope', 'DIGEST', 'content_digest is not the SHA-256 of the envelope');
  }
  return { document, withheld: envelope.digests.length - fields.size };
}

function checkVectors(dir) {
  const read = (name) => JSON.parse(readFileSync(join(dir, name), 'utf8'));
  const jcsCases = read('jcs.json').cases;
  for (const c of jcsCases) {
    const got = jcs(JSON.parse(c.input)).toString('hex');
    if (got !== c.canonical_hex) throw new Error(`JCS vector '${c.name}': ${got} != ${c.canonical_hex}`);
  }
  const f2 = read('format2.json');
  const publicKey = createPublicKey(f2.public_key_pem);
  for (const c of f2.cases) {
    for (const f of c.fields) {
      const bytes = jcs([f.salt, f.name, f.value]);
      if (!bytes.equals(b64(f.disclosure_b64)) || sha256(bytes) !== f.digest) {
        throw new Error(`vector '${c.name}': disclosure of '${f.name}' differs`);
      }
    }
    const envelope = { v: 2, dataset: c.dataset, version: c.dataset_version, key: c.key, issuer: c.issuer,
      issued_at_us: c.issued_at_us, kid: c.kid, alg: 'Ed25519', digest_alg: 'sha-256',
      digests: c.fields.map((f) => f.digest).sort() };
    if (jcs(envelope).toString('utf8') !== c.envelope_json) throw new Error(`vector '${c.name}': envelope differs`);
    const served = {
      document_json: Buffer.from(c.served.document_json, 'utf8').toString('base64'),
      fields: c.served.fields,
      provenance: { ...c, dataset_version: c.dataset_version, format: 2, signature: c.signature_b64,
        envelope_json: Buffer.from(c.envelope_json, 'utf8').toString('base64'), disclosures: c.served.disclosures_b64 },
    };
    verifyServed(served, publicKey);
  }
  const f1 = read('format1.json');
  if (!verify(null, b64(f1.signed_bytes_b64), createPublicKey(f1.public_key_pem), b64(f1.signature_b64))) {
    throw new Error('format 1 vector: signature does not verify');
  }
  return { jcs: jcsCases.length, documents: f2.cases.length, legacy: 1 };
}

const [mode, file, ...rest] = process.argv.slice(2);
const keyAt = rest.indexOf('--key');
if (mode === 'vectors' && file) {
  process.stdout.write(`${JSON.stringify(checkVectors(file))}\n`);
} else if (mode === 'served' && file && keyAt >= 0) {
  const publicKey = createPublicKey(readFileSync(rest[keyAt + 1], 'utf8'));
  try {
    const { document, withheld } = verifyServed(JSON.parse(readFileSync(file, 'utf8')), publicKey);
    process.stdout.write(`${JSON.stringify({ ok: true, document, withheld })}\n`);
  } catch (error) {
    if (!(error instanceof Refused)) throw error;
    process.stdout.write(`${JSON.stringify({ ok: false, field: error.field, problem: error.problem, error: error.message })}\n`);
    process.exit(1);
  }
} else {
  process.stderr.write('usage: node verify-document.mjs vectors DIR | served FILE --key PEM\n');
  process.exit(2);
}
