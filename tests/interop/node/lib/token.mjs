// Department tokens as docs/api.md specifies them: a JWS signed with the department's registered key.
import { createHash, createPrivateKey, createPublicKey, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';

/** The JWS `alg` for a key: EdDSA for Ed25519, ES256 for P-256; the hub accepts nothing else. */
export function algorithmFor(key) {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new Error(`a ${key.asymmetricKeyType} key cannot sign hub tokens; use Ed25519 or P-256`);
}

/** The `kid`: base64url of the first 12 bytes of SHA-256 over the public key's SubjectPublicKeyInfo DER. */
export function keyId(key) {
  const publicKey = key.type === 'public' ? key : createPublicKey(key);
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest().subarray(0, 12).toString('base64url');
}

/** Load a PKCS#8 PEM private key (the department's token key). (`keyId` takes a private or a public key.) */
export function loadPrivateKey(pem) {
  return createPrivateKey(pem);
}

/**
 * A token for `officer` of `department`, for the hub named `audience`: iss, sub, aud, iat, nbf, exp,
 * a fresh jti and the roles asked for (the hub narrows them to what it grants, never widens).
 */
export async function mintToken({ key, department, officer, audience, roles = ['officer'], ttlSeconds = 300 }) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ roles })
    .setProtectedHeader({ alg: algorithmFor(key), kid: keyId(key), typ: 'JWT' })
    .setIssuer(department)
    .setSubject(officer)
    .setAudience(audience)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + ttlSeconds)
    .setJti(randomUUID())
    .sign(key);
}
