// Proves the VM enrollment files (components/vm-files.ts) are what `istioctl x workload entry configure`
// writes: same keys, same format, the documented differences only, values from the lab's configuration.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import * as yaml from "js-yaml";
import {
  parseWorkloadGroup,
  renderVmFiles,
  shellQuote,
  type VmFilesInput,
  WorkloadGroupError,
} from "../components/vm-files";

const golden = path.join(__dirname, "..", "..", "shared", "reference", "istio-workload-entry-golden");
const goldenDir = fs.existsSync(golden) ? golden : "/work/shared/reference/istio-workload-entry-golden";
const read = (f: string) => fs.readFileSync(path.join(goldenDir, f), "utf8");
const fixture = (f: string) => fs.readFileSync(path.join(__dirname, "fixtures", f), "utf8");
const rootCertPem = fixture("root-cert.pem");

/** cluster.env as KEY -> raw (quoted) value, in file order. */
function envLines(text: string): [string, string][] {
  assert.ok(text.endsWith("\n"), "cluster.env ends with a newline");
  return text
    .slice(0, -1)
    .split("\n")
    .map((line) => {
      const i = line.indexOf("=");
      return [line.slice(0, i), line.slice(i + 1)];
    });
}

/** The lab's input: the httpbin chart's WorkloadGroup as kube-01 stores it, and the default config. */
function labInput(): VmFilesInput {
  return {
    workloadGroup: parseWorkloadGroup(fixture("workloadgroup-httpbin.json")),
    clusterId: "kube-01",
    meshId: "mesh1",
    trustDomain: "cluster.local",
    network: "vm-network",
    eastWestGatewayIp: "192.168.64.3",
    rootCertPem,
  };
}

/** The VM files for the inputs of Istio's golden test (reference/istio-workload-entry-golden). */
function goldenInputsFiles() {
  const wg = parseWorkloadGroup(JSON.stringify(yaml.load(read("workloadgroup.yaml"))));
  const meshConfig = yaml.load(read("meshconfig.yaml")) as {
    defaultConfig: { proxyMetadata: Record<string, string> };
  };
  return renderVmFiles({
    workloadGroup: wg,
    clusterId: "Kubernetes",
    meshId: "",
    trustDomain: "",
    network: "",
    eastWestGatewayIp: "10.10.10.11",
    rootCertPem,
    meshProxyMetadata: meshConfig.defaultConfig.proxyMetadata,
  });
}

describe("VM files", () => {
  test("given the golden's inputs, cluster.env is Istio's golden file but for the documented differences", () => {
    // reference/istio-workload-entry-golden: WorkloadGroup bar/foo, no ports, a proxy.istio.io/config annotation,
    // a mesh config with proxyMetadata, no mesh ID / network / trust domain, cluster ID "Kubernetes".
    const files = goldenInputsFiles();
    const expected = new Map(envLines(read("cluster.env.golden")));
    // Differences by design: istiod named istiod.<cluster>; --autoregister; no --internalIP; no
    // IDENTITY_PATH_PREFIX (appeared after Istio 1.16).
    expected.set("CA_ADDR", "'istiod.Kubernetes:15012'");
    expected.set("ISTIO_META_AUTO_REGISTER_GROUP", "'foo'");
    expected.delete("ISTIO_SVC_IP");
    expected.delete("IDENTITY_PATH_PREFIX");
    const want = `${[...expected]
      .map(([k, v]) => `${k}=${v}`)
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      .join("\n")}\n`;
    assert.equal(files["cluster.env"], want);
    // The sort is Go's byte order, as in the golden file (ISTIO_METAJSON_LABELS before ISTIO_META_CLUSTER_ID).
    const goldenKeys = envLines(read("cluster.env.golden")).map(([k]) => k);
    const ourKeys = envLines(files["cluster.env"]).map(([k]) => k);
    assert.deepEqual(
      ourKeys.filter((k) => goldenKeys.includes(k)),
      goldenKeys.filter((k) => ourKeys.includes(k)),
    );
  });

  test("given the golden's inputs, mesh.yaml holds the golden's values and key order", () => {
    const files = goldenInputsFiles();
    const want = yaml.load(read("mesh.yaml.golden")) as { defaultConfig: Record<string, any> };
    want.defaultConfig.discoveryAddress = "istiod.Kubernetes:15012";
    want.defaultConfig.proxyMetadata.ISTIO_META_AUTO_REGISTER_GROUP = "foo";
    delete want.defaultConfig.proxyMetadata.IDENTITY_PATH_PREFIX;
    assert.deepEqual(yaml.load(files["mesh.yaml"]), want);
    // Keys in gopkg.in/yaml.v2's order, as the golden has them (ISTIO_META_WORKLOAD_NAME before ISTIO_METAJSON_LABELS).
    const keysOf = (text: string) => [...text.matchAll(/^\s*([A-Za-z_]+):/gm)].map((m) => m[1]);
    const goldenOrder = keysOf(read("mesh.yaml.golden")).filter((k) => k !== "IDENTITY_PATH_PREFIX");
    assert.deepEqual(
      keysOf(files["mesh.yaml"]).filter((k) => k !== "ISTIO_META_AUTO_REGISTER_GROUP"),
      goldenOrder,
    );
    assert.equal(files.hosts, "10.10.10.11 istiod.Kubernetes\n");
  });

  test("the lab's files: every golden key present (but the documented ones), values from config and the WorkloadGroup", () => {
    const files = renderVmFiles(labInput());
    const env = new Map(envLines(files["cluster.env"]));
    const documentedAbsent = [
      "CLUSTER_MESH_CONFIG_VALUE",
      "PROXY_CONFIG_ANNOT_VALUE",
      "IDENTITY_PATH_PREFIX",
      "ISTIO_SVC_IP",
    ];
    for (const [k] of envLines(read("cluster.env.golden"))) {
      if (!documentedAbsent.includes(k)) assert.ok(env.has(k), `cluster.env has ${k}`);
    }
    assert.deepEqual(Object.fromEntries(env), {
      CANONICAL_REVISION: "'latest'",
      CANONICAL_SERVICE: "'httpbin'",
      CA_ADDR: "'istiod.kube-01:15012'",
      ISTIO_INBOUND_PORTS: "'8080'",
      ISTIO_LOCAL_EXCLUDE_PORTS: "'22,15090,15021,15020'",
      ISTIO_METAJSON_LABELS:
        '\'{"app":"httpbin","service.istio.io/canonical-name":"httpbin","service.istio.io/canonical-revision":"latest"}\'',
      ISTIO_META_AUTO_REGISTER_GROUP: "'httpbin'",
      ISTIO_META_CLUSTER_ID: "'kube-01'",
      ISTIO_META_DNS_CAPTURE: "'true'",
      ISTIO_META_MESH_ID: "'mesh1'",
      ISTIO_META_NETWORK: "'vm-network'",
      ISTIO_META_POD_PORTS: '\'[{"name":"http","containerPort":8080,"protocol":""}]\'',
      ISTIO_META_WORKLOAD_NAME: "'httpbin'",
      ISTIO_NAMESPACE: "'httpbin'",
      ISTIO_SERVICE: "'httpbin.httpbin'",
      ISTIO_SERVICE_CIDR: "'*'",
      POD_NAMESPACE: "'httpbin'",
      SERVICE_ACCOUNT: "'httpbin'",
      TRUST_DOMAIN: "'cluster.local'",
    });

    const mesh = yaml.load(files["mesh.yaml"]) as { defaultConfig: Record<string, any> };
    assert.deepEqual(Object.keys(mesh), ["defaultConfig"]);
    assert.equal(mesh.defaultConfig.discoveryAddress, "istiod.kube-01:15012");
    assert.equal(mesh.defaultConfig.meshId, "mesh1");
    // The readiness probe is the WorkloadGroup's, as read from the cluster.
    assert.deepEqual(mesh.defaultConfig.readinessProbe, {
      httpGet: { path: "/get", port: 8080 },
      initialDelaySeconds: 1,
      periodSeconds: 5,
    });
    // proxyMetadata = cluster.env's proxy keys, unquoted.
    const goldenMd = (yaml.load(read("mesh.yaml.golden")) as { defaultConfig: { proxyMetadata: object } })
      .defaultConfig.proxyMetadata;
    for (const k of Object.keys(goldenMd)) {
      if (!documentedAbsent.includes(k))
        assert.ok(k in mesh.defaultConfig.proxyMetadata, `mesh.yaml proxyMetadata has ${k}`);
    }
    for (const [k, v] of Object.entries(mesh.defaultConfig.proxyMetadata as Record<string, string>)) {
      assert.equal(env.get(k), shellQuote(v), `${k} agrees between cluster.env and mesh.yaml`);
    }

    // istiod is reached by the name in hosts, which the gateway IP (the cluster VM's IP under ServiceLB) serves.
    assert.equal(files.hosts, "192.168.64.3 istiod.kube-01\n");
    const hostName = files.hosts.trim().split(" ")[1];
    assert.equal(mesh.defaultConfig.discoveryAddress, `${hostName}:15012`);
    assert.equal(env.get("CA_ADDR"), `'${hostName}:15012'`);
    assert.equal(files["root-cert.pem"], rootCertPem);
  });

  test("shellQuote is Istio's: quotes anything with characters outside `\\ w @ % + = : , . / -`", () => {
    assert.equal(shellQuote(""), "''");
    assert.equal(shellQuote("latest"), "'latest'");
    assert.equal(shellQuote("w/w.w"), "w/w.w");
    assert.equal(shellQuote("it's"), `'it'"'"'s'`);
  });

  test("bad inputs fail naming what is wrong", () => {
    assert.throws(() => parseWorkloadGroup("Error from server (NotFound)"), {
      name: "WorkloadGroupError",
      message: /^the WorkloadGroup read from the cluster is not JSON/,
    });
    assert.throws(
      () => parseWorkloadGroup(JSON.stringify({ kind: "Service", metadata: { name: "a", namespace: "b" } })),
      {
        message: 'expected a WorkloadGroup with a name and namespace, got kind "Service"',
      },
    );
    const wg = JSON.parse(fixture("workloadgroup-httpbin.json"));
    wg.spec.template.ports.http = "8080";
    assert.throws(() => parseWorkloadGroup(JSON.stringify(wg)), {
      message: 'WorkloadGroup httpbin/httpbin spec.template.ports.http is "8080": expected a port number',
    });
    wg.spec.template.ports.http = 8080;
    wg.metadata.annotations = { "proxy.istio.io/config": "holdApplicationUntilProxyStarts: true\n" };
    assert.throws(() => parseWorkloadGroup(JSON.stringify(wg)), {
      message:
        'WorkloadGroup httpbin/httpbin metadata.annotations["proxy.istio.io/config"] sets holdApplicationUntilProxyStarts: only proxyMetadata is carried into the VM files',
    });
    assert.throws(() => renderVmFiles({ ...labInput(), eastWestGatewayIp: "" }), {
      message: 'eastWestGatewayIp is "": expected the IPv4 of kube-01\'s VM',
    });
    assert.ok(new WorkloadGroupError("x") instanceof Error);
  });
});
