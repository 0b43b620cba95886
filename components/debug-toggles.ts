// The README's hand-made debug recipes ("TLS v1.3 troubleshooting", "Debug") as configuration. Each toggle adds
// resources while it is on; switching it off deletes them, which undoes it: the patches are server-side applies
// with their own field manager, so deleting one takes back only its own fields. Fields a chart owns are not
// patched (Argo CD's self-heal would revert them): istiod's image is set while pilot's Application ignores it.
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { dump } from "js-yaml";
import type { LabConfig } from "../config";
import type { ArgoApplication } from "./argocd-application";
import type { IstioDeployment } from "./istio-deployment";
import type { MeshVm } from "./mesh-vm";
import { bash, script } from "./shell";
import { type ClusterRef, project } from "./types";

/** A Deployment by namespace and name. */
export interface DeploymentRef {
  namespace: string;
  name: string;
}

/** One workload cluster, with the Applications the toggles wait for. */
export interface DebugWorkloadCluster {
  cluster: ClusterRef;
  /** Its Istio: the pilot Application must ignore istiod's image before the debug image is set. */
  istio: IstioDeployment;
  /** Its httpbin Application: the sleep Deployment exists once it is Healthy. */
  httpbin: ArgoApplication;
}

export interface DebugTogglesArgs {
  /** The toggles, from the configuration. */
  settings: LabConfig["debug"];
  /** Region and zone of the mesh (the locality's first two parts). */
  mesh: Pick<LabConfig["mesh"], "region" | "zone">;
  /** Every workload cluster. */
  workloads: DebugWorkloadCluster[];
  /** The mesh VMs, each with the cluster that enrolls it (where istiod creates its WorkloadEntry). */
  meshVms: { vm: MeshVm; cluster: ClusterRef }[];
  /** Istio revision: istiod is the Deployment `istiod-<revision>` in istio-system. */
  revision: string;
  /**
   * The client Deployment that gets the debug sidecar image and the topology labels.
   * @default { namespace: "httpbin", name: "sleep" } - the httpbin chart's sleep.
   */
  client?: DeploymentRef;
  /**
   * How long istiod's rollout with the debug image may take, in seconds.
   * @default 300
   */
  rolloutTimeoutSeconds?: number;
}

/** The field managers of the patches (what `kubectl get -o yaml --show-managed-fields` shows). */
export const fieldManagers = {
  tlsKeyLog: "lab-debug-tls-keylog",
  proxyImage: "lab-debug-proxy-image",
  locality: "lab-debug-locality",
} as const;

/** Pod-template annotations that give a sidecar an in-memory /sniff and make it write its certs there. */
export function tlsKeyLogAnnotations(): Record<string, string> {
  return {
    "sidecar.istio.io/userVolume": JSON.stringify([{ name: "sniff", emptyDir: { medium: "Memory" } }]),
    "sidecar.istio.io/userVolumeMount": JSON.stringify([{ name: "sniff", mountPath: "/sniff" }]),
    "proxy.istio.io/config": dump({ proxyMetadata: { OUTPUT_CERTS: "/sniff" } }),
  };
}

/**
 * The EnvoyFilter that makes the workload's sidecar log the TLS keys of its calls to httpbin:80 in
 * /sniff/keylog (the README's, selecting the workload's pods by `app: <deployment>` as the httpbin chart labels them).
 */
export function tlsKeyLogEnvoyFilter(workload: DeploymentRef) {
  return {
    apiVersion: "networking.istio.io/v1alpha3",
    kind: "EnvoyFilter",
    metadata: { name: `${workload.name}-tls-keylog`, namespace: workload.namespace },
    spec: {
      workloadSelector: { labels: { app: workload.name } },
      configPatches: [
        {
          applyTo: "CLUSTER",
          match: {
            context: "SIDECAR_OUTBOUND",
            cluster: { service: "httpbin.httpbin.svc.cluster.local", portNumber: 80 },
          },
          patch: {
            operation: "MERGE",
            value: {
              transport_socket: {
                name: "envoy.transport_sockets.tls",
                typed_config: {
                  "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                  common_tls_context: { key_log: { path: "/sniff/keylog" } },
                },
              },
            },
          },
        },
      ],
    },
  };
}

/** Topology labels of a client's pods: the mesh's region and zone, the cluster as subzone. */
export function localityLabels(region: string, zone: string, cluster: string): Record<string, string> {
  return {
    "topology.kubernetes.io/region": region,
    "topology.kubernetes.io/zone": zone,
    "topology.istio.io/subzone": cluster,
  };
}

/** A pod-template patch of a Deployment, applied with its own field manager. */
function templatePatchArgs(
  target: DeploymentRef,
  fieldManager: string,
  template: { annotations?: Record<string, pulumi.Input<string>>; labels?: Record<string, string> },
): k8s.apps.v1.DeploymentPatchArgs {
  return {
    metadata: {
      name: target.name,
      namespace: target.namespace,
      annotations: { "pulumi.com/patchFieldManager": fieldManager },
    },
    spec: { template: { metadata: template } },
  };
}

export class DebugToggles extends pulumi.ComponentResource {
  constructor(name: string, args: DebugTogglesArgs, opts?: pulumi.ComponentResourceOptions) {
    const keyLog = args.settings.tlsKeyLog;
    const keyLogCluster = keyLog && args.workloads.find((w) => w.cluster.spec.name === keyLog.cluster);
    if (keyLog && !keyLogCluster) {
      throw new pulumi.ResourceError(
        `DebugToggles ${name}: settings.tlsKeyLog.cluster is ${JSON.stringify(keyLog.cluster)}: expected one of the workload clusters (${args.workloads.map((w) => w.cluster.spec.name).join(", ")})`,
        opts?.parent,
      );
    }
    super(`${project}:index:DebugToggles`, name, {}, opts);
    const client = args.client ?? { namespace: "httpbin", name: "sleep" };
    const inCluster = (w: DebugWorkloadCluster): pulumi.CustomResourceOptions => ({
      parent: this,
      provider: w.cluster.provider,
      // The Deployments exist once the cluster's httpbin is Synced and Healthy; no data flows from it.
      dependsOn: [w.httpbin],
      deletedWith: w.cluster.vm.launch,
    });

    // TLS key logging for one workload: its sidecar writes certs and session keys in an in-memory /sniff.
    if (keyLog && keyLogCluster) {
      const target = { namespace: keyLog.namespace, name: keyLog.deployment };
      const prefix = `${name}-${keyLog.cluster}-${keyLog.namespace}-${keyLog.deployment}`;
      new k8s.apps.v1.DeploymentPatch(
        `${prefix}-tls-keylog`,
        templatePatchArgs(target, fieldManagers.tlsKeyLog, { annotations: tlsKeyLogAnnotations() }),
        inCluster(keyLogCluster),
      );
      new k8s.apiextensions.CustomResource(
        `${prefix}-tls-keylog-filter`,
        tlsKeyLogEnvoyFilter(target),
        inCluster(keyLogCluster),
      );
    }

    for (const w of args.workloads) {
      const c = w.cluster.spec.name;
      // istiod's debug image. The chart hard-codes istiod's image, so it is set outside the chart once pilot's
      // Application ignores it (IstioDeployment keepPilotImage); switched off, Argo CD's self-heal restores it.
      if (args.settings.pilotImage !== "") {
        new command.local.Command(
          `${name}-${c}-pilot-image`,
          {
            interpreter: bash,
            create: script("istiod-image.sh"),
            update: script("istiod-image.sh"),
            environment: {
              CLUSTER: w.cluster.vm.name,
              DEPLOYMENT: `istiod-${args.revision}`,
              IMAGE: args.settings.pilotImage,
              ROLLOUT_TIMEOUT_SECONDS: String(args.rolloutTimeoutSeconds ?? 300),
            },
            triggers: [w.cluster.vm.launch.id],
          },
          // pilot's Application must ignore the image first, or self-heal reverts it; no data flows from it.
          { parent: this, dependsOn: [w.istio.apps.pilot] },
        );
      }
      // The sleep pods' debug sidecar image, through the injector's annotation.
      if (args.settings.proxyImage !== "") {
        new k8s.apps.v1.DeploymentPatch(
          `${name}-${c}-proxy-image`,
          templatePatchArgs(client, fieldManagers.proxyImage, {
            annotations: { "sidecar.istio.io/proxyImage": args.settings.proxyImage },
          }),
          inCluster(w),
        );
      }
      // Locality of the sleep pods: region, zone, and the cluster as subzone.
      if (args.settings.locality) {
        new k8s.apps.v1.DeploymentPatch(
          `${name}-${c}-client-locality`,
          templatePatchArgs(client, fieldManagers.locality, {
            labels: localityLabels(args.mesh.region, args.mesh.zone, c),
          }),
          inCluster(w),
        );
      }
    }

    // Locality of each mesh VM on the WorkloadEntry istiod made for it when it enrolled.
    if (args.settings.locality) {
      for (const { vm, cluster } of args.meshVms) {
        const entry = vm.workloadEntry.apply((ref) => {
          const [namespace, entryName] = ref.split("/");
          return { namespace, name: entryName };
        });
        new k8s.apiextensions.CustomResourcePatch(
          `${name}-${vm.name}-locality`,
          {
            apiVersion: "networking.istio.io/v1beta1",
            kind: "WorkloadEntry",
            metadata: {
              name: entry.name,
              namespace: entry.namespace,
              annotations: {
                "pulumi.com/patchFieldManager": fieldManagers.locality,
                // istiod wrote spec.locality (from the WorkloadGroup or the proxy): take it over.
                "pulumi.com/patchForce": "true",
              },
            },
            spec: { locality: `${args.mesh.region}/${args.mesh.zone}/${vm.name}` },
          },
          {
            parent: this,
            provider: cluster.provider,
            // istiod creates the entry when the VM's sidecar connects: after the enrollment, no data edge.
            dependsOn: [vm.enrollment],
            deletedWith: cluster.vm.launch,
          },
        );
      }
    }

    this.registerOutputs({});
  }
}
