// Proves the mesh's trust with real cryptography: the @pulumi/tls inputs the lab (index.ts) actually gives
// are turned into real keys and certificates by openssl (tests/real-tls.ts), then each cluster's cacerts, as
// the program writes it, is checked as istiod checks it: the chain verifies to the root, the CA cert is a CA
// with keyCertSign and no extended key usage, it matches its key, and it can sign a workload certificate.
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { find, type LabRun, plain, runLab } from "./harness";
import { leaves, realTlsOutputs } from "./real-tls";
import { requireTool } from "./validators";

const workloads = ["kube-01", "kube-02"];
const hours = (c: X509Certificate) => (Date.parse(c.validTo) - Date.parse(c.validFrom)) / 3_600_000;

/** The four files of a cluster's cacerts, decoded from the Secret's recorded inputs, written to a directory. */
function cacerts(run: LabRun, cluster: string): { dir: string; pem: Record<string, string> } {
  const data = plain(find(run, "kubernetes:core/v1:Secret", `istio-ca-${cluster}-cacerts`).inputs.data);
  const pem = Object.fromEntries(
    Object.entries(data as Record<string, string>).map(([k, v]) => [
      k,
      Buffer.from(v, "base64").toString("utf8"),
    ]),
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mpm-cacerts-${cluster}-`));
  for (const [k, v] of Object.entries(pem)) fs.writeFileSync(path.join(dir, k), v);
  return { dir, pem };
}

/** The PEM blocks of a bundle. */
function blocks(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? [];
}

/** `openssl x509 -ext` text of a certificate's extensions, whitespace collapsed. */
function extensions(pem: string, names: string): string {
  return execFileSync("openssl", ["x509", "-noout", "-ext", names], { input: pem, encoding: "utf8" })
    .replace(/\s+/g, " ")
    .trim();
}

function opensslVerify(dir: string, args: string[]): { ok: boolean; output: string } {
  const r = spawnSync("openssl", ["verify", ...args], { cwd: dir, encoding: "utf8" });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}`.trim() };
}

const variants = [
  { label: "RSA 2048", config: { caRsaBits: 2048 }, key: { type: "rsa", detail: { modulusLength: 2048 } } },
  {
    label: "ECDSA P256",
    config: { caKeyAlgorithm: "ECDSA", caEcdsaCurve: "P256" },
    key: { type: "ec", detail: { namedCurve: "prime256v1" } },
  },
];

describe("the lab's CA made real", () => {
  // In a hook, one at a time: mock runs share the process-global Pulumi runtime, so none may overlap.
  const runs: LabRun[] = [];
  before(async () => {
    requireTool("openssl", ["version"]);
    for (const variant of variants)
      runs.push(await runLab({ config: variant.config, outputs: realTlsOutputs }));
  });
  for (const [i, variant] of variants.entries()) {
    describe(variant.label, () => {
      let run: LabRun;
      let rootPem: string;
      let root: X509Certificate;
      before(() => {
        run = runs[i];
        rootPem = run.outputs.rootCertificate as string;
        root = new X509Certificate(rootPem);
      });

      test("rootCertificate is a self-signed 10-year CA, O=Istio CN=Istio root CA, signing certs and CRLs only", () => {
        assert.equal(root.subject, "O=Istio\nCN=Istio root CA");
        assert.equal(root.issuer, root.subject);
        assert.ok(root.ca);
        assert.ok(root.verify(root.publicKey));
        assert.equal(hours(root), 87600);
        assert.equal(
          extensions(rootPem, "basicConstraints,keyUsage,extendedKeyUsage"),
          "X509v3 Basic Constraints: critical CA:TRUE X509v3 Key Usage: critical Certificate Sign, CRL Sign",
        );
        assert.equal(root.publicKey.asymmetricKeyType, variant.key.type);
        assert.deepEqual(
          Object.fromEntries(
            Object.keys(variant.key.detail).map((k) => [k, (root.publicKey.asymmetricKeyDetails as any)[k]]),
          ),
          variant.key.detail,
        );
      });

      for (const cluster of workloads) {
        test(`${cluster}: cert-chain.pem verifies against root-cert.pem (openssl verify and node)`, () => {
          const { dir, pem } = cacerts(run, cluster);
          assert.deepEqual(Object.keys(pem).sort(), [
            "ca-cert.pem",
            "ca-key.pem",
            "cert-chain.pem",
            "root-cert.pem",
          ]);
          assert.equal(pem["root-cert.pem"], rootPem);
          assert.deepEqual(blocks(pem["cert-chain.pem"]), [pem["ca-cert.pem"], rootPem]);
          const v = opensslVerify(dir, [
            "-x509_strict",
            "-CAfile",
            "root-cert.pem",
            "-untrusted",
            "cert-chain.pem",
            "ca-cert.pem",
          ]);
          assert.ok(v.ok, v.output);
          assert.equal(v.output, "ca-cert.pem: OK");
          const inter = new X509Certificate(pem["ca-cert.pem"]);
          assert.ok(inter.checkIssued(root));
          assert.ok(inter.verify(root.publicKey));
        });

        test(`${cluster}: ca-cert.pem is a CA with keyCertSign, no EKU, its subject and 43800 h, matching ca-key.pem`, () => {
          const { pem } = cacerts(run, cluster);
          const inter = new X509Certificate(pem["ca-cert.pem"]);
          assert.equal(inter.subject, `L=${cluster}\nO=Istio\nCN=Intermediate CA ${cluster}`);
          assert.equal(inter.issuer, root.subject);
          assert.ok(inter.ca);
          assert.equal(hours(inter), 43800);
          assert.equal(
            extensions(pem["ca-cert.pem"], "basicConstraints,keyUsage,extendedKeyUsage"),
            "X509v3 Basic Constraints: critical CA:TRUE X509v3 Key Usage: critical Digital Signature, Certificate Sign, CRL Sign",
          );
          assert.ok(inter.checkPrivateKey(createPrivateKey(pem["ca-key.pem"])));
          assert.equal(inter.publicKey.asymmetricKeyType, variant.key.type);
        });

        test(`${cluster}: the intermediate signs a workload certificate (as istiod does) that verifies to the root`, () => {
          const { dir } = cacerts(run, cluster);
          const sh = (args: string[]) =>
            execFileSync("openssl", args, { cwd: dir, encoding: "utf8", stdio: "pipe" });
          sh([
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "w.key",
            "-subj",
            "/",
            "-out",
            "w.csr",
          ]);
          fs.writeFileSync(
            path.join(dir, "w.ext"),
            "subjectAltName = critical, URI:spiffe://cluster.local/ns/httpbin/sa/httpbin\nextendedKeyUsage = serverAuth, clientAuth\nkeyUsage = critical, digitalSignature, keyEncipherment\n",
          );
          sh([
            "x509",
            "-req",
            "-in",
            "w.csr",
            "-CA",
            "ca-cert.pem",
            "-CAkey",
            "ca-key.pem",
            "-set_serial",
            "7",
            "-days",
            "1",
            "-extfile",
            "w.ext",
            "-out",
            "w.pem",
          ]);
          const v = opensslVerify(dir, [
            "-purpose",
            "sslserver",
            "-CAfile",
            "root-cert.pem",
            "-untrusted",
            "ca-cert.pem",
            "w.pem",
          ]);
          assert.ok(v.ok, v.output);
          assert.equal(v.output, "w.pem: OK");
        });
      }

      test("the real root key is in no resource's inputs but the root's and the intermediates' signing, nor any output", () => {
        const rootKey = plain(
          find(run, "tls:index/selfSignedCert:SelfSignedCert", "istio-ca-root-cert").inputs.privateKeyPem,
        ) as string;
        assert.match(rootKey, /^-----BEGIN (RSA|EC) PRIVATE KEY-----\n/);
        const body = rootKey.split("\n")[1]; // the key's first 64 base64 characters
        const holders = run.registrations
          .filter((r) => leaves(r.inputs).some((l) => l.includes(body)))
          .map((r) => r.name)
          .sort();
        assert.deepEqual(holders, ["istio-ca-kube-01-cert", "istio-ca-kube-02-cert", "istio-ca-root-cert"]);
        assert.ok(!leaves(run.outputs).some((l) => l.includes(body)));
      });
    });
  }
});

describe("the openssl translation itself", () => {
  const rsa = realTlsOutputs({
    type: "tls:index/privateKey:PrivateKey",
    name: "k",
    inputs: { algorithm: "RSA", rsaBits: 2048 },
    provider: "",
    custom: true,
  }) as Record<string, string>;
  const cert = (inputs: Record<string, unknown>) =>
    realTlsOutputs({
      type: "tls:index/selfSignedCert:SelfSignedCert",
      name: "c",
      inputs,
      provider: "",
      custom: true,
    });
  const base = { privateKeyPem: rsa.privateKeyPem, isCaCertificate: true, validityPeriodHours: 24 };

  test("an input it does not translate fails the generation, so no test passes on a dropped input", () => {
    assert.throws(() => cert({ ...base, allowedUses: ["cert_signing"], dnsNames: ["istiod"] }), {
      message: 'real-tls: SelfSignedCert input dnsNames=["istiod"] is not translated',
    });
    assert.throws(() => cert({ ...base, allowedUses: [], validityPeriodHours: 25 }), {
      message: "real-tls: validityPeriodHours=25 is not a whole number of days",
    });
  });

  test("camelCase usages are dropped as the provider drops them: the certificate then lacks keyCertSign", () => {
    const out = cert({ ...base, allowedUses: ["certSigning", "crlSigning"] }) as { certPem: string };
    assert.equal(extensions(out.certPem, "keyUsage"), "");
    assert.equal(extensions(out.certPem, "basicConstraints"), "X509v3 Basic Constraints: critical CA:TRUE");
  });
});
