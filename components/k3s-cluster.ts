// A k3s cluster (Calico, no flannel) in its own Multipass VM, and the Kubernetes provider that reaches it.
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { dump, load } from "js-yaml";
import { type MirrorEndpoint, renderK3sUserData } from "../cloud-init/k3s";
import type { ClusterSpec, LabConfig } from "../config";
import { MultipassVm } from "./multipass-vm";
import { bash, script } from "./shell";
import { type ClusterRef, project } from "./types";

export interface K3sClusterArgs {
  /** The cluster: its name is the VM name, the node name and the kube context. */
  spec: ClusterSpec;
  /** Region and zone labels of the node. */
  mesh: Pick<LabConfig["mesh"], "region" | "zone">;
  /** Ubuntu image, k3s release and Calico release, all pinned. */
  versions: Pick<LabConfig["versions"], "ubuntuImage" | "k3s" | "calico">;
  /** Registry caches on the host. @default - none: images come straight from their registries. */
  mirrors?: pulumi.Input<MirrorEndpoint[]>;
  /** How long the VM's launch plus first boot (k3s, Calico, node Ready) may take, in seconds. */
  launchTimeoutSeconds: number;
  /**
   * The VM is suspended: the provider then leaves in-cluster resources as they are (it cannot reach them).
   * @default false
   */
  suspended?: boolean;
}

interface Kubeconfig {
  clusters?: { name: string; cluster: { server?: string; "certificate-authority-data"?: string } }[];
  users?: { name: string; user: Record<string, unknown> }[];
  contexts?: { name: string; context: Record<string, unknown> }[];
}

function parseKubeconfig(text: string, clusterName: string): Required<Kubeconfig> {
  const doc = (text.trim() === "" ? undefined : load(text)) as Kubeconfig | undefined;
  if (!doc?.clusters?.[0]?.cluster || !doc.users?.[0]?.user) {
    // An empty kubeconfig would make a provider silently use ~/.kube/config: never let one through.
    throw new Error(`the kubeconfig read from VM ${clusterName} has no cluster or user: is k3s installed?`);
  }
  return { clusters: doc.clusters, users: doc.users, contexts: doc.contexts ?? [] };
}

/**
 * k3s's admin kubeconfig made usable from the host: the server is the VM's address and the cluster, user and
 * context are all named after the cluster (k3s calls them `default`).
 */
export function rewriteKubeconfig(k3sYaml: string, clusterName: string, ip: string): string {
  const doc = parseKubeconfig(k3sYaml, clusterName);
  return dump(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        { name: clusterName, cluster: { ...doc.clusters[0].cluster, server: `https://${ip}:6443` } },
      ],
      users: [{ name: clusterName, user: doc.users[0].user }],
      contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
      "current-context": clusterName,
      preferences: {},
    },
    { lineWidth: -1 },
  );
}

/** Base64 of the API server's CA (PEM) from a kubeconfig. */
export function caDataOf(kubeconfig: string, clusterName: string): string {
  const ca = parseKubeconfig(kubeconfig, clusterName).clusters[0].cluster["certificate-authority-data"];
  if (!ca) throw new Error(`the kubeconfig of ${clusterName} has no certificate-authority-data`);
  return ca;
}

export class K3sCluster extends pulumi.ComponentResource implements ClusterRef {
  readonly spec: ClusterSpec;
  readonly vm: MultipassVm;
  readonly apiServer: pulumi.Output<string>;
  readonly caData: pulumi.Output<string>;
  /** Admin kubeconfig, server at the VM's current IP, names = the cluster name. Secret. */
  readonly kubeconfig: pulumi.Output<string>;
  readonly provider: k8s.Provider;

  constructor(name: string, args: K3sClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${project}:index:K3sCluster`, name, {}, opts);
    const { spec } = args;
    this.spec = spec;

    const userData = pulumi.output(args.mirrors ?? []).apply((mirrors) =>
      renderK3sUserData({
        clusterName: spec.name,
        podCidr: spec.podCidr,
        serviceCidr: spec.serviceCidr,
        k3sVersion: args.versions.k3s,
        calicoVersion: args.versions.calico,
        region: args.mesh.region,
        zone: args.mesh.zone,
        mirrors,
        readyTimeoutSeconds: args.launchTimeoutSeconds,
      }),
    );
    this.vm = new MultipassVm(
      `${name}-vm`,
      {
        vmName: spec.name,
        image: args.versions.ubuntuImage,
        cpus: spec.cpus,
        memoryGiB: spec.memoryGiB,
        diskGiB: spec.diskGiB,
        userData,
        launchTimeoutSeconds: args.launchTimeoutSeconds,
        suspended: args.suspended,
      },
      { parent: this },
    );

    // Waits for the node to be Ready, then reads k3s's kubeconfig: the provider below gets its kubeconfig from
    // this command's stdout, so no in-cluster resource can start before the node is Ready.
    const read = new command.local.Command(
      `${name}-kubeconfig`,
      {
        interpreter: bash,
        create: script("k3s-kubeconfig.sh"),
        environment: { VM_NAME: spec.name, READY_TIMEOUT_SECONDS: String(args.launchTimeoutSeconds) },
        triggers: [this.vm.launch.id],
        // stdout is the admin kubeconfig: kept out of the logs, and secret in the state.
        logging: "stderr",
      },
      { parent: this, additionalSecretOutputs: ["stdout"] },
    );

    this.apiServer = pulumi.interpolate`https://${this.vm.ip}:6443`;
    this.kubeconfig = pulumi.secret(
      pulumi
        .all([read.stdout, this.vm.ip])
        .apply(([k3sYaml, ip]) => rewriteKubeconfig(k3sYaml, spec.name, ip)),
    );
    // The CA certificate is public: unwrap it so consumers (Argo CD cluster secrets, remote secrets) can show it.
    this.caData = pulumi.unsecret(this.kubeconfig.apply((kc) => caDataOf(kc, spec.name)));

    this.provider = new k8s.Provider(
      `${name}-provider`,
      {
        kubeconfig: this.kubeconfig,
        // Stable while the VM lives: without it every in-cluster resource is planned for replacement whenever
        // the kubeconfig is unknown (a preview after the IP changed, or before the VM exists).
        clusterIdentifier: this.vm.launch.id,
        // A destroy must not hang on in-cluster deletes once the VM is gone. While the VM is suspended, though,
        // a refresh must not drop every in-cluster resource from the state, and an `up` leaves them as they are.
        ...(args.suspended
          ? { deleteUnreachable: false, skipUpdateUnreachable: true }
          : { deleteUnreachable: true }),
      },
      { parent: this },
    );

    this.registerOutputs({
      apiServer: this.apiServer,
      caData: this.caData,
      kubeconfig: this.kubeconfig,
      ip: this.vm.ip,
    });
  }
}
