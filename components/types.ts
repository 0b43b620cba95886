// Contracts between components, so that each can be built and tested against the others' shapes.
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { ClusterSpec } from "../config";

/** The type-token prefix of every component of this project. */
export const project = "multi-primary-mesh";

/** A running Multipass VM, as other components need to act on it. */
export interface VmRef {
  /** The Multipass instance name. */
  readonly name: string;
  /**
   * The resource that launched (or adopted) the VM. Its id is new each time the VM is created, so commands
   * acting on the VM use `triggers: [vm.launch.id]` to re-run when it is replaced, and in-VM resources use
   * `deletedWith: vm.launch`.
   */
  readonly launch: pulumi.CustomResource;
  /** The VM's IPv4, read afresh on every `up` (Multipass on macOS may change it). */
  readonly ip: pulumi.Output<string>;
  /** `dpkg --print-architecture` inside the VM: `amd64` or `arm64`. */
  readonly arch: pulumi.Output<string>;
}

/** A k3s cluster that is up: its node is Ready and its API answers. */
export interface ClusterRef {
  readonly spec: ClusterSpec;
  readonly vm: VmRef;
  /** `https://<vm ip>:6443`. */
  readonly apiServer: pulumi.Output<string>;
  /** Base64 of the API server's CA certificate (PEM), as kubeconfigs and Argo CD cluster secrets carry it. */
  readonly caData: pulumi.Output<string>;
  /** A kubeconfig for the cluster (admin), context and names = the cluster name. Secret. */
  readonly kubeconfig: pulumi.Output<string>;
  /** The provider for in-cluster resources; usable only once the node is Ready. */
  readonly provider: k8s.Provider;
}
