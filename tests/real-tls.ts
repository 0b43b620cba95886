// Real @pulumi/tls outputs for mock runs: turns the inputs the program actually gave tls resources into real
// keys, CSRs and certificates with the openssl CLI, as the terraform-provider-tls behind @pulumi/tls would.
// Every input is either translated or rejected, so a test cannot pass on an input that was silently dropped.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { MockResourceArgs } from "@pulumi/pulumi/runtime/mocks";
import { plain } from "./harness";

type Inputs = Record<string, unknown>;

/** snake_case `allowedUses` (as the provider accepts them) -> openssl keyUsage / extendedKeyUsage names. */
const keyUsages: Record<string, string> = {
  digital_signature: "digitalSignature",
  content_commitment: "nonRepudiation",
  key_encipherment: "keyEncipherment",
  data_encipherment: "dataEncipherment",
  key_agreement: "keyAgreement",
  cert_signing: "keyCertSign",
  crl_signing: "cRLSign",
  encipher_only: "encipherOnly",
  decipher_only: "decipherOnly",
};
const extKeyUsages: Record<string, string> = {
  any_extended: "anyExtendedKeyUsage",
  server_auth: "serverAuth",
  client_auth: "clientAuth",
  code_signing: "codeSigning",
  email_protection: "emailProtection",
  timestamping: "timeStamping",
  ocsp_signing: "OCSPSigning",
};

/** Subject fields -> openssl DN attributes, in the order Go's pkix.Name writes them. */
const subjectFields: [string, string][] = [
  ["country", "C"],
  ["province", "ST"],
  ["locality", "L"],
  ["postalCode", "postalCode"],
  ["organization", "O"],
  ["organizationalUnit", "OU"],
  ["commonName", "CN"],
  ["serialNumber", "serialNumber"],
];

const curves: Record<string, string> = {
  P224: "secp224r1",
  P256: "prime256v1",
  P384: "secp384r1",
  P521: "secp521r1",
};

function openssl(args: string[], input?: string): string {
  return execFileSync("openssl", args, { input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
}

function workdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "mpm-tls-"));
}

/** Fails on any input the generator does not translate (present and not empty/false/0). */
function onlyKnown(type: string, inputs: Inputs, known: string[]): void {
  for (const [k, v] of Object.entries(inputs)) {
    if (known.includes(k)) continue;
    const empty = v === undefined || v === null || v === false || (Array.isArray(v) && v.length === 0);
    if (!empty) throw new Error(`real-tls: ${type} input ${k}=${JSON.stringify(v)} is not translated`);
  }
}

function str(inputs: Inputs, key: string): string {
  const v = inputs[key];
  if (typeof v !== "string" || v === "") throw new Error(`real-tls: input ${key} must be a non-empty string`);
  return v;
}

function subjectArg(subject: unknown): string {
  const s = (subject ?? {}) as Record<string, unknown>;
  onlyKnown(
    "subject",
    s,
    subjectFields.map(([f]) => f),
  );
  const parts = subjectFields
    .filter(([f]) => typeof s[f] === "string" && s[f] !== "")
    .map(([f, attr]) => `/${attr}=${String(s[f]).replace(/([/\\])/g, "\\$1")}`);
  return parts.length > 0 ? parts.join("") : "/";
}

/** The extension section of an openssl config for a certificate issued with these inputs. */
function certExtensions(inputs: Inputs, selfSigned: boolean): string {
  const uses = (inputs.allowedUses ?? []) as string[];
  const ku: string[] = [];
  const eku: string[] = [];
  for (const u of uses) {
    if (keyUsages[u]) ku.push(keyUsages[u]);
    else if (extKeyUsages[u]) eku.push(extKeyUsages[u]);
    // The provider silently ignores unknown values (e.g. camelCase ones): so must we, faithfully.
  }
  const lines = ["[ext]"];
  if (inputs.isCaCertificate === true) {
    if (inputs.maxPathLength !== undefined && inputs.maxPathLength !== 0) {
      throw new Error(`real-tls: maxPathLength=${inputs.maxPathLength} is not translated`);
    }
    lines.push("basicConstraints = critical, CA:TRUE");
  } else {
    lines.push("basicConstraints = critical, CA:FALSE");
  }
  // Go's x509 marks keyUsage critical.
  if (ku.length > 0) lines.push(`keyUsage = critical, ${ku.join(", ")}`);
  if (eku.length > 0) lines.push(`extendedKeyUsage = ${eku.join(", ")}`);
  // Go's x509 always derives a subject key id for CA certificates; the provider adds one when asked.
  if (inputs.setSubjectKeyId === true || inputs.isCaCertificate === true)
    lines.push("subjectKeyIdentifier = hash");
  // Go sets the authority key id from the issuer's subject key id when the issuer has one.
  if (!selfSigned || inputs.setAuthorityKeyId === true) lines.push("authorityKeyIdentifier = keyid");
  return `${lines.join("\n")}\n`;
}

function validityDays(inputs: Inputs): string {
  const hours = inputs.validityPeriodHours;
  if (typeof hours !== "number" || !Number.isInteger(hours) || hours <= 0) {
    throw new Error(`real-tls: validityPeriodHours=${JSON.stringify(hours)} must be a positive integer`);
  }
  // openssl 3.0's x509/req take whole days only; refuse what it cannot express exactly.
  if (hours % 24 !== 0)
    throw new Error(`real-tls: validityPeriodHours=${hours} is not a whole number of days`);
  return String(hours / 24);
}

function renewal(inputs: Inputs): void {
  const h = inputs.earlyRenewalHours;
  // Only decides when a later `up` re-issues; it does not change the certificate. Still must be sane.
  if (h !== undefined && (typeof h !== "number" || h < 0))
    throw new Error(`real-tls: earlyRenewalHours=${h}`);
}

function privateKey(inputs: Inputs): Inputs {
  onlyKnown("PrivateKey", inputs, ["algorithm", "rsaBits", "ecdsaCurve"]);
  const dir = workdir();
  const raw = path.join(dir, "key.pem");
  let traditional: string;
  if (inputs.algorithm === "RSA") {
    const bits = inputs.rsaBits ?? 2048; // the provider's default
    openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", `rsa_keygen_bits:${bits}`, "-out", raw]);
    traditional = openssl(["rsa", "-in", raw, "-traditional"]); // the provider emits PKCS#1 for RSA
  } else if (inputs.algorithm === "ECDSA") {
    const name = String(inputs.ecdsaCurve ?? "P224"); // the provider's (unusable) default
    const curve = curves[name];
    if (!curve) throw new Error(`real-tls: ecdsaCurve=${name} is not translated`);
    openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", `ec_paramgen_curve:${curve}`, "-out", raw]);
    traditional = openssl(["ec", "-in", raw]); // SEC1, as the provider emits for ECDSA
  } else {
    throw new Error(`real-tls: algorithm=${JSON.stringify(inputs.algorithm)} is not translated`);
  }
  return {
    privateKeyPem: traditional,
    privateKeyPemPkcs8: openssl(["pkey", "-in", raw]),
    publicKeyPem: openssl(["pkey", "-in", raw, "-pubout"]),
  };
}

function selfSignedCert(inputs: Inputs): Inputs {
  onlyKnown("SelfSignedCert", inputs, [
    "privateKeyPem",
    "subject",
    "isCaCertificate",
    "maxPathLength",
    "allowedUses",
    "validityPeriodHours",
    "earlyRenewalHours",
    "setSubjectKeyId",
    "setAuthorityKeyId",
  ]);
  renewal(inputs);
  const dir = workdir();
  const key = path.join(dir, "key.pem");
  const ext = path.join(dir, "ext.cnf");
  fs.writeFileSync(key, str(inputs, "privateKeyPem"));
  fs.writeFileSync(ext, `[req]\ndistinguished_name = dn\n[dn]\n${certExtensions(inputs, true)}`);
  const certPem = openssl([
    "req",
    "-new",
    "-x509",
    "-key",
    key,
    "-subj",
    subjectArg(inputs.subject),
    "-days",
    validityDays(inputs),
    "-sha256",
    "-config",
    ext,
    "-extensions",
    "ext",
    "-set_serial",
    serial(),
  ]);
  return { certPem };
}

function certRequest(inputs: Inputs): Inputs {
  onlyKnown("CertRequest", inputs, ["privateKeyPem", "subject"]);
  const dir = workdir();
  const key = path.join(dir, "key.pem");
  const cnf = path.join(dir, "req.cnf");
  fs.writeFileSync(key, str(inputs, "privateKeyPem"));
  fs.writeFileSync(cnf, "[req]\ndistinguished_name = dn\n[dn]\n");
  const certRequestPem = openssl([
    "req",
    "-new",
    "-key",
    key,
    "-subj",
    subjectArg(inputs.subject),
    "-sha256",
    "-config",
    cnf,
  ]);
  return { certRequestPem };
}

function locallySignedCert(inputs: Inputs): Inputs {
  onlyKnown("LocallySignedCert", inputs, [
    "certRequestPem",
    "caCertPem",
    "caPrivateKeyPem",
    "isCaCertificate",
    "maxPathLength",
    "allowedUses",
    "validityPeriodHours",
    "earlyRenewalHours",
    "setSubjectKeyId",
  ]);
  renewal(inputs);
  const dir = workdir();
  const files = { csr: "csr.pem", ca: "ca.pem", caKey: "ca-key.pem", ext: "ext.cnf" };
  const at = (f: string) => path.join(dir, f);
  fs.writeFileSync(at(files.csr), str(inputs, "certRequestPem"));
  fs.writeFileSync(at(files.ca), str(inputs, "caCertPem"));
  fs.writeFileSync(at(files.caKey), str(inputs, "caPrivateKeyPem"));
  fs.writeFileSync(at(files.ext), certExtensions(inputs, false));
  const certPem = openssl([
    "x509",
    "-req",
    "-in",
    at(files.csr),
    "-CA",
    at(files.ca),
    "-CAkey",
    at(files.caKey),
    "-days",
    validityDays(inputs),
    "-sha256",
    "-extfile",
    at(files.ext),
    "-extensions",
    "ext",
    "-set_serial",
    serial(),
  ]);
  return { certPem };
}

function serial(): string {
  return `0x${Buffer.from(Array.from({ length: 16 }, () => Math.floor(Math.random() * 256))).toString("hex")}`;
}

/** Every string inside a value (secret wrappers removed), plus the decoding of any base64 string. */
export function leaves(v: unknown): string[] {
  const x = plain(v);
  if (typeof x === "string") {
    return /^[A-Za-z0-9+/]{16,}={0,2}$/.test(x) ? [x, Buffer.from(x, "base64").toString("utf8")] : [x];
  }
  if (x && typeof x === "object") return Object.values(x).flatMap(leaves);
  return [];
}

/** Real outputs for @pulumi/tls resources; undefined for any other type (the defaults answer those). */
export function realTlsOutputs(args: MockResourceArgs): Record<string, unknown> | undefined {
  const inputs = plain(args.inputs) as Inputs;
  switch (args.type) {
    case "tls:index/privateKey:PrivateKey":
      return privateKey(inputs);
    case "tls:index/selfSignedCert:SelfSignedCert":
      return selfSignedCert(inputs);
    case "tls:index/certRequest:CertRequest":
      return certRequest(inputs);
    case "tls:index/locallySignedCert:LocallySignedCert":
      return locallySignedCert(inputs);
    default:
      if (args.type.startsWith("tls:")) throw new Error(`real-tls: ${args.type} is not translated`);
      return undefined;
  }
}
