// Fixtures for the GitOps tests: run a few components under the recording mock monitor (without index.ts),
// and fake ClusterRefs standing in for K3sCluster (a literal kubeconfig, a mocked launch command).
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { MockResourceArgs } from "@pulumi/pulumi/runtime/mocks";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import * as publicSettings from "@pulumi/pulumi/runtime/settings";
import * as publicState from "@pulumi/pulumi/runtime/state";
import type { ClusterRef } from "../components/types";
import type { ClusterSpec } from "../config";
import { type LabRun, project, RecordingMonitor, stack } from "./harness";
import { defaultMockCall, defaultMockOutputs } from "./mock-outputs";

// Runtime internals that Pulumi's own mock support uses (as tests/harness.ts does).
const settings = publicSettings as typeof publicSettings & { waitForRPCs(): Promise<void> };
const state = publicState as typeof publicState & { getStore(): Record<string, any> };

/** Whether an output is secret (`isSecret` is internal to the SDK's typings). */
export function isSecret(o: pulumi.Output<unknown>): Promise<boolean> {
  return (o as unknown as { isSecret: Promise<boolean> }).isSecret;
}

/**
 * Runs `program` under mocks (as `pulumi up`, or as a preview where every computed value is unknown);
 * `outputs` replaces tests/mock-outputs.ts' answers where it returns something.
 */
export async function runComponents(
  program: () => void,
  preview = false,
  outputs?: (args: MockResourceArgs) => Record<string, unknown> | undefined,
): Promise<LabRun> {
  const monitor = new RecordingMonitor({
    newResource(args) {
      if (preview) return { id: undefined, state: {} };
      const computed = outputs?.(args) ?? defaultMockOutputs(args);
      return { id: `${args.name}-id`, state: { ...args.inputs, ...computed } };
    },
    call: (args) => defaultMockCall(args, preview),
  });
  settings.setMockOptions(monitor, project, stack, preview);
  const store = state.getStore();
  store.supportsSecrets = true;
  store.supportsResourceReferences = true;
  store.supportsDeletedWith = true;
  pulumi.runtime.setAllConfig({});
  await pulumi.runtime.runInPulumiStack(async () => {
    program();
    return {};
  });
  await settings.waitForRPCs();
  return { registrations: monitor.registrations, outputs: {}, secretOutputs: [] };
}

/** The spec of a cluster with the defaults of config.ts. */
export function clusterSpec(name: string, role: "management" | "workload", network = ""): ClusterSpec {
  return {
    name,
    role,
    network,
    podCidr: "10.42.0.0/16",
    serviceCidr: "10.43.0.0/16",
    cpus: 2,
    memoryGiB: 4,
    diskGiB: 10,
  };
}

/** A ClusterRef whose VM has IP 192.168.64.<n>; its provider has a literal kubeconfig (secret). */
export function fakeCluster(spec: ClusterSpec, n: number): ClusterRef {
  const launch = new command.local.Command(`${spec.name}-launch`, { create: "true" });
  const ip = pulumi.output(`192.168.64.${n}`);
  const kubeconfig = pulumi.secret(`apiVersion: v1\nkind: Config\nclusters: [{name: ${spec.name}}]\n`);
  const provider = new k8s.Provider(`${spec.name}-k8s`, { kubeconfig, clusterIdentifier: launch.id });
  return {
    spec,
    vm: { name: spec.name, launch, ip, arch: pulumi.output("arm64") },
    apiServer: pulumi.interpolate`https://${ip}:6443`,
    caData: pulumi.output(Buffer.from(`CA of ${spec.name}`).toString("base64")),
    kubeconfig,
    provider,
  };
}

/** A registration's inputs with secret wrappers removed (the recording monitor keeps them as sent). */
export function plain(value: any): any {
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") {
    if (value[rpc.specialSigKey] === rpc.specialSecretSig) return plain(value.value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}
