// Components under test without index.ts: run them under the recording mock monitor, with fake ClusterRefs
// standing in for K3sCluster (a literal kubeconfig, a mocked launch command).
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterRef } from "../components/types";
import type { ClusterSpec } from "../config";
import { type LabRun, type RunOptions, runProgram } from "./harness";

/** Runs components (no stack exports) under mocks; `outputs` replaces tests/mock-outputs.ts' answers. */
export function runComponents(
  program: () => void,
  preview = false,
  outputs?: RunOptions["outputs"],
): Promise<LabRun> {
  return runProgram(
    () => {
      program();
      return {};
    },
    { preview, outputs },
  );
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
