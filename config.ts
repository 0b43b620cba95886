// The one place that reads the stack's configuration. Everything else receives a validated LabConfig.
import * as pulumi from "@pulumi/pulumi";

export type ClusterRole = "management" | "workload";

/** One k3s cluster in its own Multipass VM. */
export interface ClusterSpec {
  /** VM name, kube context, Argo CD cluster name and Istio cluster ID. */
  name: string;
  /** `management` runs Argo CD; `workload` runs Istio and the demo app. */
  role: ClusterRole;
  /** Istio network of a workload cluster (each workload cluster has its own); empty for the management cluster. */
  network: string;
  /** Pod CIDR, also Calico's IP pool. @default 10.42.0.0/16 */
  podCidr: string;
  /** Service CIDR. @default 10.43.0.0/16 */
  serviceCidr: string;
  /** @default 2 */
  cpus: number;
  /** @default 4 */
  memoryGiB: number;
  /** @default 10 */
  diskGiB: number;
}

/** A plain VM (no Kubernetes) enrolled in the mesh through a workload cluster. */
export interface MeshVmSpec {
  name: string;
  /** Name of the workload cluster whose istiod enrolls the VM. */
  cluster: string;
  /** The WorkloadGroup the VM joins. @default httpbin/httpbin */
  workloadGroup: { namespace: string; name: string };
  /** The VM's Istio network. @default vm-network */
  network: string;
  /** @default 1 */
  cpus: number;
  /** @default 1 */
  memoryGiB: number;
  /** @default 8 */
  diskGiB: number;
}

export interface RegistryMirror {
  /** Registry host that the clusters pull from, e.g. `docker.io`. */
  upstream: string;
  /** URL the pull-through cache proxies to. */
  remoteUrl: string;
  /** Host port the cache listens on. */
  port: number;
}

export interface GitSource {
  repoUrl: string;
  /** A full 40-character commit SHA: never a branch or `HEAD`. */
  commit: string;
}

export interface LabConfig {
  clusters: ClusterSpec[];
  meshVms: MeshVmSpec[];
  mesh: { id: string; trustDomain: string; region: string; zone: string };
  registryMirrors: { enabled: boolean; image: string; mirrors: RegistryMirror[] };
  versions: {
    ubuntuImage: string;
    k3s: string;
    calico: string;
    istio: string;
    istioRevision: string;
    argocdChart: string;
    goHttpbin: string;
  };
  sources: { istioCharts: GitSource; httpbin: GitSource };
  ca: {
    keyAlgorithm: "RSA" | "ECDSA";
    rsaBits: number;
    ecdsaCurve: "P256" | "P384";
    rootValidityHours: number;
    intermediateValidityHours: number;
    earlyRenewalHours: number;
  };
  host: {
    /** Merge the clusters' contexts into the user's kubeconfig. */
    mergeKubeconfig: boolean;
    /** The kubeconfig to merge into; `~` is the user's home. */
    kubeconfigPath: string;
    /** Create an `argocd` CLI context when the CLI is installed. */
    argocdCliContext: boolean;
  };
  timeouts: {
    /** How long `multipass launch` plus cloud-init may take for one VM. */
    vmLaunchSeconds: number;
    /** How long one Argo CD application may take to become Synced and Healthy. */
    argocdAppSeconds: number;
  };
  meshCheck: { enabled: boolean; requests: number };
  /** The README's debug recipes as toggles, all off by default; switching one off undoes it. */
  debug: {
    /** The workload whose sidecar writes its TLS keys to /sniff/keylog, or undefined (off). */
    tlsKeyLog?: { cluster: string; namespace: string; deployment: string };
    /** istiod's image in every workload cluster, or "" (the chart's image). */
    pilotImage: string;
    /** The sidecar image of the sleep pods in every workload cluster, or "" (the injector's). */
    proxyImage: string;
    /** Locality on the mesh VMs' WorkloadEntries and topology labels on the sleep pods. */
    locality: boolean;
  };
  /** Every VM suspended (multipass suspend); in-cluster resources are left as they are until resumed. */
  suspended: boolean;
}

/** The original lab's topology and the version set of DESIGN.md. */
export const defaults = {
  clusters: [
    { name: "kube-00", role: "management" },
    { name: "kube-01", role: "workload", network: "network1" },
    { name: "kube-02", role: "workload", network: "network2" },
  ],
  cluster: { podCidr: "10.42.0.0/16", serviceCidr: "10.43.0.0/16", cpus: 2, memoryGiB: 4, diskGiB: 10 },
  meshVms: [{ name: "virt-01", cluster: "kube-01" }],
  meshVm: {
    workloadGroup: { namespace: "httpbin", name: "httpbin" },
    network: "vm-network",
    cpus: 1,
    memoryGiB: 1,
    diskGiB: 8,
  },
  registryMirrors: [
    { upstream: "docker.io", remoteUrl: "https://registry-1.docker.io", port: 5001 },
    { upstream: "quay.io", remoteUrl: "https://quay.io", port: 5002 },
    { upstream: "ghcr.io", remoteUrl: "https://ghcr.io", port: 5003 },
  ],
  scalars: {
    meshId: "mesh1",
    topologyRegion: "milky-way",
    topologyZone: "solar-system",
    registryMirrorsEnabled: true,
    registryImage: "registry:2.8.3",
    ubuntuImage: "22.04",
    k3sVersion: "v1.25.16+k3s4",
    calicoVersion: "v3.25.0",
    istioVersion: "1.16.2",
    istioRevision: "1-16-2",
    argocdChartVersion: "5.42.3",
    goHttpbinVersion: "v1.4.0",
    istioChartsRepo: "https://github.com/h0tbird/istio.git",
    istioChartsCommit: "0d58ab0e4dd21ef8b3e1973b675a70a8fc898014",
    httpbinRepo: "https://github.com/h0tbird/httpbin.git",
    httpbinCommit: "c76645ba58eaf02a7cbe6b9e622bb34eb59c9ce0",
    caKeyAlgorithm: "RSA",
    caRsaBits: 4096,
    caEcdsaCurve: "P256",
    caRootValidityHours: 87600,
    caIntermediateValidityHours: 43800,
    caEarlyRenewalHours: 720,
    mergeKubeconfig: true,
    kubeconfigPath: "~/.kube/config",
    argocdCliContext: true,
    vmLaunchTimeoutSeconds: 1800,
    argocdAppTimeoutSeconds: 1200,
    meshCheckEnabled: true,
    meshCheckRequests: 20,
    debugTlsKeyLog: "",
    debugPilotImage: "",
    debugProxyImage: "",
    debugLocality: false,
    suspended: false,
  },
} as const;

export type ScalarKey = keyof typeof defaults.scalars;

/**
 * The pinned Istio charts fix the trust domain (and the DNS domain) to cluster.local, so it is not a
 * configuration key: a different value would split the VM's identity from the clusters'.
 */
export const chartsTrustDomain = "cluster.local";

/**
 * Kubernetes minor versions each Istio minor supports (Istio's support matrix). A k3s pin outside the range
 * of the pinned Istio is rejected.
 */
export const istioKubernetesSupport: Record<string, [number, number]> = {
  "1.16": [22, 25],
  "1.17": [23, 26],
  "1.18": [24, 27],
  "1.19": [25, 28],
  "1.20": [25, 29],
  "1.21": [26, 29],
  "1.22": [27, 30],
};

/** Raw configuration values by key, as `pulumi config` holds them (strings, numbers, booleans or JSON). */
export type RawConfig = Record<string, unknown>;

/** Thrown for bad configuration: Pulumi prints a RunError's message without a stack trace. */
export class ConfigError extends pulumi.RunError {
  constructor(readonly problems: string[]) {
    super(
      problems.length === 1
        ? `Invalid lab configuration: ${problems[0]}`
        : `Invalid lab configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
    this.name = "ConfigError";
  }
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const vmName = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const hostname = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/;
/** A pinned image reference: a tag other than latest, or a digest. */
const pinnedImage = /^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)*(:(?!latest$)\w[\w.-]*|@sha256:[0-9a-f]{64})$/;
const floating = new Set(["", "latest", "stable", "head", "main", "master", "edge", "nightly", "dev"]);
const pins: Record<string, { re: RegExp; example: string }> = {
  ubuntuImage: { re: /^\d{2}\.\d{2}$/, example: "22.04" },
  k3sVersion: { re: /^v1\.(\d+)\.\d+\+k3s\d+$/, example: "v1.25.16+k3s4" },
  calicoVersion: { re: /^v\d+\.\d+\.\d+$/, example: "v3.25.0" },
  istioVersion: { re: /^1\.(\d+)\.\d+$/, example: "1.16.2" },
  argocdChartVersion: { re: /^\d+\.\d+\.\d+$/, example: "5.42.3" },
  goHttpbinVersion: { re: /^v\d+\.\d+\.\d+$/, example: "v1.4.0" },
  istioChartsCommit: { re: /^[0-9a-f]{40}$/, example: "a full 40-character commit SHA" },
  httpbinCommit: { re: /^[0-9a-f]{40}$/, example: "a full 40-character commit SHA" },
  registryImage: {
    re: /^[a-z0-9./-]+(:(?!latest$)[\w][\w.-]*|@sha256:[0-9a-f]{64})$/,
    example: "registry:2.8.3",
  },
};

function show(v: unknown): string {
  return v === undefined ? "nothing" : JSON.stringify(v);
}

/** Parses an IPv4 CIDR into [network, prefix] or undefined when it is not one. */
export function parseCidr(cidr: string): [number, number] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const addr = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  if (addr % size !== 0) return undefined;
  return [addr, prefix];
}

function cidrsOverlap(a: [number, number], b: [number, number]): boolean {
  const [aStart, aEnd] = [a[0], a[0] + 2 ** (32 - a[1])];
  const [bStart, bEnd] = [b[0], b[0] + 2 ** (32 - b[1])];
  return aStart < bEnd && bStart < aEnd;
}

/** Validates raw configuration into a LabConfig, or throws one ConfigError listing every problem. */
export function parseLabConfig(raw: RawConfig): LabConfig {
  const problems: string[] = [];
  const problem = (key: string, got: unknown, want: string) =>
    problems.push(`${key} is ${show(got)}: ${want}`);

  const scalar = <K extends ScalarKey>(key: K): (typeof defaults.scalars)[K] => {
    const v = raw[key];
    const d = defaults.scalars[key];
    if (v === undefined) return d;
    if (typeof d === "number") {
      const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
      if (typeof n !== "number" || !Number.isInteger(n) || n <= 0) {
        problem(key, v, "expected a positive integer");
        return d;
      }
      return n as (typeof defaults.scalars)[K];
    }
    if (typeof d === "boolean") {
      if (v === true || v === "true") return true as (typeof defaults.scalars)[K];
      if (v === false || v === "false") return false as (typeof defaults.scalars)[K];
      problem(key, v, "expected true or false");
      return d;
    }
    if (typeof v !== "string") {
      problem(key, v, "expected a string");
      return d;
    }
    return v as (typeof defaults.scalars)[K];
  };
  const s = Object.fromEntries((Object.keys(defaults.scalars) as ScalarKey[]).map((k) => [k, scalar(k)])) as {
    [K in ScalarKey]: (typeof defaults.scalars)[K] extends string ? string : (typeof defaults.scalars)[K];
  };

  // Versions: every one pinned.
  for (const [key, { re, example }] of Object.entries(pins)) {
    const v = s[key as ScalarKey] as string;
    if (floating.has(v.toLowerCase())) {
      problem(key, v, `floating versions are not allowed; pin an exact version such as ${example}`);
    } else if (!re.test(v)) {
      problem(key, v, `expected an exact version such as ${example}`);
    }
  }
  for (const key of ["istioChartsRepo", "httpbinRepo"] as const) {
    if (!/^https:\/\/\S+$/.test(s[key])) problem(key, s[key], "expected an https:// Git repository URL");
  }
  if (!dnsLabel.test(s.istioRevision)) {
    problem("istioRevision", s.istioRevision, "expected a DNS-1123 label such as 1-16-2");
  }
  const istioMinor = pins.istioVersion.re.exec(s.istioVersion)?.[1];
  const kubeMinor = pins.k3sVersion.re.exec(s.k3sVersion)?.[1];
  if (istioMinor !== undefined && kubeMinor !== undefined) {
    const range = istioKubernetesSupport[`1.${istioMinor}`];
    if (!range) {
      problem(
        "istioVersion",
        s.istioVersion,
        `Istio 1.${istioMinor} is not in the known support table (${Object.keys(istioKubernetesSupport).join(", ")})`,
      );
    } else if (Number(kubeMinor) < range[0] || Number(kubeMinor) > range[1]) {
      problem(
        "k3sVersion",
        s.k3sVersion,
        `Istio ${s.istioVersion} supports Kubernetes 1.${range[0]} to 1.${range[1]}; pin a k3s release in that range`,
      );
    }
  }

  // Mesh.
  for (const key of ["meshId", "topologyRegion", "topologyZone"] as const) {
    if (!dnsLabel.test(s[key]))
      problem(key, s[key], "expected a DNS-1123 label (lowercase letters, digits, '-')");
  }

  // CA.
  if (s.caKeyAlgorithm !== "RSA" && s.caKeyAlgorithm !== "ECDSA") {
    problem("caKeyAlgorithm", s.caKeyAlgorithm, "expected RSA or ECDSA");
  }
  if (![2048, 3072, 4096].includes(s.caRsaBits))
    problem("caRsaBits", s.caRsaBits, "expected 2048, 3072 or 4096");
  if (s.caEcdsaCurve !== "P256" && s.caEcdsaCurve !== "P384") {
    problem("caEcdsaCurve", s.caEcdsaCurve, "expected P256 or P384 (P224 is unusable for TLS)");
  }
  if (s.caIntermediateValidityHours > s.caRootValidityHours) {
    problem(
      "caIntermediateValidityHours",
      s.caIntermediateValidityHours,
      `must not exceed caRootValidityHours (${s.caRootValidityHours})`,
    );
  }
  if (s.caEarlyRenewalHours >= s.caIntermediateValidityHours) {
    problem(
      "caEarlyRenewalHours",
      s.caEarlyRenewalHours,
      `must be less than caIntermediateValidityHours (${s.caIntermediateValidityHours})`,
    );
  }
  if (s.kubeconfigPath.trim() === "") problem("kubeconfigPath", s.kubeconfigPath, "expected a file path");

  const clusters = parseClusters(raw.clusters, problem);
  const meshVms = parseMeshVms(raw.meshVms, clusters, problem);
  const mirrors = parseMirrors(raw.registryMirrors, problem);

  // Names are VM names too: unique across clusters and mesh VMs.
  const seen = new Map<string, string>();
  for (const [i, c] of clusters.entries()) seen.set(c.name, `clusters[${i}]`);
  for (const [i, v] of meshVms.entries()) {
    const other = seen.get(v.name);
    if (other) problem(`meshVms[${i}].name`, v.name, `already used by ${other}; every VM needs its own name`);
    seen.set(v.name, `meshVms[${i}]`);
  }
  const workloadNetworks = new Map(
    clusters.filter((c) => c.role === "workload").map((c) => [c.network, c.name]),
  );
  for (const [i, v] of meshVms.entries()) {
    const owner = workloadNetworks.get(v.network);
    if (owner)
      problem(
        `meshVms[${i}].network`,
        v.network,
        `is workload cluster ${owner}'s network; a VM needs its own`,
      );
  }

  // Debug toggles.
  const workloadNames = clusters.filter((c) => c.role === "workload").map((c) => c.name);
  let tlsKeyLog: LabConfig["debug"]["tlsKeyLog"];
  if (s.debugTlsKeyLog !== "") {
    const [cluster, namespace, deployment, ...rest] = s.debugTlsKeyLog.split("/");
    if (rest.length > 0 || ![cluster, namespace, deployment].every((p) => p && dnsLabel.test(p))) {
      problem(
        "debugTlsKeyLog",
        s.debugTlsKeyLog,
        'expected "" (off) or <cluster>/<namespace>/<deployment> such as kube-01/httpbin/sleep',
      );
    } else if (clusters.length > 0 && !workloadNames.includes(cluster)) {
      problem(
        "debugTlsKeyLog",
        s.debugTlsKeyLog,
        `${cluster} is not a workload cluster (${workloadNames.join(", ") || "none defined"})`,
      );
    } else tlsKeyLog = { cluster, namespace, deployment };
  }
  for (const key of ["debugPilotImage", "debugProxyImage"] as const) {
    if (s[key] !== "" && !pinnedImage.test(s[key])) {
      problem(
        key,
        s[key],
        `expected "" (off) or a pinned image such as docker.io/h0tbird/${key === "debugPilotImage" ? "pilot" : "proxyv2"}:1.16.2 (a tag other than latest, or a digest)`,
      );
    }
  }

  if (problems.length > 0) throw new ConfigError(problems);

  return {
    clusters,
    meshVms,
    mesh: { id: s.meshId, trustDomain: chartsTrustDomain, region: s.topologyRegion, zone: s.topologyZone },
    registryMirrors: { enabled: s.registryMirrorsEnabled, image: s.registryImage, mirrors },
    versions: {
      ubuntuImage: s.ubuntuImage,
      k3s: s.k3sVersion,
      calico: s.calicoVersion,
      istio: s.istioVersion,
      istioRevision: s.istioRevision,
      argocdChart: s.argocdChartVersion,
      goHttpbin: s.goHttpbinVersion,
    },
    sources: {
      istioCharts: { repoUrl: s.istioChartsRepo, commit: s.istioChartsCommit },
      httpbin: { repoUrl: s.httpbinRepo, commit: s.httpbinCommit },
    },
    ca: {
      keyAlgorithm: s.caKeyAlgorithm as "RSA" | "ECDSA",
      rsaBits: s.caRsaBits,
      ecdsaCurve: s.caEcdsaCurve as "P256" | "P384",
      rootValidityHours: s.caRootValidityHours,
      intermediateValidityHours: s.caIntermediateValidityHours,
      earlyRenewalHours: s.caEarlyRenewalHours,
    },
    host: {
      mergeKubeconfig: s.mergeKubeconfig,
      kubeconfigPath: s.kubeconfigPath,
      argocdCliContext: s.argocdCliContext,
    },
    timeouts: { vmLaunchSeconds: s.vmLaunchTimeoutSeconds, argocdAppSeconds: s.argocdAppTimeoutSeconds },
    meshCheck: { enabled: s.meshCheckEnabled, requests: s.meshCheckRequests },
    debug: {
      ...(tlsKeyLog ? { tlsKeyLog } : {}),
      pilotImage: s.debugPilotImage,
      proxyImage: s.debugProxyImage,
      locality: s.debugLocality,
    },
    suspended: s.suspended,
  };
}

type Problem = (key: string, got: unknown, want: string) => void;

function list(
  rawValue: unknown,
  key: string,
  fallback: readonly object[],
  problem: Problem,
): Record<string, unknown>[] {
  if (rawValue === undefined) return fallback.map((o) => ({ ...o }));
  if (!Array.isArray(rawValue)) {
    problem(key, rawValue, "expected a list");
    return [];
  }
  return rawValue.map((entry, i) => {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      problem(`${key}[${i}]`, entry, "expected an object");
      return {};
    }
    return entry as Record<string, unknown>;
  });
}

function positiveInt(
  entry: Record<string, unknown>,
  field: string,
  key: string,
  d: number,
  problem: Problem,
) {
  const v = entry[field];
  if (v === undefined) return d;
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
    problem(`${key}.${field}`, v, "expected a positive integer");
    return d;
  }
  return v;
}

function label(
  entry: Record<string, unknown>,
  field: string,
  key: string,
  re: RegExp,
  d: string | undefined,
  problem: Problem,
) {
  const v = entry[field] ?? d;
  if (typeof v !== "string" || !re.test(v) || v.length > 63) {
    problem(
      `${key}.${field}`,
      v,
      re === vmName
        ? "expected a DNS-1123 label that starts with a letter (lowercase letters, digits, '-'; at most 63)"
        : "expected a DNS-1123 label (lowercase letters, digits, '-'; at most 63)",
    );
    return "";
  }
  return v;
}

function parseClusters(rawValue: unknown, problem: Problem): ClusterSpec[] {
  const entries = list(rawValue, "clusters", defaults.clusters, problem);
  const d = defaults.cluster;
  const clusters = entries.map((e, i): ClusterSpec => {
    const key = `clusters[${i}]`;
    const role = e.role;
    if (role !== "management" && role !== "workload")
      problem(`${key}.role`, role, "expected management or workload");
    const spec: ClusterSpec = {
      name: label(e, "name", key, vmName, undefined, problem),
      role: role === "management" ? "management" : "workload",
      network: role === "workload" ? label(e, "network", key, dnsLabel, undefined, problem) : "",
      podCidr: typeof e.podCidr === "string" ? e.podCidr : d.podCidr,
      serviceCidr: typeof e.serviceCidr === "string" ? e.serviceCidr : d.serviceCidr,
      cpus: positiveInt(e, "cpus", key, d.cpus, problem),
      memoryGiB: positiveInt(e, "memoryGiB", key, d.memoryGiB, problem),
      diskGiB: positiveInt(e, "diskGiB", key, d.diskGiB, problem),
    };
    const pod = parseCidr(spec.podCidr);
    const svc = parseCidr(spec.serviceCidr);
    if (!pod)
      problem(`${key}.podCidr`, e.podCidr, "expected an IPv4 network in CIDR form such as 10.42.0.0/16");
    if (!svc)
      problem(
        `${key}.serviceCidr`,
        e.serviceCidr,
        "expected an IPv4 network in CIDR form such as 10.43.0.0/16",
      );
    if (pod && svc && cidrsOverlap(pod, svc)) {
      problem(`${key}.serviceCidr`, spec.serviceCidr, `overlaps podCidr ${spec.podCidr}`);
    }
    return spec;
  });
  if (entries.length === 0 && Array.isArray(rawValue))
    problem("clusters", rawValue, "expected at least two clusters");
  const names = new Map<string, number>();
  for (const [i, c] of clusters.entries()) {
    if (c.name === "") continue;
    const j = names.get(c.name);
    if (j !== undefined)
      problem(`clusters[${i}].name`, c.name, `already used by clusters[${j}]; names must be unique`);
    else names.set(c.name, i);
  }
  const managers = clusters.filter((c) => c.role === "management").map((c) => c.name);
  if (clusters.length > 0 && managers.length !== 1) {
    problem(
      "clusters",
      managers,
      "names the management clusters: expected exactly one cluster with role management (it runs Argo CD)",
    );
  }
  if (clusters.length > 0 && !clusters.some((c) => c.role === "workload")) {
    problem(
      "clusters",
      clusters.map((c) => c.name),
      "has no cluster with role workload: Istio needs at least one",
    );
  }
  const networks = new Map<string, number>();
  for (const [i, c] of clusters.entries()) {
    if (c.role !== "workload" || c.network === "") continue;
    const j = networks.get(c.network);
    if (j !== undefined) {
      problem(
        `clusters[${i}].network`,
        c.network,
        `already used by clusters[${j}]; each workload cluster needs its own network`,
      );
    } else networks.set(c.network, i);
  }
  return clusters;
}

function parseMeshVms(rawValue: unknown, clusters: ClusterSpec[], problem: Problem): MeshVmSpec[] {
  const entries = list(rawValue, "meshVms", defaults.meshVms, problem);
  const d = defaults.meshVm;
  const vms = entries.map((e, i): MeshVmSpec => {
    const key = `meshVms[${i}]`;
    const wg = e.workloadGroup ?? d.workloadGroup;
    let workloadGroup = { namespace: "", name: "" };
    if (typeof wg !== "object" || wg === null) {
      problem(`${key}.workloadGroup`, wg, "expected { namespace, name }");
    } else {
      const g = wg as Record<string, unknown>;
      workloadGroup = {
        namespace: label(g, "namespace", `${key}.workloadGroup`, dnsLabel, undefined, problem),
        name: label(g, "name", `${key}.workloadGroup`, dnsLabel, undefined, problem),
      };
    }
    const vm: MeshVmSpec = {
      name: label(e, "name", key, vmName, undefined, problem),
      cluster: typeof e.cluster === "string" ? e.cluster : "",
      workloadGroup,
      network: label(e, "network", key, dnsLabel, d.network, problem),
      cpus: positiveInt(e, "cpus", key, d.cpus, problem),
      memoryGiB: positiveInt(e, "memoryGiB", key, d.memoryGiB, problem),
      diskGiB: positiveInt(e, "diskGiB", key, d.diskGiB, problem),
    };
    const target = clusters.find((c) => c.name === vm.cluster);
    const workloads = clusters.filter((c) => c.role === "workload").map((c) => c.name);
    if (clusters.length === 0) {
      // The clusters themselves are wrong; that problem is already reported.
    } else if (!target) {
      problem(
        `${key}.cluster`,
        e.cluster,
        `expected the name of a workload cluster (${workloads.join(", ") || "none defined"})`,
      );
    } else if (target.role !== "workload") {
      problem(
        `${key}.cluster`,
        e.cluster,
        `is the management cluster; a VM enrolls through a workload cluster (${workloads.join(", ")})`,
      );
    }
    return vm;
  });
  const names = new Map<string, number>();
  for (const [i, v] of vms.entries()) {
    if (v.name === "") continue;
    const j = names.get(v.name);
    if (j !== undefined)
      problem(`meshVms[${i}].name`, v.name, `already used by meshVms[${j}]; names must be unique`);
    else names.set(v.name, i);
  }
  return vms;
}

function parseMirrors(rawValue: unknown, problem: Problem): RegistryMirror[] {
  const entries = list(rawValue, "registryMirrors", defaults.registryMirrors, problem);
  const mirrors = entries.map((e, i): RegistryMirror => {
    const key = `registryMirrors[${i}]`;
    const upstream = e.upstream;
    if (typeof upstream !== "string" || !hostname.test(upstream)) {
      problem(`${key}.upstream`, upstream, "expected a registry host name such as docker.io");
    }
    const remoteUrl = e.remoteUrl;
    if (typeof remoteUrl !== "string" || !/^https:\/\/[^\s/]+/.test(remoteUrl)) {
      problem(`${key}.remoteUrl`, remoteUrl, "expected an https:// URL such as https://registry-1.docker.io");
    }
    const port = e.port;
    if (typeof port !== "number" || !Number.isInteger(port) || port < 1024 || port > 65535) {
      problem(`${key}.port`, port, "expected a port number from 1024 to 65535");
    }
    return { upstream: String(upstream), remoteUrl: String(remoteUrl), port: Number(port) };
  });
  const ports = new Map<number, number>();
  const upstreams = new Map<string, number>();
  for (const [i, m] of mirrors.entries()) {
    const j = ports.get(m.port);
    if (j !== undefined)
      problem(
        `registryMirrors[${i}].port`,
        m.port,
        `already used by registryMirrors[${j}]; each mirror needs its own host port`,
      );
    else ports.set(m.port, i);
    const k = upstreams.get(m.upstream);
    if (k !== undefined)
      problem(`registryMirrors[${i}].upstream`, m.upstream, `already mirrored by registryMirrors[${k}]`);
    else upstreams.set(m.upstream, i);
  }
  return mirrors;
}

/** Reads the stack's configuration once. Bad values fail here, before any resource exists. */
export function loadConfig(): LabConfig {
  const config = new pulumi.Config();
  const raw: RawConfig = {};
  for (const key of [...Object.keys(defaults.scalars), "clusters", "meshVms", "registryMirrors"]) {
    const text = config.get(key);
    if (text === undefined) continue;
    raw[key] = parseValue(key, text);
  }
  return parseLabConfig(raw);
}

function parseValue(key: string, text: string): unknown {
  if (["clusters", "meshVms", "registryMirrors"].includes(key)) {
    try {
      return JSON.parse(text);
    } catch {
      throw new ConfigError([
        `${key} is ${JSON.stringify(text)}: expected a list (YAML in the stack file, or JSON)`,
      ]);
    }
  }
  return text;
}
