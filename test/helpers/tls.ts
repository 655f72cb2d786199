import { createPrivateKey } from 'node:crypto';
import { generate } from 'selfsigned';

/** A PEM key and its self-signed certificate. */
export interface Certificate {
  readonly key: string;
  readonly cert: string;
}

const DAY_MS = 86_400_000;

/**
 * A self-signed EC P-256 certificate for `names` (the first is the subject's CN, all are DNS names in its
 * subjectAltName), valid from a minute ago for two days. Made in this process (the `selfsigned` package over
 * WebCrypto), so TLS tests need no `openssl` command; only those that run `openssl s_client` do.
 */
export async function selfSignedCertificate(...names: string[]): Promise<Certificate> {
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: names[0]! }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 60_000),
    notAfterDate: new Date(now + 2 * DAY_MS),
    extensions: [{ name: 'subjectAltName', altNames: names.map((value) => ({ type: 2, value })) }],
  });
  return { key: pems.private, cert: pems.cert };
}

/** The key encrypted with `passphrase` (PKCS#8, AES-256-CBC), by Node's crypto. */
export function encryptedKey(key: string, passphrase: string): string {
  return createPrivateKey(key)
    .export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase })
    .toString();
}
