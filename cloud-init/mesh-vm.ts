// User-data of a mesh VM: what does not depend on the mesh, so that the VM can launch in parallel with the
// clusters. go-httpbin (built from a clone, as the original did) as a systemd unit, and Istio's sidecar
// package for the VM's architecture. Enrollment comes later (components/mesh-vm.ts).
import { dump } from "js-yaml";
import { script } from "../components/shell";

export interface MeshVmUserDataArgs {
  /** chinaran/go-httpbin tag, e.g. `v1.4.0`. */
  goHttpbinVersion: string;
  /** Istio release of the sidecar package, e.g. `1.16.2`. */
  istioVersion: string;
  /** Port go-httpbin listens on: the WorkloadGroup's port. */
  httpbinPort: number;
}

/** Where the user-data writes its files in the VM. */
export const meshVmPaths = {
  httpbinUnit: "/etc/systemd/system/httpbin.service",
  httpbinInstaller: "/usr/local/sbin/mesh-vm-httpbin",
  sidecarInstaller: "/usr/local/sbin/mesh-vm-sidecar",
} as const;

/** The `httpbin` systemd unit: the original's unit, with the binary's path, the port and a restart policy. */
export function renderHttpbinUnit(a: MeshVmUserDataArgs): string {
  return [
    "[Unit]",
    `Description=chinaran/go-httpbin ${a.goHttpbinVersion}`,
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    "# HOSTNAME set makes /get answer with .envs.HOSTNAME (the mesh check tallies it); %H is the host name.",
    "Environment=HOSTNAME=%H",
    `ExecStart=/usr/local/bin/go-httpbin -port ${a.httpbinPort}`,
    "Restart=always",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** The whole `#cloud-config` user-data of a mesh VM. It carries no key, token or certificate. */
export function renderMeshVmUserData(a: MeshVmUserDataArgs): string {
  if (!Number.isInteger(a.httpbinPort) || a.httpbinPort < 1 || a.httpbinPort > 65535) {
    throw new Error(`httpbinPort is ${a.httpbinPort}: expected a port number`);
  }
  const doc = {
    // Enrollment appends istiod's address to /etc/hosts: cloud-init must not rewrite that file on boot.
    manage_etc_hosts: false,
    package_update: true,
    packages: ["golang-go", "git", "curl", "net-tools"],
    write_files: [
      { path: meshVmPaths.httpbinUnit, permissions: "0644", content: renderHttpbinUnit(a) },
      { path: meshVmPaths.httpbinInstaller, permissions: "0755", content: script("mesh-vm-httpbin.sh") },
      { path: meshVmPaths.sidecarInstaller, permissions: "0755", content: script("mesh-vm-sidecar.sh") },
    ],
    runcmd: [
      ["env", `ISTIO_VERSION=${a.istioVersion}`, meshVmPaths.sidecarInstaller],
      ["env", `GO_HTTPBIN_VERSION=${a.goHttpbinVersion}`, meshVmPaths.httpbinInstaller],
    ],
  };
  return `#cloud-config\n${dump(doc, { lineWidth: -1 })}`;
}
