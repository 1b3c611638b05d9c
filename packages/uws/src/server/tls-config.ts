import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { ConfigError, readString, type Env } from "@herald/config";

/** Direct TLS for the gateway: PEM files, re-read on every reload. */
export interface TlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
  readonly passphrase?: string;
}

/** HERALD_TLS_CERT + HERALD_TLS_KEY (+ HERALD_TLS_PASSPHRASE): both or neither; the files are checked now. */
export function tlsConfigFromEnv(env: Env): TlsConfig | undefined {
  const certFile = readString(env, "HERALD_TLS_CERT");
  const keyFile = readString(env, "HERALD_TLS_KEY");
  const passphrase = readString(env, "HERALD_TLS_PASSPHRASE");
  if (certFile === undefined && keyFile === undefined) {
    if (passphrase !== undefined) throw new ConfigError("HERALD_TLS_PASSPHRASE", "is set but HERALD_TLS_CERT and HERALD_TLS_KEY are not");
    return undefined;
  }
  if (certFile === undefined) throw new ConfigError("HERALD_TLS_CERT", "is required when HERALD_TLS_KEY is set (PEM certificate chain file)");
  if (keyFile === undefined) throw new ConfigError("HERALD_TLS_KEY", "is required when HERALD_TLS_CERT is set (PEM private key file)");
  const config: TlsConfig = { certFile, keyFile, ...(passphrase !== undefined ? { passphrase } : {}) };
  readTlsFiles(config);
  return config;
}

/**
 * Reads and checks the certificate and key (parse, passphrase, key matches
 * certificate), so a bad file is a clear error before uWebSockets.js sees it.
 * Returns the certificate's SHA-256 fingerprint and expiry for the logs.
 */
export function readTlsFiles(config: TlsConfig): { fingerprint256: string; validTo: string; subject: string } {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(config.certFile));
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
  return { fingerprint256: cert.fingerprint256, validTo: cert.validTo, subject: cert.subject };
}
