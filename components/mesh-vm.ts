// A plain VM (no Kubernetes) in the mesh: launched early with go-httpbin and Istio's sidecar package, then
// enrolled through a workload cluster's istiod (reached through its east-west gateway) into a WorkloadGroup,
// with auto-registration: istiod creates the VM's WorkloadEntry when the sidecar connects.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { renderMeshVmUserData } from "../cloud-init/mesh-vm";
import type { LabConfig, MeshVmSpec } from "../config";
import { MultipassVm } from "./multipass-vm";
import { bash, script } from "./shell";
import { type ClusterRef, project } from "./types";
import { istiodHost, parseWorkloadGroup, renderVmFiles } from "./vm-files";

export interface MeshVmArgs {
  /** The VM, its WorkloadGroup and its network, from the configuration. */
  spec: MeshVmSpec;
  /** The workload cluster named by `spec.cluster`, whose istiod enrolls the VM. */
  cluster: ClusterRef;
  /** Mesh ID and trust domain of the mesh. */
  mesh: Pick<LabConfig["mesh"], "id" | "trustDomain">;
  /** Ubuntu image, Istio release of the sidecar package, go-httpbin tag. */
  versions: Pick<LabConfig["versions"], "ubuntuImage" | "istio" | "goHttpbin">;
  /** How long `multipass launch` plus cloud-init may take, in seconds. */
  launchTimeoutSeconds: number;
  /** The cluster's Istio is up: istiod and the east-west gateway that exposes it (IstioDeployment.ready). */
  istioReady: pulumi.Resource;
  /** The cluster's app that creates the WorkloadGroup and its service account (the httpbin Application). */
  workloadGroupReady: pulumi.Resource;
  /** The mesh's root certificate (PEM), from the CA the program owns. */
  rootCertPem: pulumi.Input<string>;
  /**
   * Port go-httpbin listens on in the VM: the WorkloadGroup's port.
   * @default 8080 - the httpbin chart's WorkloadGroup port `http`.
   */
  httpbinPort?: number;
  /**
   * Lifetime of the VM's bootstrap token (TokenRequest, audience istio-ca), in seconds.
   * @default 3600 - istioctl's default; enrollment uses it at once.
   */
  tokenDurationSeconds?: number;
  /** Suspend the VM (see MultipassVm). @default false */
  suspended?: boolean;
}

/** The name istiod gives an auto-registered WorkloadEntry: `<group>-<ip>-<network>` (Istio 1.16). */
export function workloadEntryName(group: string, ip: string, network: string): string {
  return [group, ip.replaceAll(":", "-"), ...(network ? [network] : [])].join("-");
}

export class MeshVm extends pulumi.ComponentResource {
  /** The Multipass VM. */
  readonly vm: MultipassVm;
  /** The VM's name. */
  readonly name: string;
  /** The VM's IPv4 (read afresh each `up`). */
  readonly ip: pulumi.Output<string>;
  /** The port the VM serves httpbin on (its endpoint in the mesh is `<ip>:<port>`). */
  readonly httpbinPort: number;
  /** The enrollment: files in place and the sidecar running. Its id is new on each (re-)enrollment. */
  readonly enrollment: command.local.Command;
  /** The auto-registered WorkloadEntry, `<namespace>/<name>`, in the enrolling cluster. */
  readonly workloadEntry: pulumi.Output<string>;

  constructor(name: string, args: MeshVmArgs, opts?: pulumi.ComponentResourceOptions) {
    if (args.cluster.spec.name !== args.spec.cluster) {
      throw new pulumi.ResourceError(
        `MeshVm ${name}: cluster is ${args.cluster.spec.name} but spec.cluster is ${args.spec.cluster}; pass the cluster the VM enrolls through`,
        opts?.parent,
      );
    }
    if (args.cluster.spec.role !== "workload") {
      throw new pulumi.ResourceError(
        `MeshVm ${name}: cluster ${args.cluster.spec.name} is the management cluster; a VM enrolls through a workload cluster`,
        opts?.parent,
      );
    }
    super(`${project}:index:MeshVm`, name, {}, opts);
    const spec = args.spec;
    const group = spec.workloadGroup;
    this.name = spec.name;
    this.httpbinPort = args.httpbinPort ?? 8080;
    const tokenDuration = `${args.tokenDurationSeconds ?? 3600}s`;

    // Nothing in the user-data depends on the mesh: the VM launches in parallel with the clusters.
    this.vm = new MultipassVm(
      `${name}-vm`,
      {
        vmName: spec.name,
        image: args.versions.ubuntuImage,
        cpus: spec.cpus,
        memoryGiB: spec.memoryGiB,
        diskGiB: spec.diskGiB,
        userData: renderMeshVmUserData({
          goHttpbinVersion: args.versions.goHttpbin,
          istioVersion: args.versions.istio,
          httpbinPort: this.httpbinPort,
        }),
        launchTimeoutSeconds: args.launchTimeoutSeconds,
        suspended: args.suspended,
      },
      { parent: this },
    );
    this.ip = this.vm.ip;

    // The WorkloadGroup as the cluster stores it: labels, ports, service account and probe of the VM files.
    const workloadGroup = new command.local.Command(
      `${name}-workload-group`,
      {
        interpreter: bash,
        create: script("mesh-vm-workload-group.sh"),
        environment: { CLUSTER: args.cluster.vm.name, NAMESPACE: group.namespace, GROUP: group.name },
        triggers: [args.cluster.vm.launch.id],
      },
      // The group exists once its Application is Healthy; nothing flows from that app into this command.
      { parent: this, dependsOn: [args.workloadGroupReady] },
    );
    const wg = workloadGroup.stdout.apply(parseWorkloadGroup);
    const files = pulumi
      .all([wg, args.cluster.vm.ip, args.rootCertPem])
      .apply(([workloadGroupInfo, gatewayIp, rootCertPem]) =>
        renderVmFiles({
          workloadGroup: workloadGroupInfo,
          clusterId: args.cluster.spec.name,
          meshId: args.mesh.id,
          trustDomain: args.mesh.trustDomain,
          network: spec.network,
          // k3s's ServiceLB gives the east-west gateway the cluster VM's IP.
          eastWestGatewayIp: gatewayIp,
          rootCertPem,
        }),
      );
    this.workloadEntry = pulumi.interpolate`${group.namespace}/${this.ip.apply((ip) =>
      workloadEntryName(group.name, ip, spec.network),
    )}`;

    this.enrollment = new command.local.Command(
      `${name}-enroll`,
      {
        interpreter: bash,
        create: script("mesh-vm-enroll.sh"),
        // Any change of the files (WorkloadGroup, gateway IP, config) re-runs the enrollment in place.
        update: script("mesh-vm-enroll.sh"),
        delete: script("mesh-vm-unenroll.sh"),
        environment: {
          VM: this.vm.name,
          CLUSTER: args.cluster.vm.name,
          NAMESPACE: group.namespace,
          SERVICE_ACCOUNT: wg.serviceAccount,
          TOKEN_DURATION: tokenDuration,
          CLUSTER_ENV: files["cluster.env"],
          MESH_YAML: files["mesh.yaml"],
          ROOT_CERT: files["root-cert.pem"],
          HOSTS: files.hosts,
          VM_SETUP: script("mesh-vm-setup.sh"),
          ENTRY: this.ip.apply((ip) => workloadEntryName(group.name, ip, spec.network)),
        },
        // A new VM, a new cluster (new service accounts and istiod) or a new root CA: enroll afresh.
        triggers: [this.vm.launch.id, args.cluster.vm.launch.id, args.rootCertPem],
      },
      {
        parent: this,
        // istiod and the east-west gateway must answer; no output of the Istio apps flows into the files.
        dependsOn: [args.istioReady],
        // Unenroll the old before enrolling the new: the other order would stop the fresh sidecar.
        deleteBeforeReplace: true,
      },
    );

    this.registerOutputs({
      name: this.name,
      ip: this.ip,
      httpbinPort: this.httpbinPort,
      workloadEntry: this.workloadEntry,
      istiod: istiodHost(args.cluster.spec.name),
    });
  }
}
