import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { InvalidOptionError, TlsCredentialsError } from '../errors.js';
import type { TlsCredentials, TlsSettings } from '../protocol.js';
import { checkBoolean, checkInteger } from '../validate.js';

/**
 * A key, a certificate or a CA: PEM text, PEM bytes, or a file holding PEM, named by a path (a string that
 * is not PEM text) or a `file:` URL. Files are read by the coordinator at `start()`, and read again by
 * `engine.setSecureContext()` and on SIGHUP (`handleSignals`), so renewing a certificate is a file write
 * and a reload.
 */
export type CredentialSource = string | Uint8Array | URL;

/** One certificate (chain) and its private key; several of each for, e.g., an RSA and an ECDSA pair. */
export interface TlsCredentialOptions {
  readonly key: CredentialSource | readonly CredentialSource[];
  readonly cert: CredentialSource | readonly CredentialSource[];
  /** Unlocks an encrypted key. */
  readonly passphrase?: string;
  /** CAs whose client certificates are trusted (with `requestCert`). */
  readonly ca?: CredentialSource | readonly CredentialSource[];
}

/** The credentials of a TLS listener: what `engine.setSecureContext()` replaces. */
export interface SecureContextOptions extends TlsCredentialOptions {
  /**
   * More certificates, picked by the server name a client asks for (SNI): exact names
   * (`api.example.com`) or one-level wildcards (`*.example.com`); other names get `key`/`cert`.
   */
  readonly sni?: Readonly<Record<string, TlsCredentialOptions>>;
}

/** TLS protocol settings of a listener, fixed for its life. */
export interface TlsProtocolOptions {
  /** Default `TLSv1.2`. */
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Default `TLSv1.3`. */
  readonly maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list (TLS 1.2 suites and TLS 1.3 ones by name). Default: Node's. */
  readonly ciphers?: string;
  /** Default: Node's (`auto`). */
  readonly ecdhCurve?: string;
  /** Ask clients for a certificate. Default false. */
  readonly requestCert?: boolean;
  /** With `requestCert`: refuse clients whose certificate is not signed by `ca`. Default true. */
  readonly rejectUnauthorized?: boolean;
  /**
   * Seconds a session ticket stays valid. Default: two ticket-key periods (`sessionTickets.rotationMs`),
   * as long as the keys that made a ticket can still open it.
   */
  readonly sessionTimeout?: number;
  /** A handshake not done by then is ended and counted (`tlsErrors`). Default 120000 (Node's). */
  readonly handshakeTimeoutMs?: number;
}

const VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;
const MAX_INT = 2 ** 31 - 1;
/** A server name for SNI: DNS labels, optionally behind one `*.`. */
const SERVER_NAME = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** Every source as bytes: files read now, PEM text encoded. */
function loadSources(option: string, value: unknown, required: boolean): Buffer[] {
  if (value === undefined) {
    if (required) throw new InvalidOptionError(option, 'is required');
    return [];
  }
  const sources: readonly unknown[] = Array.isArray(value) ? value : [value];
  if (sources.length === 0 && required) throw new InvalidOptionError(option, 'must not be empty');
  return sources.map((source, i) => {
    const name = Array.isArray(value) ? `${option}[${i}]` : option;
    if (source instanceof Uint8Array) return Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    if (typeof source === 'string' && source.includes('-----BEGIN')) return Buffer.from(source);
    let path: string;
    if (source instanceof URL) {
      if (source.protocol !== 'file:')
        throw new InvalidOptionError(name, `must be a file: URL, got ${source.href}`);
      path = fileURLToPath(source);
    } else if (typeof source === 'string' && source !== '') {
      path = source;
    } else {
      throw new InvalidOptionError(name, 'must be PEM text, PEM bytes, a path or a file: URL');
    }
    try {
      return readFileSync(path);
    } catch (error) {
      throw new TlsCredentialsError(
        name,
        `cannot read ${path} (${(error as NodeJS.ErrnoException).code})`,
        error,
      );
    }
  });
}

function privateKey(option: string, key: Buffer, passphrase: string | undefined): KeyObject {
  try {
    return createPrivateKey({ key, format: 'pem', ...(passphrase === undefined ? {} : { passphrase }) });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_MISSING_PASSPHRASE')
      throw new TlsCredentialsError(option, 'is encrypted: give its passphrase', error);
    if (passphrase !== undefined && code === 'ERR_OSSL_BAD_DECRYPT')
      throw new TlsCredentialsError(option, 'does not decrypt with the passphrase given', error);
    throw new TlsCredentialsError(
      option,
      `is not a PEM private key (${code ?? (error as Error).message})`,
      error,
    );
  }
}

function certificate(option: string, cert: Buffer): X509Certificate {
  try {
    return new X509Certificate(cert);
  } catch (error) {
    throw new TlsCredentialsError(option, `is not a PEM certificate (${(error as Error).message})`, error);
  }
}

/**
 * Reads and checks one set of credentials: every key parses (with the passphrase), every certificate
 * parses and matches one of the keys, and OpenSSL takes the whole (and the CAs) as a context.
 */
export function resolveCredentials(prefix: string, options: TlsCredentialOptions): TlsCredentials {
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionError(prefix, 'must be an object with key and cert');
  const { passphrase } = options;
  if (passphrase !== undefined && typeof passphrase !== 'string')
    throw new InvalidOptionError(`${prefix}.passphrase`, 'must be a string');
  const keys = loadSources(`${prefix}.key`, options.key, true);
  const certs = loadSources(`${prefix}.cert`, options.cert, true);
  const ca = loadSources(`${prefix}.ca`, options.ca, false);
  const keyOption = (i: number) => (Array.isArray(options.key) ? `${prefix}.key[${i}]` : `${prefix}.key`);
  const certOption = (i: number) => (Array.isArray(options.cert) ? `${prefix}.cert[${i}]` : `${prefix}.cert`);
  const keyObjects = keys.map((key, i) => privateKey(keyOption(i), key, passphrase));
  certs.forEach((cert, i) => {
    const x509 = certificate(certOption(i), cert);
    if (!keyObjects.some((key) => x509.checkPrivateKey(key)))
      throw new TlsCredentialsError(
        certOption(i),
        `does not match ${keys.length > 1 ? 'any key given' : 'the key'}`,
      );
  });
  if (ca.length > 0) {
    try {
      tls.createSecureContext({ ca });
    } catch (error) {
      throw new TlsCredentialsError(`${prefix}.ca`, `is not usable: ${(error as Error).message}`, error);
    }
  }
  return {
    key: keys,
    cert: certs,
    ...(passphrase === undefined ? {} : { passphrase }),
    ...(ca.length > 0 ? { ca } : {}),
  };
}

/** The credentials and SNI table of a listener (what a reload replaces). */
export function resolveSecureContext(
  prefix: string,
  options: SecureContextOptions,
): Pick<TlsSettings, 'credentials' | 'sni'> {
  const credentials = resolveCredentials(prefix, options);
  const sni: [string, TlsCredentials][] = [];
  if (options.sni !== undefined) {
    if (typeof options.sni !== 'object' || options.sni === null)
      throw new InvalidOptionError(`${prefix}.sni`, 'must map server names to { key, cert }');
    for (const [name, entry] of Object.entries(options.sni)) {
      const option = `${prefix}.sni[${JSON.stringify(name)}]`;
      const lower = name.toLowerCase();
      if (!SERVER_NAME.test(lower))
        throw new InvalidOptionError(option, 'must be a DNS name or *.domain (one-level wildcard)');
      sni.push([lower, resolveCredentials(option, entry)]);
    }
  }
  return { credentials, sni };
}

function optionalVersion(option: string, value: unknown): 'TLSv1.2' | 'TLSv1.3' | undefined {
  if (value === undefined) return undefined;
  if (!(VERSIONS as readonly unknown[]).includes(value))
    throw new InvalidOptionError(option, `must be one of ${VERSIONS.join(', ')}, got ${String(value)}`);
  return value as 'TLSv1.2' | 'TLSv1.3';
}

function optionalString(option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '')
    throw new InvalidOptionError(option, 'must be a non-empty string');
  return value;
}

/**
 * A TLS listener's settings for its shards. `rotationMs` (the ticket-key period) sets the default ticket
 * lifetime. Fails, naming the option, on anything OpenSSL would refuse, so that `start()` fails whole.
 */
export function resolveTlsSettings(
  prefix: string,
  listenerId: number,
  options: SecureContextOptions & TlsProtocolOptions & { readonly alpnProtocols?: readonly string[] },
  rotationMs: number,
): TlsSettings {
  const { credentials, sni } = resolveSecureContext(prefix, options);
  const minVersion = optionalVersion(`${prefix}.minVersion`, options.minVersion);
  const maxVersion = optionalVersion(`${prefix}.maxVersion`, options.maxVersion);
  if (minVersion === 'TLSv1.3' && maxVersion === 'TLSv1.2')
    throw new InvalidOptionError(`${prefix}.maxVersion`, 'is below minVersion');
  const ciphers = optionalString(`${prefix}.ciphers`, options.ciphers);
  const ecdhCurve = optionalString(`${prefix}.ecdhCurve`, options.ecdhCurve);
  for (const [option, value] of [
    ['ciphers', ciphers],
    ['ecdhCurve', ecdhCurve],
  ] as const) {
    if (value === undefined) continue;
    try {
      tls.createSecureContext({ [option]: value });
    } catch (error) {
      throw new InvalidOptionError(
        `${prefix}.${option}`,
        `OpenSSL refuses ${JSON.stringify(value)}: ${(error as Error).message}`,
      );
    }
  }
  let alpnProtocols: string[] | undefined;
  if (options.alpnProtocols !== undefined) {
    if (
      !Array.isArray(options.alpnProtocols) ||
      options.alpnProtocols.some((p) => typeof p !== 'string' || p === '' || p.length > 255)
    )
      throw new InvalidOptionError(
        `${prefix}.alpnProtocols`,
        'must be a list of protocol names (1 to 255 characters)',
      );
    alpnProtocols = [...options.alpnProtocols];
  }
  const periods = Math.ceil((2 * rotationMs) / 1000);
  return {
    credentials,
    sni,
    ...(minVersion === undefined ? {} : { minVersion }),
    ...(maxVersion === undefined ? {} : { maxVersion }),
    ...(ciphers === undefined ? {} : { ciphers }),
    ...(ecdhCurve === undefined ? {} : { ecdhCurve }),
    requestCert: checkBoolean(`${prefix}.requestCert`, options.requestCert ?? false),
    rejectUnauthorized: checkBoolean(`${prefix}.rejectUnauthorized`, options.rejectUnauthorized ?? true),
    sessionTimeout: checkInteger(
      `${prefix}.sessionTimeout`,
      options.sessionTimeout ?? Math.min(periods, MAX_INT),
      1,
      MAX_INT,
    ),
    sessionIdContext: `sockshard-listener-${listenerId}`,
    handshakeTimeoutMs: checkInteger(
      `${prefix}.handshakeTimeoutMs`,
      options.handshakeTimeoutMs ?? 120_000,
      0,
      MAX_INT,
    ),
    ...(alpnProtocols === undefined ? {} : { alpnProtocols }),
  };
}
