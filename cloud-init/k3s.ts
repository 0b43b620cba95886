// User-data of a k3s cluster VM: pure functions from typed values to text, rendered with js-yaml.
import * as fs from "node:fs";
import * as path from "node:path";
import { dump } from "js-yaml";

/** A pull-through cache on the host, as the VMs reach it: `http://<VM default gateway>:<port>`. */
export interface MirrorEndpoint {
  /** The registry it stands in for, e.g. `docker.io`. */
  upstream: string;
  /** Host port of the cache. */
  port: number;
}

export interface K3sUserDataArgs {
  /** Cluster name: also the VM's host name, hence the node name and `topology.istio.io/subzone`. */
  clusterName: string;
  /** Pod CIDR (k3s `cluster-cidr`, Calico's IP pool). */
  podCidr: string;
  /** Service CIDR (k3s `service-cidr`). */
  serviceCidr: string;
  /** k3s release, e.g. `v1.25.16+k3s4` (INSTALL_K3S_VERSION and the tag of the install script). */
  k3sVersion: string;
  /** Calico release, e.g. `v3.25.0` (tag of the tigera operator manifest). */
  calicoVersion: string;
  /** `topology.kubernetes.io/region` of the node. */
  region: string;
  /** `topology.kubernetes.io/zone` of the node. */
  zone: string;
  /** Registry mirrors on the host. @default [] - no `registries.yaml`: images come straight from upstream. */
  mirrors?: MirrorEndpoint[];
  /** How long first boot waits for the node to be Ready, in seconds. */
  readyTimeoutSeconds: number;
}

/** Where the first-boot script and the files it reads are written in the VM. */
export const vmPaths = {
  k3sConfig: "/etc/rancher/k3s/config.yaml",
  registriesTemplate: "/etc/rancher/k3s/registries.yaml.tmpl",
  calico: "/etc/lab/calico.yaml",
  installer: "/usr/local/sbin/lab-k3s-install",
} as const;

/** The placeholder for the VM's default gateway in the registries template, replaced at first boot. */
export const gatewayPlaceholder = "@GATEWAY@";

/** The first-boot script, a static file beside this one (shellchecked and run against stand-ins in tests). */
export const installScript = fs.readFileSync(path.join(__dirname, "k3s-install.sh"), "utf8");

/** `/etc/rancher/k3s/config.yaml`: flannel and k3s's network policy controller off (Calico does both). */
export function renderK3sConfig(a: K3sUserDataArgs): string {
  return dump({
    "flannel-backend": "none",
    "disable-network-policy": true,
    disable: ["traefik"],
    "cluster-cidr": a.podCidr,
    "service-cidr": a.serviceCidr,
    "node-label": [
      `topology.kubernetes.io/region=${a.region}`,
      `topology.kubernetes.io/zone=${a.zone}`,
      `topology.istio.io/subzone=${a.clusterName}`,
    ],
  });
}

/** `registries.yaml` template: each mirror over plain http (k3s assumes https otherwise) at the gateway. */
export function renderRegistriesTemplate(mirrors: MirrorEndpoint[]): string {
  return dump({
    mirrors: Object.fromEntries(
      mirrors.map((m) => [m.upstream, { endpoint: [`http://${gatewayPlaceholder}:${m.port}`] }]),
    ),
  });
}

/** The original lab's Calico Installation (its pool = the cluster's pod CIDR) and APIServer. */
export function renderCalico(podCidr: string): string {
  const installation = {
    apiVersion: "operator.tigera.io/v1",
    kind: "Installation",
    metadata: { name: "default" },
    spec: {
      calicoNetwork: {
        containerIPForwarding: "Enabled",
        ipPools: [
          {
            blockSize: 26,
            cidr: podCidr,
            encapsulation: "VXLANCrossSubnet",
            natOutgoing: "Enabled",
            nodeSelector: "all()",
          },
        ],
      },
    },
  };
  const apiServer = {
    apiVersion: "operator.tigera.io/v1",
    kind: "APIServer",
    metadata: { name: "default" },
    spec: {},
  };
  return [installation, apiServer].map((doc) => `---\n${dump(doc)}`).join("");
}

/** The whole `#cloud-config` user-data of a cluster VM. It carries no key or certificate. */
export function renderK3sUserData(a: K3sUserDataArgs): string {
  const mirrors = a.mirrors ?? [];
  const files = [
    { path: vmPaths.k3sConfig, permissions: "0600", content: renderK3sConfig(a) },
    ...(mirrors.length > 0
      ? [
          {
            path: vmPaths.registriesTemplate,
            permissions: "0644",
            content: renderRegistriesTemplate(mirrors),
          },
        ]
      : []),
    { path: vmPaths.calico, permissions: "0644", content: renderCalico(a.podCidr) },
    { path: vmPaths.installer, permissions: "0755", content: installScript },
  ];
  const doc = {
    write_files: files,
    runcmd: [
      [
        "env",
        `K3S_VERSION=${a.k3sVersion}`,
        `CALICO_VERSION=${a.calicoVersion}`,
        `READY_TIMEOUT_SECONDS=${a.readyTimeoutSeconds}`,
        vmPaths.installer,
      ],
    ],
  };
  return `#cloud-config\n${dump(doc, { lineWidth: -1 })}`;
}
