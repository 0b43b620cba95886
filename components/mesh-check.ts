// The README's tests, run for real at the end of every `up`: requests to httpbin from each workload cluster's
// sleep pod and from each mesh VM, and each client's sidecar endpoints. The judgement is
// components/mesh-check-logic.ts; a failed check fails the `up` with a message naming client, path and what
// it saw. `npm run verify` runs the same check again against the live lab.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import {
  checkEnvironment,
  MeshCheckError,
  type MeshCheckPlan,
  type MeshCheckReport,
  runJudgement,
} from "./mesh-check-logic";
import type { MeshVm } from "./mesh-vm";
import { bash, script } from "./shell";
import { type ClusterRef, project } from "./types";

export interface MeshCheckArgs {
  /** The workload clusters: each one's sleep pod is a client, each one's httpbin pods must be reachable. */
  clusters: ClusterRef[];
  /** The enrolled VMs: clients, and httpbin endpoints. */
  meshVms: MeshVm[];
  /** Requests per client. */
  requests: number;
  /** What the check waits for: the httpbin Applications and the VM enrollments (no data flows from them). */
  after: pulumi.Resource[];
  /**
   * The service the clients call.
   * @default { namespace: "httpbin", name: "httpbin", port: 80 } - the httpbin chart's Service.
   */
  service?: MeshCheckPlan["service"];
  /**
   * How long to wait, per client, for its sidecar to list the expected number of endpoints before collecting.
   * @default 300
   */
  waitSeconds?: number;
}

export class MeshCheck extends pulumi.ComponentResource {
  /** What was checked (plain data; `npm run verify` reads it from the stack output). */
  readonly plan: MeshCheckPlan;
  /** Client -> answering host -> count (`sort | uniq -c | sort -rn`). */
  readonly tally: pulumi.Output<MeshCheckReport["tally"]>;
  /** Client -> httpbin endpoints in its sidecar, with whose they are. */
  readonly endpoints: pulumi.Output<MeshCheckReport["endpoints"]>;

  constructor(name: string, args: MeshCheckArgs, opts?: pulumi.ComponentResourceOptions) {
    if (!Number.isInteger(args.requests) || args.requests < 1) {
      throw new pulumi.ResourceError(
        `MeshCheck ${name}: requests is ${args.requests}: expected a positive integer`,
        opts?.parent,
      );
    }
    super(`${project}:index:MeshCheck`, name, {}, opts);
    this.plan = {
      service: args.service ?? { namespace: "httpbin", name: "httpbin", port: 80 },
      requests: args.requests,
      clusters: args.clusters.map((c) => ({ name: c.spec.name, podCidr: c.spec.podCidr })),
      vms: args.meshVms.map((v) => ({ name: v.name, port: v.httpbinPort })),
      gatewayPort: 15443,
    };

    const run = new command.local.Command(
      `${name}-run`,
      {
        interpreter: bash,
        create: script("mesh-check.sh"),
        environment: checkEnvironment(this.plan, args.waitSeconds ?? 300),
        // A check, not a thing: run it on every `up`.
        triggers: [new Date().toISOString()],
        // The collected answers and dumps are long; the verdict below is what matters.
        logging: "stderr",
      },
      { parent: this, dependsOn: args.after },
    );

    const report = run.stdout.apply((out) => {
      try {
        return runJudgement(this.plan, out);
      } catch (e) {
        // A RunError is printed without a stack trace: the message is the diagnosis.
        if (e instanceof MeshCheckError)
          throw new pulumi.RunError(`${e.message}\nRe-run with: npm run verify`);
        throw e;
      }
    });
    this.tally = report.apply((r) => r.tally);
    this.endpoints = report.apply((r) => r.endpoints);

    this.registerOutputs({ plan: this.plan, tally: this.tally, endpoints: this.endpoints });
  }
}
