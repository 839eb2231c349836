// A self-signed certificate for 127.0.0.1 and localhost, made once per test process with the
// openssl CLI (Debian package openssl): what `listen({ tls })` serves and clients trust as `ca`.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { outsideTool } from "./outside-tool.js";

export const openssl = outsideTool("openssl", "openssl");

export interface TestCertificate {
  /** PEM private key and certificate, for `listen({ tls: { key, cert } })`. */
  key: Buffer;
  cert: Buffer;
  /** The certificate's file, for outside clients (`curl --cacert`). */
  certFile: string;
}

let made: Promise<TestCertificate> | undefined;
const dirs: string[] = [];
process.once("exit", () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The process's certificate (made on first use; one openssl run per test file). */
export function testCertificate(): Promise<TestCertificate> {
  made ??= makeCertificate();
  return made;
}

async function makeCertificate(): Promise<TestCertificate> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-cert-"));
  dirs.push(dir);
  const keyFile = join(dir, "key.pem");
  const certFile = join(dir, "cert.pem");
  await promisify(execFile)(openssl.require(), [
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
    ...["-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"],
    ...["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
    ...["-keyout", keyFile, "-out", certFile],
  ]);
  return { key: readFileSync(keyFile), cert: readFileSync(certFile), certFile };
}
