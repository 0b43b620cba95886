// Proves, under mocks with cheap fake PEMs, how the lab's mesh trust is built: which CA resources exist, with
// which exact @pulumi/tls inputs, where each cacerts Secret goes, and that key material stays secret and the
// root key goes nowhere but into the certificates it signs. tests/ca-chain.test.ts checks real certificates.
import * as assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { IstioCertificateAuthority } from "../components/istio-ca";
import type { ClusterRef } from "../components/types";
import { type ClusterSpec, parseLabConfig } from "../config";
import { fakeCluster } from "./fakes";
import {
  byUrn,
  dependsOn,
  find,
  type LabRun,
  ofType,
  plain,
  providerOf,
  type Registration,
  runLab,
  runProgram,
} from "./harness";
import { fakePem } from "./mock-outputs";
import { leaves } from "./real-tls";

const T = {
  ca: "multi-primary-mesh:index:IstioCertificateAuthority",
  key: "tls:index/privateKey:PrivateKey",
  root: "tls:index/selfSignedCert:SelfSignedCert",
  csr: "tls:index/certRequest:CertRequest",
  cert: "tls:index/locallySignedCert:LocallySignedCert",
  ns: "kubernetes:core/v1:NamespacePatch",
  secret: "kubernetes:core/v1:Secret",
  cluster: "multi-primary-mesh:index:K3sCluster",
};
const b64 = (s: string) => Buffer.from(s).toString("base64");
const unb64 = (s: string) => Buffer.from(s, "base64").toString("utf8");
const names = (regs: Registration[]) => regs.map((r) => r.name).sort();
const workloads = ["kube-01", "kube-02"];

/** The registration's nearest ancestor (parent chain) of the given type, if any. */
function ancestorOfType(run: LabRun, reg: Registration, type: string): Registration | undefined {
  let at: Registration | undefined = reg;
  while (at?.parent) {
    at = run.registrations.find((r) => r.urn === at?.parent);
    if (at?.type === type) return at;
  }
  return undefined;
}

/** Names of the registrations whose inputs contain any of the texts (in a string input, or its base64). */
function holders(run: LabRun, texts: string[]): string[] {
  return run.registrations
    .filter((r) => leaves(r.inputs).some((l) => texts.some((t) => l.includes(t))))
    .map((r) => r.name)
    .sort();
}

function cacertsOf(run: LabRun): Registration[] {
  return ofType(run, T.secret).filter((r) => r.inputs.metadata?.name === "cacerts");
}

describe("the lab's CA (index.ts under mocks, default config)", () => {
  // In a hook, not the describe body: mock runs share the process-global Pulumi runtime, so none may overlap.
  let run: LabRun;
  before(async () => {
    run = await runLab();
  });
  const rootKeyPem = fakePem("PRIVATE KEY", "istio-ca-root-key");
  const rootCertPem = fakePem("CERTIFICATE", "istio-ca-root-cert");

  test("one root CA and one intermediate per workload cluster, none for the management cluster", () => {
    assert.deepEqual(names(ofType(run, T.key)), [
      "istio-ca-kube-01-key",
      "istio-ca-kube-02-key",
      "istio-ca-root-key",
    ]);
    assert.deepEqual(names(ofType(run, T.root)), ["istio-ca-root-cert"]);
    assert.deepEqual(names(ofType(run, T.csr)), ["istio-ca-kube-01-csr", "istio-ca-kube-02-csr"]);
    assert.deepEqual(names(ofType(run, T.cert)), ["istio-ca-kube-01-cert", "istio-ca-kube-02-cert"]);
    const ca = find(run, T.ca, "istio-ca");
    for (const t of [T.key, T.root, T.csr, T.cert])
      for (const r of ofType(run, t)) assert.equal(r.parent, ca.urn);
  });

  test("the root is a 10-year self-signed CA (RSA 4096) that signs certificates and CRLs only", () => {
    assert.deepEqual(find(run, T.key, "istio-ca-root-key").inputs, { algorithm: "RSA", rsaBits: 4096 });
    assert.deepEqual(plain(find(run, T.root, "istio-ca-root-cert").inputs), {
      privateKeyPem: rootKeyPem,
      subject: { organization: "Istio", commonName: "Istio root CA" },
      isCaCertificate: true,
      allowedUses: ["cert_signing", "crl_signing"],
      validityPeriodHours: 87600,
      earlyRenewalHours: 720,
      setSubjectKeyId: true,
      setAuthorityKeyId: true,
    });
  });

  test("each intermediate: own RSA 4096 key, subject naming its cluster, signed by the root, 5 years, CA usages", () => {
    for (const c of workloads) {
      assert.deepEqual(find(run, T.key, `istio-ca-${c}-key`).inputs, { algorithm: "RSA", rsaBits: 4096 });
      assert.deepEqual(plain(find(run, T.csr, `istio-ca-${c}-csr`).inputs), {
        privateKeyPem: fakePem("PRIVATE KEY", `istio-ca-${c}-key`),
        subject: { organization: "Istio", commonName: `Intermediate CA ${c}`, locality: c },
      });
      assert.deepEqual(plain(find(run, T.cert, `istio-ca-${c}-cert`).inputs), {
        certRequestPem: fakePem("CERTIFICATE REQUEST", `istio-ca-${c}-csr`),
        caCertPem: rootCertPem,
        caPrivateKeyPem: rootKeyPem,
        isCaCertificate: true,
        allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
        validityPeriodHours: 43800,
        earlyRenewalHours: 720,
        setSubjectKeyId: true,
      });
    }
  });

  test("every allowedUses value is one @pulumi/tls understands (snake_case; it silently drops others)", () => {
    const known = new Set(["cert_signing", "crl_signing", "digital_signature", "key_encipherment"]);
    for (const r of [...ofType(run, T.root), ...ofType(run, T.cert)]) {
      for (const u of r.inputs.allowedUses) assert.ok(known.has(u), `${r.name}: ${u}`);
    }
  });

  test("cacerts: one per workload cluster, in istio-system, through that cluster's provider, deleted with its VM", () => {
    const secrets = cacertsOf(run);
    assert.deepEqual(names(secrets), ["istio-ca-kube-01-cacerts", "istio-ca-kube-02-cacerts"]);
    for (const c of workloads) {
      const secret = find(run, T.secret, `istio-ca-${c}-cacerts`);
      const ns = find(run, T.ns, `istio-ca-${c}-istio-system`);
      const cluster = find(run, T.cluster, c);
      for (const r of [secret, ns]) {
        const provider = providerOf(run, r);
        assert.ok(provider, `${r.name} uses the default provider`);
        assert.equal(
          ancestorOfType(run, provider, T.cluster)?.urn,
          cluster.urn,
          `${r.name}'s provider is not ${c}'s`,
        );
        const launch = byUrn(run, r.deletedWith);
        assert.equal(launch.type, "command:local:Command");
        assert.equal(
          ancestorOfType(run, launch, T.cluster)?.urn,
          cluster.urn,
          `${r.name} is not deleted with ${c}'s VM`,
        );
      }
      assert.deepEqual(secret.inputs.metadata, { name: "cacerts", namespace: "istio-system" });
      assert.equal(secret.inputs.type, "Opaque");
      assert.ok(dependsOn(run, secret, ns), "cacerts is created after its namespace");
    }
    // Nothing of the CA's reaches the management cluster.
    const mgmt = find(run, T.cluster, "kube-00");
    for (const r of run.registrations.filter(
      (x) => x.parent === find(run, T.ca, "istio-ca").urn && x.provider,
    )) {
      const p = providerOf(run, r);
      assert.notEqual(p && ancestorOfType(run, p, T.cluster)?.urn, mgmt.urn, `${r.name} goes to kube-00`);
    }
  });

  test("Istio's control plane (the pilot app) is synced to a cluster only after that cluster's cacerts exists", () => {
    for (const c of workloads) {
      const pilot = find(run, "kubernetes:argoproj.io/v1alpha1:Application", `${c}-istio-pilot-application`);
      assert.ok(dependsOn(run, pilot, find(run, T.secret, `istio-ca-${c}-cacerts`)), `${c}-istio-pilot`);
    }
  });

  test("istio-system is labelled with the cluster's network, as Istio's base chart labels it", () => {
    for (const [c, network] of [
      ["kube-01", "network1"],
      ["kube-02", "network2"],
    ]) {
      assert.deepEqual(find(run, T.ns, `istio-ca-${c}-istio-system`).inputs.metadata, {
        name: "istio-system",
        labels: { "topology.istio.io/network": network },
        annotations: { "pulumi.com/patchForce": "true" },
      });
    }
  });

  test("cacerts holds exactly Istio's four files: its intermediate, its key, the root, intermediate+root", () => {
    for (const c of workloads) {
      const data = plain(find(run, T.secret, `istio-ca-${c}-cacerts`).inputs.data) as Record<string, string>;
      const inter = fakePem("CERTIFICATE", `istio-ca-${c}-cert`);
      assert.deepEqual(Object.fromEntries(Object.entries(data).map(([k, v]) => [k, unb64(v)])), {
        "ca-cert.pem": inter,
        "ca-key.pem": fakePem("PRIVATE KEY", `istio-ca-${c}-key`),
        "root-cert.pem": rootCertPem,
        "cert-chain.pem": inter + rootCertPem,
      });
    }
  });

  test("the root key reaches only the root certificate and the intermediates' signing, never an output", () => {
    const forms = [rootKeyPem, b64(rootKeyPem), rootKeyPem.split("\n")[1]];
    assert.deepEqual(holders(run, forms), [
      "istio-ca-kube-01-cert",
      "istio-ca-kube-02-cert",
      "istio-ca-root-cert",
    ]);
    assert.ok(!leaves(run.outputs).some((l) => forms.some((f) => l.includes(f))));
  });

  test("an intermediate key reaches only its own CSR and its own cluster's cacerts", () => {
    for (const c of workloads) {
      const key = fakePem("PRIVATE KEY", `istio-ca-${c}-key`);
      assert.deepEqual(holders(run, [key, b64(key), key.split("\n")[1]]), [
        `istio-ca-${c}-cacerts`,
        `istio-ca-${c}-csr`,
      ]);
    }
  });

  test("all key material is secret: key outputs, key inputs and the whole cacerts data", () => {
    for (const r of ofType(run, T.key)) {
      for (const o of ["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"]) {
        assert.ok(r.additionalSecretOutputs.includes(o), `${r.name}.${o}`);
      }
    }
    assert.deepEqual(find(run, T.root, "istio-ca-root-cert").secretInputPaths, ["privateKeyPem"]);
    for (const r of ofType(run, T.csr)) assert.deepEqual(r.secretInputPaths, ["privateKeyPem"]);
    for (const r of ofType(run, T.cert)) assert.deepEqual(r.secretInputPaths, ["caPrivateKeyPem"]);
    for (const r of cacertsOf(run)) assert.deepEqual(r.secretInputPaths, ["data"]);
  });

  test("stack output rootCertificate is the root certificate, in plain text (it is public)", () => {
    assert.equal(run.outputs.rootCertificate, rootCertPem);
    assert.ok(!run.secretOutputs.includes("rootCertificate"));
  });
});

describe("the lab's CA with other settings", () => {
  test("ECDSA keys name their curve (P256 by default), never the provider's default P224", async () => {
    const p256 = await runLab({ config: { caKeyAlgorithm: "ECDSA" } });
    for (const r of ofType(p256, T.key))
      assert.deepEqual(r.inputs, { algorithm: "ECDSA", ecdsaCurve: "P256" });
    const p384 = await runLab({ config: { caKeyAlgorithm: "ECDSA", caEcdsaCurve: "P384" } });
    for (const r of ofType(p384, T.key))
      assert.deepEqual(r.inputs, { algorithm: "ECDSA", ecdsaCurve: "P384" });
  });

  test("validity and early renewal come from config", async () => {
    const run = await runLab({
      config: { caRootValidityHours: 48000, caIntermediateValidityHours: 24000, caEarlyRenewalHours: 240 },
    });
    const root = find(run, T.root, "istio-ca-root-cert").inputs;
    assert.deepEqual([root.validityPeriodHours, root.earlyRenewalHours], [48000, 240]);
    for (const r of ofType(run, T.cert)) {
      assert.deepEqual([r.inputs.validityPeriodHours, r.inputs.earlyRenewalHours], [24000, 240]);
    }
  });

  test("preview: the cacerts Secrets are planned with their data unknown", async () => {
    const run = await runLab({ preview: true });
    const secrets = cacertsOf(run);
    assert.deepEqual(names(secrets), ["istio-ca-kube-01-cacerts", "istio-ca-kube-02-cacerts"]);
    for (const s of secrets) assert.ok(s.unknownInputPaths.includes("data"), s.unknownInputPaths.join(","));
  });
});

describe("IstioCertificateAuthority given bad arguments", () => {
  const cfg = parseLabConfig({});
  const spec = (name: string, network = "net-x"): ClusterSpec => ({
    ...cfg.clusters[1],
    name,
    network,
  });
  /** Runs the component; a bad argument's error is caught in the program so the run itself completes. */
  const attempt = async (workloadClusters: string[], install: ClusterSpec[][]) => {
    let error: Error | undefined;
    const run = await runProgram(() => {
      try {
        const ca = new IstioCertificateAuthority("ca", { settings: cfg.ca, workloadClusters });
        const clusters = new Map<string, ClusterRef>();
        const ref = (s: ClusterSpec) =>
          clusters.get(s.name) ?? clusters.set(s.name, fakeCluster(s, 10)).get(s.name);
        for (const batch of install) ca.installInto(batch.map((s) => ref(s) as ClusterRef));
      } catch (e) {
        error = e as Error;
      }
      return {};
    });
    if (error) throw error;
    return run;
  };

  test("a cluster listed twice is refused", async () => {
    await assert.rejects(attempt(["a", "a"], []), {
      message: 'IstioCertificateAuthority ca: workloadClusters lists "a" twice; list each cluster once',
    });
  });

  test("a cluster without an intermediate is refused", async () => {
    await assert.rejects(attempt(["a"], [[spec("b")]]), {
      message:
        'IstioCertificateAuthority ca: cluster "b" has no intermediate CA; add it to workloadClusters (["a"])',
    });
  });

  test("installing a cluster twice is refused", async () => {
    await assert.rejects(attempt(["a"], [[spec("a")], [spec("a")]]), {
      message:
        'IstioCertificateAuthority ca: cacerts for cluster "a" already installed; install each cluster once',
    });
  });

  test("a cluster without a network is refused", async () => {
    await assert.rejects(attempt(["a"], [[spec("a", "")]]), {
      message:
        'IstioCertificateAuthority ca: cluster "a" has no network; a workload cluster needs its own Istio network',
    });
  });

  test("a good installation through fake clusters registers one namespace and one cacerts each", async () => {
    const run = await attempt(["a", "b"], [[spec("a"), spec("b")]]);
    assert.deepEqual(names(ofType(run, T.secret)), ["ca-a-cacerts", "ca-b-cacerts"]);
    assert.deepEqual(names(ofType(run, T.ns)), ["ca-a-istio-system", "ca-b-istio-system"]);
  });
});
