import { randomBytes } from "node:crypto";
import { connect } from "node:net";

// A TLS 1.2 ClientHello written byte by byte, so a test can offer suites that no
// client library here still implements (3DES: OpenSSL 3 and Node have dropped
// it) and read exactly what the server answers.

export const SUITES = {
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 0x000a,
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 0xc012,
  TLS_RSA_WITH_AES_128_CBC_SHA: 0x002f,
  TLS_RSA_WITH_AES_256_CBC_SHA: 0x0035,
  TLS_RSA_WITH_AES_128_GCM_SHA256: 0x009c,
  TLS_RSA_WITH_AES_256_GCM_SHA384: 0x009d,
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 0xc013,
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 0xc014,
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 0xc02f,
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 0xc030,
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 0xcca8,
} as const;

const u16 = (n: number) => Buffer.from([n >> 8, n & 255]);
const u24 = (n: number) => Buffer.from([n >> 16, (n >> 8) & 255, n & 255]);
const withU16Length = (b: Buffer) => Buffer.concat([u16(b.length), b]);
const extension = (type: number, data: Buffer) => Buffer.concat([u16(type), withU16Length(data)]);

/** A TLS 1.2 ClientHello record offering exactly `suites`, in that order. */
export function clientHello(suites: readonly number[]): Buffer {
  const extensions = Buffer.concat([
    extension(0x000a, withU16Length(Buffer.concat([0x001d, 0x0017, 0x0018].map(u16)))), // supported_groups: x25519, P-256, P-384
    extension(0x000b, Buffer.from([1, 0])), // ec_point_formats: uncompressed
    extension(0x000d, withU16Length(Buffer.concat([0x0804, 0x0403, 0x0401, 0x0805, 0x0501, 0x0201].map(u16)))), // signature_algorithms
    extension(0xff01, Buffer.from([0])), // renegotiation_info (empty)
  ]);
  const body = Buffer.concat([
    u16(0x0303), // client_version: TLS 1.2 (no supported_versions extension: no TLS 1.3)
    randomBytes(32),
    Buffer.from([0]), // no session id
    withU16Length(Buffer.concat(suites.map(u16))),
    Buffer.from([1, 0]), // compression: null
    withU16Length(extensions),
  ]);
  const handshake = Buffer.concat([Buffer.from([1]), u24(body.length), body]);
  return Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), u16(handshake.length), handshake]);
}

export type HelloAnswer =
  | { kind: "server-hello"; suite: number }
  | { kind: "alert"; level: number; description: number }
  | { kind: "closed" };

/** Sends the ClientHello to host:port and reports the server's first answer. */
export function offer(port: number, suites: readonly number[], host = "127.0.0.1"): Promise<HelloAnswer> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, host);
    let got = Buffer.alloc(0);
    const done = (answer: HelloAnswer) => {
      sock.destroy();
      resolve(answer);
    };
    sock.setTimeout(5000, () => {
      sock.destroy();
      reject(new Error("no answer to the ClientHello within 5 s"));
    });
    sock.on("connect", () => sock.write(clientHello(suites)));
    sock.on("error", () => done({ kind: "closed" }));
    sock.on("close", () => done({ kind: "closed" }));
    sock.on("data", (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length < 5) return;
      const type = got[0];
      if (type === 0x15 && got.length >= 7) return done({ kind: "alert", level: got[5]!, description: got[6]! });
      // Handshake record: type(1) length(3) version(2) random(32) session_id(1+n) cipher_suite(2)
      if (type === 0x16 && got.length >= 5 + 4 + 2 + 32 + 1) {
        const sidLength = got[5 + 4 + 2 + 32]!;
        const at = 5 + 4 + 2 + 32 + 1 + sidLength;
        if (got[5] !== 2) return reject(new Error(`expected ServerHello, got handshake type ${got[5]}`));
        if (got.length >= at + 2) return done({ kind: "server-hello", suite: got.readUInt16BE(at) });
      }
    });
  });
}

/** TLS alert 40: no suite in common. */
export const HANDSHAKE_FAILURE = 40;
