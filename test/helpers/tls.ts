import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A PEM key and its self-signed certificate. */
export interface Certificate {
  readonly key: string;
  readonly cert: string;
}

/**
 * A self-signed EC P-256 certificate for `names` (the first is the subject's CN, all are DNS names in its
 * subjectAltName), made by the `openssl` command, valid for two days.
 */
export function selfSignedCertificate(...names: string[]): Certificate {
  const dir = mkdtempSync(join(tmpdir(), 'sockshard-cert-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyPath,
        '-out',
        certPath,
        '-days',
        '2',
        '-subj',
        `/CN=${names[0]}`,
        '-addext',
        `subjectAltName=${names.map((name) => `DNS:${name}`).join(',')}`,
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The key encrypted with `passphrase` (PKCS#8, AES-256-CBC), by Node's crypto. */
export function encryptedKey(key: string, passphrase: string): string {
  return createPrivateKey(key)
    .export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase })
    .toString();
}
