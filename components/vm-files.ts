// The files that enroll a plain VM in the mesh, generated natively: what
// `istioctl x workload entry configure --autoregister --capture-dns` (Istio 1.16, istioctl/cmd/workload.go)
// writes, from the WorkloadGroup as the cluster stores it and the lab's configuration. The differences from
// Istio's golden files are deliberate (reference/istio-workload-entry-golden/README.md): istiod is addressed
// as `istiod.<cluster>` (the charts set ISTIOD_CUSTOM_HOST), so CA_ADDR, discoveryAddress and `hosts` agree;
// cluster ID, mesh ID, network and trust domain come from the configuration; no ISTIO_SVC_IP (the original
// passed no --internalIP); the mesh config's `tracing` (a zipkin that the lab does not run) is not carried.
import * as yaml from "js-yaml";

/** Port of istiod's XDS and CA (gRPC over mTLS), exposed by the east-west gateway. */
export const istiodPort = 15012;

/** The name a VM resolves istiod by: the charts' `ISTIOD_CUSTOM_HOST`, so istiod's certificate names it. */
export function istiodHost(cluster: string): string {
  return `istiod.${cluster}`;
}

/** The parts of a WorkloadGroup (networking.istio.io) that the VM files are made from. */
export interface WorkloadGroupInfo {
  namespace: string;
  name: string;
  /** `spec.metadata.labels` merged with `spec.template.labels` (the template wins, as in istioctl). */
  labels: Record<string, string>;
  /** `spec.template.ports`: port name -> number. */
  ports: Record<string, number>;
  /** `spec.template.serviceAccount` (istioctl's default: `default`). */
  serviceAccount: string;
  /** `spec.probe`, as the proxy's readiness probe; undefined when the group has none. */
  probe?: Record<string, unknown>;
  /** `proxyMetadata` of the `proxy.istio.io/config` annotations (object's, then spec.metadata's). */
  proxyMetadata: Record<string, string>;
}

/** Thrown when the WorkloadGroup read from the cluster cannot make VM files. */
export class WorkloadGroupError extends Error {
  override name = "WorkloadGroupError";
}

function stringMap(v: unknown, where: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw new WorkloadGroupError(`${where} is not a map`);
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== "string")
      throw new WorkloadGroupError(`${where}.${k} is ${JSON.stringify(x)}: expected a string`);
  }
  return v as Record<string, string>;
}

function annotationProxyMetadata(annotations: Record<string, string>, where: string): Record<string, string> {
  const text = annotations["proxy.istio.io/config"];
  if (text === undefined) return {};
  const pc = yaml.load(text) as Record<string, unknown> | null;
  const unsupported = Object.keys(pc ?? {}).filter((k) => k !== "proxyMetadata");
  if (unsupported.length > 0) {
    throw new WorkloadGroupError(
      `${where}["proxy.istio.io/config"] sets ${unsupported.join(", ")}: only proxyMetadata is carried into the VM files`,
    );
  }
  return stringMap(pc?.proxyMetadata, `${where}["proxy.istio.io/config"].proxyMetadata`);
}

/** Reads `kubectl get workloadgroup -o json` output into the parts the VM files need. */
export function parseWorkloadGroup(json: string): WorkloadGroupInfo {
  let wg: {
    kind?: string;
    metadata?: { name?: string; namespace?: string; annotations?: unknown };
    spec?: {
      metadata?: { labels?: unknown; annotations?: unknown };
      template?: { labels?: unknown; ports?: unknown; serviceAccount?: string };
      probe?: Record<string, unknown>;
    };
  };
  try {
    wg = JSON.parse(json);
  } catch (e) {
    throw new WorkloadGroupError(
      `the WorkloadGroup read from the cluster is not JSON (${(e as Error).message})`,
    );
  }
  const { name, namespace } = wg.metadata ?? {};
  if (wg.kind !== "WorkloadGroup" || !name || !namespace) {
    throw new WorkloadGroupError(
      `expected a WorkloadGroup with a name and namespace, got kind ${JSON.stringify(wg.kind)}`,
    );
  }
  const at = `WorkloadGroup ${namespace}/${name}`;
  const ports = wg.spec?.template?.ports ?? {};
  if (typeof ports !== "object" || Array.isArray(ports))
    throw new WorkloadGroupError(`${at} spec.template.ports is not a map`);
  for (const [k, p] of Object.entries(ports)) {
    if (typeof p !== "number" || !Number.isInteger(p) || p < 1 || p > 65535) {
      throw new WorkloadGroupError(
        `${at} spec.template.ports.${k} is ${JSON.stringify(p)}: expected a port number`,
      );
    }
  }
  return {
    namespace,
    name,
    labels: {
      ...stringMap(wg.spec?.metadata?.labels, `${at} spec.metadata.labels`),
      ...stringMap(wg.spec?.template?.labels, `${at} spec.template.labels`),
    },
    ports: ports as Record<string, number>,
    serviceAccount: wg.spec?.template?.serviceAccount || "default",
    probe: wg.spec?.probe,
    proxyMetadata: {
      ...annotationProxyMetadata(
        stringMap(wg.metadata?.annotations, `${at} metadata.annotations`),
        `${at} metadata.annotations`,
      ),
      ...annotationProxyMetadata(
        stringMap(wg.spec?.metadata?.annotations, `${at} spec.metadata.annotations`),
        `${at} spec.metadata.annotations`,
      ),
    },
  };
}

/** What the VM files are made of, besides the WorkloadGroup. */
export interface VmFilesInput {
  workloadGroup: WorkloadGroupInfo;
  /** Istio cluster ID of the enrolling cluster (its name). */
  clusterId: string;
  /** The mesh ID (`meshId` of the mesh config, `ISTIO_META_MESH_ID`). */
  meshId: string;
  /** The mesh's trust domain. */
  trustDomain: string;
  /** The VM's Istio network (`ISTIO_META_NETWORK`). */
  network: string;
  /** IP of the enrolling cluster's east-west gateway, which exposes istiod on 15012. */
  eastWestGatewayIp: string;
  /** The mesh's root certificate (PEM). */
  rootCertPem: string;
  /**
   * `defaultConfig.proxyMetadata` of the mesh config; the WorkloadGroup's annotation and the computed keys win.
   * @default {} - the lab's charts set none.
   */
  meshProxyMetadata?: Record<string, string>;
}

/** The enrollment files, as text, by their istioctl names. */
export interface VmFiles {
  "cluster.env": string;
  "mesh.yaml": string;
  hosts: string;
  "root-cert.pem": string;
}

// Istio's shellescape.Quote (pkg/util/shellescape): its pattern is a raw string holding `\\w`, so only
// values made of `\ w @ % + = : , . / -` go unquoted; everything else (even `latest`) is single-quoted.
const unsafeValue = /[^\\w@%+=:,./-]/;
export function shellQuote(s: string): string {
  if (s.length === 0) return "''";
  return unsafeValue.test(s) ? `'${s.replaceAll("'", `'"'"'`)}'` : s;
}

/** Go's sort.Strings: byte order. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

// The key order of gopkg.in/yaml.v2 (sorter.go), which sigs.k8s.io/yaml uses: at the first difference a
// non-letter sorts before a letter, and runs of digits compare as numbers.
function yamlV2Order(a: string, b: string): number {
  const isLetter = (c: string) => /\p{L}/u.test(c);
  const isDigit = (c: string) => /[0-9]/.test(c);
  const ar = [...a];
  const br = [...b];
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) continue;
    const al = isLetter(ar[i]);
    const bl = isLetter(br[i]);
    if (al && bl) return ar[i] < br[i] ? -1 : 1;
    if (al || bl) return bl ? -1 : 1;
    let ai = i;
    let bi = i;
    let an = 0;
    let bn = 0;
    for (; ai < ar.length && isDigit(ar[ai]); ai++) an = an * 10 + Number(ar[ai]);
    for (; bi < br.length && isDigit(br[bi]); bi++) bn = bn * 10 + Number(br[bi]);
    if (an !== bn) return an - bn;
    if (ai !== bi) return ai - bi;
    return ar[i] < br[i] ? -1 : 1;
  }
  return ar.length - br.length;
}

/** Go's json.Marshal of a map[string]string: keys sorted. */
function goJsonMap(m: Record<string, string>): string {
  const sorted = Object.fromEntries(Object.entries(m).sort(([a], [b]) => byteOrder(a, b)));
  return JSON.stringify(sorted);
}

/** The proxy metadata istioctl computes (createMeshConfig), shared by cluster.env and mesh.yaml. */
export function proxyMetadata(input: VmFilesInput): Record<string, string> {
  const wg = input.workloadGroup;
  const l = wg.labels;
  const canonicalName =
    l["service.istio.io/canonical-name"] ?? l["app.kubernetes.io/name"] ?? l.app ?? wg.name;
  const canonicalRevision =
    l["service.istio.io/canonical-revision"] ?? l["app.kubernetes.io/version"] ?? l.version ?? "latest";
  const md: Record<string, string> = {
    ...input.meshProxyMetadata,
    ...wg.proxyMetadata,
    CANONICAL_SERVICE: canonicalName,
    CANONICAL_REVISION: canonicalRevision,
    POD_NAMESPACE: wg.namespace,
    SERVICE_ACCOUNT: wg.serviceAccount,
    TRUST_DOMAIN: input.trustDomain,
    ISTIO_META_CLUSTER_ID: input.clusterId,
    ISTIO_META_MESH_ID: input.meshId,
    ISTIO_META_NETWORK: input.network,
    ISTIO_META_WORKLOAD_NAME: wg.name,
    ISTIO_METAJSON_LABELS: goJsonMap({
      ...l,
      "service.istio.io/canonical-name": canonicalName,
      "service.istio.io/canonical-revision": canonicalRevision,
    }),
    ISTIO_META_DNS_CAPTURE: "true",
    ISTIO_META_AUTO_REGISTER_GROUP: wg.name,
  };
  const ports = Object.entries(wg.ports).sort(([a], [b]) => byteOrder(a, b));
  if (ports.length > 0) {
    md.ISTIO_META_POD_PORTS = JSON.stringify(
      ports.map(([name, containerPort]) => ({ name, containerPort, protocol: "" })),
    );
  }
  return md;
}

/** cluster.env, mesh.yaml, hosts and root-cert.pem for a VM joining `input.workloadGroup`. */
export function renderVmFiles(input: VmFilesInput): VmFiles {
  const wg = input.workloadGroup;
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(input.eastWestGatewayIp)) {
    throw new WorkloadGroupError(
      `eastWestGatewayIp is ${JSON.stringify(input.eastWestGatewayIp)}: expected the IPv4 of ${input.clusterId}'s VM`,
    );
  }
  if (!input.rootCertPem.includes("CERTIFICATE-----")) {
    throw new WorkloadGroupError("rootCertPem is not a PEM certificate");
  }
  const host = istiodHost(input.clusterId);
  const address = `${host}:${istiodPort}`;
  const md = proxyMetadata(input);

  const ports = Object.entries(wg.ports)
    .sort(([a], [b]) => byteOrder(a, b))
    .map(([, p]) => String(p));
  const env: Record<string, string> = {
    ...md,
    ISTIO_INBOUND_PORTS: ports.length > 0 ? ports.join(",") : "*",
    ISTIO_NAMESPACE: wg.namespace,
    ISTIO_SERVICE: `${wg.name}.${wg.namespace}`,
    ISTIO_SERVICE_CIDR: "*",
    // 22: ssh; 15090: Prometheus; 15021/15020: the agent (default status port).
    ISTIO_LOCAL_EXCLUDE_PORTS: "22,15090,15021,15020",
    SERVICE_ACCOUNT: wg.serviceAccount,
    CA_ADDR: address,
  };
  const clusterEnv = `${Object.entries(env)
    .map(([k, v]) => `${k}=${shellQuote(v)}`)
    .sort(byteOrder)
    .join("\n")}\n`;

  // Protobuf JSON omits empty fields: no meshId when the mesh config has none.
  const defaultConfig: Record<string, unknown> = { discoveryAddress: address };
  if (input.meshId !== "") defaultConfig.meshId = input.meshId;
  defaultConfig.proxyMetadata = md;
  if (wg.probe !== undefined) defaultConfig.readinessProbe = wg.probe;
  const meshYaml = yaml.dump({ defaultConfig }, { sortKeys: yamlV2Order, lineWidth: -1 });

  return {
    "cluster.env": clusterEnv,
    "mesh.yaml": meshYaml,
    hosts: `${input.eastWestGatewayIp} ${host}\n`,
    "root-cert.pem": input.rootCertPem.endsWith("\n") ? input.rootCertPem : `${input.rootCertPem}\n`,
  };
}
