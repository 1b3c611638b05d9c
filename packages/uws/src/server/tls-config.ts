import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { ConfigError, readString, type Env } from "@herald/config";

/**
 * The TLS 1.2 suites served by default: Mozilla's "intermediate" profile (forward
 * secrecy and AEAD only: no static RSA, no CBC, no SHA-1 MAC, no 3DES), minus its
 * DHE suites, which uWebSockets.js's BoringSSL does not implement. TLS 1.3 is always
 * on with its own three AEAD suites (BoringSSL does not make them configurable);
 * TLS 1.1 and older are refused by uSockets.
 */
export const DEFAULT_TLS_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

/** Direct TLS for the gateway: PEM files, re-read on every reload. */
export interface TlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
  readonly passphrase?: string;
  /** OpenSSL-style cipher list for TLS 1.2 (uWebSockets.js `ssl_ciphers`). */
  readonly ciphers: string;
}

/** What a certificate file holds, for the start-up log and its warnings. */
export interface CertificateSummary {
  readonly fingerprint256: string;
  readonly validTo: string;
  readonly subject: string;
  readonly issuer: string;
  /** Certificates in the file: the leaf, then the chain sent with it. */
  readonly certificates: number;
  /** The leaf signs itself (a self-signed certificate needs no chain). */
  readonly selfSigned: boolean;
}

// Names, keywords and the operators of OpenSSL's cipher-list syntax, nothing else.
const CIPHER_LIST = /^[A-Za-z0-9+!@=._-]+(:[A-Za-z0-9+!@=._-]+)*$/;

/**
 * HERALD_TLS_CERT + HERALD_TLS_KEY (+ HERALD_TLS_PASSPHRASE, HERALD_TLS_CIPHERS):
 * both files or neither; the files are checked now, the cipher list when the
 * server builds its TLS context.
 */
export function tlsConfigFromEnv(env: Env): TlsConfig | undefined {
  const certFile = readString(env, "HERALD_TLS_CERT");
  const keyFile = readString(env, "HERALD_TLS_KEY");
  const passphrase = readString(env, "HERALD_TLS_PASSPHRASE");
  const ciphers = readString(env, "HERALD_TLS_CIPHERS");
  if (certFile === undefined && keyFile === undefined) {
    for (const [name, value] of [["HERALD_TLS_PASSPHRASE", passphrase], ["HERALD_TLS_CIPHERS", ciphers]] as const) {
      if (value !== undefined) throw new ConfigError(name, "is set but HERALD_TLS_CERT and HERALD_TLS_KEY are not");
    }
    return undefined;
  }
  if (certFile === undefined) throw new ConfigError("HERALD_TLS_CERT", "is required when HERALD_TLS_KEY is set (PEM certificate chain file)");
  if (keyFile === undefined) throw new ConfigError("HERALD_TLS_KEY", "is required when HERALD_TLS_CERT is set (PEM private key file)");
  if (ciphers !== undefined && !CIPHER_LIST.test(ciphers.trim())) {
    throw new ConfigError("HERALD_TLS_CIPHERS", `"${ciphers}" is not a cipher list: OpenSSL suite names separated by colons, like ${DEFAULT_TLS_CIPHERS.split(":").slice(0, 2).join(":")}`);
  }
  const config: TlsConfig = { certFile, keyFile, ...(passphrase !== undefined ? { passphrase } : {}), ciphers: ciphers?.trim() ?? DEFAULT_TLS_CIPHERS };
  readTlsFiles(config);
  return config;
}

/**
 * Reads and checks the certificate and key (parse, passphrase, key matches
 * certificate), so a bad file is a clear error before uWebSockets.js sees it.
 * Returns what the logs say about the certificate.
 */
export function readTlsFiles(config: Pick<TlsConfig, "certFile" | "keyFile" | "passphrase">): CertificateSummary {
  let cert: X509Certificate;
  let pem: string;
  try {
    pem = readFileSync(config.certFile, "latin1");
    cert = new X509Certificate(pem);
  } catch (err) {
    throw new ConfigError("HERALD_TLS_CERT", `cannot read a PEM certificate from ${config.certFile}: ${(err as Error).message}`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: readFileSync(config.keyFile), format: "pem", ...(config.passphrase !== undefined ? { passphrase: config.passphrase } : {}) });
  } catch (err) {
    const hint = config.passphrase === undefined ? " (an encrypted key needs HERALD_TLS_PASSPHRASE)" : "";
    throw new ConfigError("HERALD_TLS_KEY", `cannot read a PEM private key from ${config.keyFile}: ${(err as Error).message}${hint}`);
  }
  if (!cert.checkPrivateKey(key)) throw new ConfigError("HERALD_TLS_KEY", `the key in ${config.keyFile} does not belong to the certificate in ${config.certFile}`);
  return {
    fingerprint256: cert.fingerprint256,
    validTo: cert.validTo,
    subject: cert.subject,
    issuer: cert.issuer,
    certificates: pem.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0,
    selfSigned: cert.checkIssued(cert) && cert.verify(cert.publicKey),
  };
}

/**
 * Why a certificate file will fail clients, or undefined: one certificate that a
 * CA issued, without the intermediates clients need to reach their trusted root
 * ("unable to verify the first certificate").
 */
export function missingChainWarning(file: string, cert: CertificateSummary): string | undefined {
  if (cert.certificates !== 1 || cert.selfSigned) return undefined;
  return `HERALD_TLS_CERT (${file}) holds only the server's certificate, issued by "${cert.issuer.replace(/\n/g, ", ")}", without the intermediate certificate(s): clients that do not already have them fail with "unable to verify the first certificate". Use the full chain file (leaf first, then the intermediates; Let's Encrypt: fullchain.pem)`;
}
