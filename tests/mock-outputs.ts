// What the mocked engine answers for resources and invokes that compute outputs. Each component's tests
// rely on the entries here; keep one entry per kind of resource, keyed by type and name suffix.
import type { MockCallArgs, MockResourceArgs } from "@pulumi/pulumi/runtime/mocks";
import { mockMeshCheckOutput, mockWorkloadGroupJson } from "./fixtures/mesh-mocks";

/** The cluster CA the mocked token controller writes into service-account-token Secrets (`ca.crt`). */
export const mockClusterCaPem =
  "-----BEGIN CERTIFICATE-----\nbW9jayBjbHVzdGVyIENB\n-----END CERTIFICATE-----\n";

/** Computed outputs of a resource in a normal (non-preview) run. */
export function defaultMockOutputs(args: MockResourceArgs): Record<string, unknown> {
  switch (args.type) {
    case "command:local:Command":
      // Helper A: `<cluster>-kubeconfig` prints k3s's /etc/rancher/k3s/k3s.yaml; `<vm>-arch` prints the
      // VM's Debian architecture.
      if (args.name.endsWith("-kubeconfig"))
        return { stdout: mockK3sYaml(args.inputs.environment?.VM_NAME), stderr: "" };
      if (args.name.endsWith("-arch")) return { stdout: "arm64\n", stderr: "" };
      // Helper F: `<vm>-power` prints the VM's address as last seen running (the one `multipass info` gives).
      if (args.name.endsWith("-power"))
        return { stdout: `${mockVmIp(args.inputs.environment?.VM_NAME)}\n`, stderr: "" };
      // Helper D: MeshVm reads its WorkloadGroup; MeshCheck collects from a working mesh.
      if (args.name.endsWith("-workload-group")) {
        const env = args.inputs.environment ?? {};
        return { stdout: mockWorkloadGroupJson(env.NAMESPACE, env.GROUP), stderr: "" };
      }
      if (args.name === "mesh-check-run")
        return { stdout: mockMeshCheckOutput(args.inputs.environment ?? {}, mockVmIp), stderr: "" };
      return { stdout: "", stderr: "" };
    // A service-account-token Secret as the token controller fills it (helper C's ServiceAccountToken):
    // token = "token-of-<namespace>/<secret name>", ca.crt = a fixed PEM-looking text.
    case "kubernetes:core/v1:Secret": {
      if (args.inputs.type !== "kubernetes.io/service-account-token") return {};
      const b64 = (s: string) => Buffer.from(s).toString("base64");
      const at = `${args.inputs.metadata?.namespace}/${args.inputs.metadata?.name}`;
      return { data: { token: b64(`token-of-${at}`), "ca.crt": b64(mockClusterCaPem), namespace: b64("x") } };
    }
    // @pulumi/tls (helper B's IstioCertificateAuthority): cheap fake PEMs naming their resource, so tests
    // stay fast and can tell key material apart. tests/real-tls.ts makes real ones where a test needs them.
    case "tls:index/privateKey:PrivateKey":
      return {
        privateKeyPem: fakePem("PRIVATE KEY", args.name),
        privateKeyPemPkcs8: fakePem("PRIVATE KEY", `${args.name}-pkcs8`),
        publicKeyPem: fakePem("PUBLIC KEY", args.name),
      };
    case "tls:index/selfSignedCert:SelfSignedCert":
    case "tls:index/locallySignedCert:LocallySignedCert":
      return { certPem: fakePem("CERTIFICATE", args.name) };
    case "tls:index/certRequest:CertRequest":
      return { certRequestPem: fakePem("CERTIFICATE REQUEST", args.name) };
    // A Helm release as helm.v3.Release reports it once installed (helper C's ArgoCd reads status.namespace).
    case "kubernetes:helm.sh/v3:Release":
      return {
        status: {
          name: args.inputs.name,
          namespace: args.inputs.namespace,
          status: "deployed",
          version: args.inputs.version,
        },
      };
    // RandomPassword: a fixed result and a recognisable stand-in for its bcrypt hash (helper C's ArgoCd).
    case "random:index/randomPassword:RandomPassword":
      return { result: `mock-password-of-${args.name}`, bcryptHash: `$2a$10$mock-bcrypt-of-${args.name}` };
    default:
      return {};
  }
}

/** A PEM-shaped text that is not key material: `-----BEGIN FAKE <label>-----`, the name in base64. */
export function fakePem(label: string, name: string): string {
  const body = Buffer.from(`fake ${label.toLowerCase()} of ${name}`).toString("base64");
  return `-----BEGIN FAKE ${label}-----\n${body}\n-----END FAKE ${label}-----\n`;
}

/** Answers to invokes (functions). Nothing in the program may call an unmocked one. */
export function defaultMockCall(args: MockCallArgs, _preview: boolean): Record<string, unknown> {
  // Helper A: MultipassVm reads its IP with `multipass info --format json` (scripts/multipass-vm-info.sh).
  if (args.token === "command:local:run" && String(args.inputs.command).includes("multipass info")) {
    const vm = String(args.inputs.environment?.VM_NAME);
    return { stdout: mockMultipassInfo(vm), stderr: "" };
  }
  throw new Error(`unmocked invoke ${args.token}: add it to tests/mock-outputs.ts`);
}

// Helper A: Multipass and k3s answers under mocks.

/** The IPv4 the mocked `multipass info` gives a VM: 192.168.64.x, x fixed by the name (kube-0N differ). */
export function mockVmIp(vmName: string): string {
  const sum = [...vmName].reduce((a, ch) => a + ch.charCodeAt(0), 0);
  return `192.168.64.${10 + (sum % 240)}`;
}

/** `multipass info --format json <vm>` of a running VM (Calico's VXLAN address second, as on a real node). */
export function mockMultipassInfo(vmName: string): string {
  return JSON.stringify({
    errors: [],
    info: {
      [vmName]: { state: "Running", ipv4: [mockVmIp(vmName), "10.42.0.0"], release: "Ubuntu 22.04.5 LTS" },
    },
  });
}

/** The fake CA (PEM) of every mocked k3s cluster; `certificate-authority-data` is its base64. */
export const mockK3sCaPem =
  "-----BEGIN CERTIFICATE-----\nbW9jayBrM3Mgc2VydmVyIENB\n-----END CERTIFICATE-----\n";
/** The fake client key in every mocked k3s.yaml: it must never reach a log or a non-secret output. */
export const mockK3sClientKey =
  "-----BEGIN EC PRIVATE KEY-----\nbW9jayBrM3MgY2xpZW50IGtleQ==\n-----END EC PRIVATE KEY-----\n";

/** /etc/rancher/k3s/k3s.yaml as k3s writes it: everything named `default`, server at 127.0.0.1. */
export function mockK3sYaml(vmName = "vm"): string {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  return [
    "apiVersion: v1",
    "clusters:",
    "- cluster:",
    `    certificate-authority-data: ${b64(mockK3sCaPem)}`,
    "    server: https://127.0.0.1:6443",
    "  name: default",
    "contexts:",
    "- context:",
    "    cluster: default",
    "    user: default",
    "  name: default",
    "current-context: default",
    "kind: Config",
    "preferences: {}",
    "users:",
    "- name: default",
    "  user:",
    `    client-certificate-data: ${b64(`-----BEGIN CERTIFICATE-----\nclient of ${vmName}\n-----END CERTIFICATE-----\n`)}`,
    `    client-key-data: ${b64(mockK3sClientKey)}`,
    "",
  ].join("\n");
}
