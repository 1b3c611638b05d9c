import { ConfigError } from "@herald/config";
import type { Logger } from "@herald/observability";
import type { TemplatedApp, Uws } from "../load-uws.js";
import { missingChainWarning, readTlsFiles, type TlsConfig } from "./tls-config.js";

/**
 * A uWebSockets.js SSLApp for the certificate, key and cipher list of `tls`,
 * read and checked now; logs what it serves, and warns about a certificate file
 * without its chain. A file or cipher list uWebSockets.js refuses is a
 * ConfigError naming the variable.
 */
export function createSslApp(uws: Uws, tls: TlsConfig, logger: Logger): TemplatedApp {
  const cert = readTlsFiles(tls);
  const files: Parameters<Uws["SSLApp"]>[0] = { cert_file_name: tls.certFile, key_file_name: tls.keyFile, ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}) };
  let app: TemplatedApp;
  try {
    app = uws.SSLApp({ ...files, ssl_ciphers: tls.ciphers });
  } catch (err) {
    // The files passed readTlsFiles, so the cipher list is the usual suspect: try without it to be sure.
    try {
      uws.SSLApp(files);
    } catch {
      throw new ConfigError("HERALD_TLS_CERT", `uWebSockets.js cannot load ${tls.certFile} with ${tls.keyFile}: ${(err as Error).message}`);
    }
    throw new ConfigError("HERALD_TLS_CIPHERS", `uWebSockets.js (BoringSSL) knows none of the cipher suites in "${tls.ciphers}"; use OpenSSL names such as ECDHE-RSA-AES128-GCM-SHA256 (BoringSSL has no DHE suites)`);
  }
  logger.info({ certFile: tls.certFile, fingerprint256: cert.fingerprint256, subject: cert.subject, issuer: cert.issuer, certificates: cert.certificates, validTo: cert.validTo, ciphers: tls.ciphers }, "TLS certificate loaded");
  const warning = missingChainWarning(tls.certFile, cert);
  if (warning) logger.warn({ certFile: tls.certFile }, warning);
  return app;
}
