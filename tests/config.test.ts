// Proves that the configuration is read, defaulted and validated in one place, before any resource exists.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { ConfigError, defaults, loadConfig, parseLabConfig, type RawConfig } from "../config";
import { project, stack } from "./harness";
import { largeTopology } from "./topologies";

const workload = (name: string, network: string) => ({ name, role: "workload", network });

describe("default topology", () => {
  test("is the original lab: kube-00 manages, kube-01/kube-02 on network1/network2, virt-01 via kube-01", () => {
    const cfg = parseLabConfig({});
    assert.deepEqual(
      cfg.clusters.map((c) => [c.name, c.role, c.network, c.cpus, c.memoryGiB, c.diskGiB, c.podCidr]),
      [
        ["kube-00", "management", "", 2, 4, 10, "10.42.0.0/16"],
        ["kube-01", "workload", "network1", 2, 4, 10, "10.42.0.0/16"],
        ["kube-02", "workload", "network2", 2, 4, 10, "10.42.0.0/16"],
      ],
    );
    assert.deepEqual(cfg.meshVms, [
      {
        name: "virt-01",
        cluster: "kube-01",
        workloadGroup: { namespace: "httpbin", name: "httpbin" },
        network: "vm-network",
        cpus: 1,
        memoryGiB: 1,
        diskGiB: 8,
      },
    ]);
    assert.deepEqual(cfg.mesh, {
      id: "mesh1",
      trustDomain: "cluster.local",
      region: "milky-way",
      zone: "solar-system",
    });
    assert.deepEqual(
      cfg.registryMirrors.mirrors.map((m) => [m.upstream, m.port]),
      [
        ["docker.io", 5001],
        ["quay.io", 5002],
        ["ghcr.io", 5003],
      ],
    );
    assert.deepEqual(cfg.versions, {
      ubuntuImage: "22.04",
      k3s: "v1.25.16+k3s4",
      calico: "v3.25.0",
      istio: "1.16.2",
      istioRevision: "1-16-2",
      argocdChart: "5.42.3",
      goHttpbin: "v1.4.0",
    });
    assert.deepEqual(cfg.sources, {
      istioCharts: {
        repoUrl: "https://github.com/h0tbird/istio.git",
        commit: "0d58ab0e4dd21ef8b3e1973b675a70a8fc898014",
      },
      httpbin: {
        repoUrl: "https://github.com/h0tbird/httpbin.git",
        commit: "c76645ba58eaf02a7cbe6b9e622bb34eb59c9ce0",
      },
    });
  });

  test("the dev stack file holds the same topology as the defaults", () => {
    const stackFile = yaml.load(fs.readFileSync(path.join(__dirname, "..", "Pulumi.dev.yaml"), "utf8")) as {
      config: Record<string, unknown>;
    };
    const raw: RawConfig = {};
    for (const [k, v] of Object.entries(stackFile.config)) raw[k.replace("multi-primary-mesh:", "")] = v;
    assert.deepEqual(parseLabConfig(raw), parseLabConfig({}));
  });

  test("Pulumi.yaml declares every scalar key with a description and the default config.ts applies", () => {
    const project = yaml.load(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8")) as {
      config: Record<string, { type: string; description: string; default: unknown }>;
      backend: { url: string };
    };
    assert.equal(project.backend.url, "file://~");
    assert.deepEqual(Object.keys(project.config).sort(), Object.keys(defaults.scalars).sort());
    for (const [key, value] of Object.entries(defaults.scalars)) {
      const declared = project.config[key];
      const type = typeof value === "number" ? "integer" : typeof value;
      assert.equal(declared.type, type, key);
      assert.equal(declared.default, value, key);
      assert.ok(declared.description.length > 10, `${key} needs a description`);
    }
  });
});

describe("a larger topology", () => {
  test("5 workload clusters and 3 VMs validate, with per-entry defaults", () => {
    const cfg = parseLabConfig(largeTopology);
    assert.equal(cfg.clusters.filter((c) => c.role === "workload").length, 5);
    assert.deepEqual(
      cfg.meshVms.map((v) => [v.name, v.cluster, v.network, v.cpus]),
      [
        ["vm-a", "west-1", "vm-network", 1],
        ["vm-b", "west-2", "vm-net-b", 1],
        ["vm-c", "west-5", "vm-network", 2],
      ],
    );
    assert.equal(cfg.clusters[0].memoryGiB, 8);
  });

  test("numbers and booleans given as strings (pulumi config set) are parsed", () => {
    const cfg = parseLabConfig({
      caRsaBits: "2048",
      registryMirrorsEnabled: "false",
      meshCheckRequests: "5",
    });
    assert.equal(cfg.ca.rsaBits, 2048);
    assert.equal(cfg.registryMirrors.enabled, false);
    assert.equal(cfg.meshCheck.requests, 5);
  });
});

const mgmt = { name: "kube-00", role: "management" };
const w1 = workload("kube-01", "network1");
const vm = { name: "virt-01", cluster: "kube-01" };

/** Each case: one fault, and the exact message it must produce. */
const badConfigs: [string, RawConfig, string][] = [
  [
    "duplicate cluster names",
    { clusters: [mgmt, w1, workload("kube-01", "network2")] },
    'clusters[2].name is "kube-01": already used by clusters[1]; names must be unique',
  ],
  [
    "a name that is not DNS-1123",
    { clusters: [mgmt, workload("Kube_01", "network1")], meshVms: [] },
    "clusters[1].name is \"Kube_01\": expected a DNS-1123 label that starts with a letter (lowercase letters, digits, '-'; at most 63)",
  ],
  [
    "a name that starts with a digit (Multipass refuses it)",
    { clusters: [mgmt, workload("1kube", "network1")], meshVms: [] },
    "clusters[1].name is \"1kube\": expected a DNS-1123 label that starts with a letter (lowercase letters, digits, '-'; at most 63)",
  ],
  [
    "no management cluster",
    { clusters: [w1, workload("kube-02", "network2")] },
    "clusters is []: names the management clusters: expected exactly one cluster with role management (it runs Argo CD)",
  ],
  [
    "two management clusters",
    { clusters: [mgmt, { name: "kube-09", role: "management" }, w1] },
    'clusters is ["kube-00","kube-09"]: names the management clusters: expected exactly one cluster with role management (it runs Argo CD)',
  ],
  [
    "no workload cluster",
    { clusters: [mgmt], meshVms: [] },
    'clusters is ["kube-00"]: has no cluster with role workload: Istio needs at least one',
  ],
  [
    "an unknown role",
    { clusters: [mgmt, { ...w1, role: "worker" }] },
    'clusters[1].role is "worker": expected management or workload',
  ],
  [
    "a VM enrolled through the management cluster",
    { meshVms: [{ name: "virt-01", cluster: "kube-00" }] },
    'meshVms[0].cluster is "kube-00": is the management cluster; a VM enrolls through a workload cluster (kube-01, kube-02)',
  ],
  [
    "a VM enrolled through a cluster that does not exist",
    { meshVms: [{ name: "virt-01", cluster: "kube-07" }] },
    'meshVms[0].cluster is "kube-07": expected the name of a workload cluster (kube-01, kube-02)',
  ],
  [
    "a VM named like a cluster",
    { meshVms: [{ name: "kube-02", cluster: "kube-01" }] },
    'meshVms[0].name is "kube-02": already used by clusters[2]; every VM needs its own name',
  ],
  [
    "a VM on a workload cluster's network",
    { meshVms: [{ ...vm, network: "network2" }] },
    'meshVms[0].network is "network2": is workload cluster kube-02\'s network; a VM needs its own',
  ],
  [
    "two workload clusters on one network",
    { clusters: [mgmt, w1, workload("kube-02", "network1")] },
    'clusters[2].network is "network1": already used by clusters[1]; each workload cluster needs its own network',
  ],
  [
    "a malformed pod CIDR",
    { clusters: [mgmt, { ...w1, podCidr: "10.42.0.0/33" }, workload("kube-02", "network2")] },
    'clusters[1].podCidr is "10.42.0.0/33": expected an IPv4 network in CIDR form such as 10.42.0.0/16',
  ],
  [
    "a CIDR with host bits set",
    { clusters: [mgmt, { ...w1, serviceCidr: "10.43.0.1/16" }, workload("kube-02", "network2")] },
    'clusters[1].serviceCidr is "10.43.0.1/16": expected an IPv4 network in CIDR form such as 10.43.0.0/16',
  ],
  [
    "service CIDR overlapping the pod CIDR",
    { clusters: [mgmt, { ...w1, serviceCidr: "10.42.128.0/17" }, workload("kube-02", "network2")] },
    'clusters[1].serviceCidr is "10.42.128.0/17": overlaps podCidr 10.42.0.0/16',
  ],
  [
    "overlapping registry host ports",
    {
      registryMirrors: [
        { upstream: "docker.io", remoteUrl: "https://registry-1.docker.io", port: 5001 },
        { upstream: "quay.io", remoteUrl: "https://quay.io", port: 5001 },
      ],
    },
    "registryMirrors[1].port is 5001: already used by registryMirrors[0]; each mirror needs its own host port",
  ],
  [
    "a privileged registry port",
    { registryMirrors: [{ upstream: "docker.io", remoteUrl: "https://registry-1.docker.io", port: 80 }] },
    "registryMirrors[0].port is 80: expected a port number from 1024 to 65535",
  ],
  [
    "a zero CPU count",
    { clusters: [mgmt, { ...w1, cpus: 0 }] },
    "clusters[1].cpus is 0: expected a positive integer",
  ],
  [
    "a negative memory size",
    { meshVms: [{ ...vm, memoryGiB: -1 }] },
    "meshVms[0].memoryGiB is -1: expected a positive integer",
  ],
  [
    "a fractional disk size",
    { clusters: [mgmt, { ...w1, diskGiB: 2.5 }] },
    "clusters[1].diskGiB is 2.5: expected a positive integer",
  ],
  [
    "k3s latest",
    { k3sVersion: "latest" },
    'k3sVersion is "latest": floating versions are not allowed; pin an exact version such as v1.25.16+k3s4',
  ],
  [
    "Argo CD chart stable",
    { argocdChartVersion: "stable" },
    'argocdChartVersion is "stable": floating versions are not allowed; pin an exact version such as 5.42.3',
  ],
  [
    "charts at HEAD",
    { istioChartsCommit: "HEAD" },
    'istioChartsCommit is "HEAD": floating versions are not allowed; pin an exact version such as a full 40-character commit SHA',
  ],
  [
    "an abbreviated commit",
    { httpbinCommit: "c76645b" },
    'httpbinCommit is "c76645b": expected an exact version such as a full 40-character commit SHA',
  ],
  [
    "a registry image on latest",
    { registryImage: "registry:latest" },
    'registryImage is "registry:latest": expected an exact version such as registry:2.8.3',
  ],
  [
    "a partial k3s version",
    { k3sVersion: "v1.25" },
    'k3sVersion is "v1.25": expected an exact version such as v1.25.16+k3s4',
  ],
  [
    "Istio that does not support the pinned Kubernetes",
    { istioVersion: "1.22.3" },
    'k3sVersion is "v1.25.16+k3s4": Istio 1.22.3 supports Kubernetes 1.27 to 1.30; pin a k3s release in that range',
  ],
  [
    "k3s too new for the pinned Istio",
    { k3sVersion: "v1.27.4+k3s1" },
    'k3sVersion is "v1.27.4+k3s1": Istio 1.16.2 supports Kubernetes 1.22 to 1.25; pin a k3s release in that range',
  ],
  [
    "an Istio release outside the support table",
    { istioVersion: "1.9.0" },
    'istioVersion is "1.9.0": Istio 1.9 is not in the known support table (1.16, 1.17, 1.18, 1.19, 1.20, 1.21, 1.22)',
  ],
  [
    "the P224 curve",
    { caEcdsaCurve: "P224" },
    'caEcdsaCurve is "P224": expected P256 or P384 (P224 is unusable for TLS)',
  ],
  [
    "an intermediate outliving the root",
    { caIntermediateValidityHours: 90000 },
    "caIntermediateValidityHours is 90000: must not exceed caRootValidityHours (87600)",
  ],
  [
    "a boolean that is not one",
    { mergeKubeconfig: "yes" },
    'mergeKubeconfig is "yes": expected true or false',
  ],
  [
    "clusters that are not a list",
    { clusters: { name: "kube-00" } },
    'clusters is {"name":"kube-00"}: expected a list',
  ],
  [
    "a mirror with a plain-http upstream URL",
    { registryMirrors: [{ upstream: "docker.io", remoteUrl: "http://registry-1.docker.io", port: 5001 }] },
    'registryMirrors[0].remoteUrl is "http://registry-1.docker.io": expected an https:// URL such as https://registry-1.docker.io',
  ],
  // Debug toggles and suspend (helper F).
  [
    "TLS key logging for a workload given without its namespace",
    { debugTlsKeyLog: "kube-01/sleep" },
    'debugTlsKeyLog is "kube-01/sleep": expected "" (off) or <cluster>/<namespace>/<deployment> such as kube-01/httpbin/sleep',
  ],
  [
    "TLS key logging in the management cluster",
    { debugTlsKeyLog: "kube-00/httpbin/sleep" },
    'debugTlsKeyLog is "kube-00/httpbin/sleep": kube-00 is not a workload cluster (kube-01, kube-02)',
  ],
  [
    "a debug istiod image with a floating tag",
    { debugPilotImage: "docker.io/h0tbird/pilot:latest" },
    'debugPilotImage is "docker.io/h0tbird/pilot:latest": expected "" (off) or a pinned image such as docker.io/h0tbird/pilot:1.16.2 (a tag other than latest, or a digest)',
  ],
  [
    "a debug sidecar image without a tag",
    { debugProxyImage: "docker.io/h0tbird/proxyv2" },
    'debugProxyImage is "docker.io/h0tbird/proxyv2": expected "" (off) or a pinned image such as docker.io/h0tbird/proxyv2:1.16.2 (a tag other than latest, or a digest)',
  ],
  [
    "a locality toggle that is not a boolean",
    { debugLocality: "on" },
    'debugLocality is "on": expected true or false',
  ],
  [
    "a suspend switch that is not a boolean",
    { suspended: "yes" },
    'suspended is "yes": expected true or false',
  ],
];

/** Makes `new pulumi.Config()` read these values, as under `pulumi up` for this project. */
function useStackConfig(values: Record<string, string>) {
  const nothing = () => {
    throw new Error("no resource may be created");
  };
  pulumi.runtime.setMocks({ newResource: nothing, call: nothing }, project, stack);
  pulumi.runtime.setAllConfig(values);
}

describe("bad configuration fails before any resource, with an exact message", () => {
  test("there are at least 20 distinct cases", () => {
    assert.ok(badConfigs.length >= 20);
    assert.equal(new Set(badConfigs.map(([, , m]) => m)).size, badConfigs.length);
  });
  for (const [what, raw, message] of badConfigs) {
    test(what, () => {
      assert.throws(
        () => parseLabConfig(raw),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError);
          assert.equal(e.message, `Invalid lab configuration: ${message}`);
          return true;
        },
      );
    });
  }

  test("several faults are reported together, one per line", () => {
    assert.throws(() => parseLabConfig({ k3sVersion: "latest", meshId: "Mesh 1" }), {
      message:
        "Invalid lab configuration:\n" +
        '  - k3sVersion is "latest": floating versions are not allowed; pin an exact version such as v1.25.16+k3s4\n' +
        "  - meshId is \"Mesh 1\": expected a DNS-1123 label (lowercase letters, digits, '-')",
    });
  });

  test("from stack config: the first thing index.ts does fails as a RunError (printed without a stack trace)", () => {
    useStackConfig({ "multi-primary-mesh:k3sVersion": "stable" });
    assert.throws(loadConfig, (e: unknown) => {
      assert.ok(pulumi.RunError.isInstance(e));
      assert.equal(
        (e as Error).message,
        'Invalid lab configuration: k3sVersion is "stable": floating versions are not allowed; pin an exact version such as v1.25.16+k3s4',
      );
      return true;
    });
    assert.match(
      fs.readFileSync(path.join(__dirname, "..", "index.ts"), "utf8"),
      /^const cfg = loadConfig\(\);$/m,
    );
  });

  test("from stack config: malformed JSON for a structured key is named", () => {
    useStackConfig({ "multi-primary-mesh:clusters": "[{name: kube-00" });
    assert.throws(loadConfig, {
      message:
        'Invalid lab configuration: clusters is "[{name: kube-00": expected a list (YAML in the stack file, or JSON)',
    });
  });
});
