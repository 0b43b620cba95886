// The policy pack (policy/) judged on the mock run: the real default topology passes every policy, and a mutated
// copy of its registrations breaks each one with the exact violation message. The registrations are handed to
// the policies in @pulumi/policy's own shapes, props wrapped in its unknown-checking proxy as the analyzer does.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import {
  type PolicyResource,
  type PolicyResourceOptions,
  type ResourceValidationArgs,
  type ResourceValidationPolicy,
  type StackValidationPolicy,
  UnknownValueError,
  unknownCheckingProxy,
} from "@pulumi/policy";
import * as pulumi from "@pulumi/pulumi";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import { policies } from "../policy/policies";
import { byUrn, find, type LabRun, type Registration, runLab } from "./harness";
import { defaultMockOutputs, fakePem } from "./mock-outputs";

interface Violation {
  policy: string;
  message: string;
}

/** What the analyzer reports as advisory when a resource policy reads an unknown value (preview). */
const cannotRunYet: string[] = [];

/** Inputs as the analyzer sees them in a preview: each unknown as the engine's unknown sentinel. */
function withUnknowns(value: any): any {
  if (pulumi.isUnknown(value)) return rpc.unknownValue;
  if (Array.isArray(value)) return value.map(withUnknowns);
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withUnknowns(v)]));
  }
  return value;
}

function optionsOf(r: Registration): PolicyResourceOptions {
  return {
    protect: false,
    ignoreChanges: r.ignoreChanges,
    deleteBeforeReplace: r.deleteBeforeReplace,
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: r.additionalSecretOutputs,
    parent: r.parent || undefined,
  };
}

const typeChecks = {
  isType(): boolean {
    throw new Error("the lab's policies compare type tokens, not classes");
  },
  asType(): never {
    throw new Error("the lab's policies compare type tokens, not classes");
  },
};

/** What a resource policy gets for one registration: its inputs. */
function resourceArgs(r: Registration, preview: boolean): ResourceValidationArgs {
  return {
    ...typeChecks,
    type: r.type,
    name: r.name,
    urn: r.urn,
    props: unknownCheckingProxy(preview ? withUnknowns(r.inputs) : r.inputs),
    opts: optionsOf(r),
    stackTags: new Map(),
    getConfig: () => ({}) as any,
    notApplicable: (reason?: string) => {
      throw new Error(`notApplicable: ${reason}`);
    },
  };
}

interface JudgeOptions {
  /** Judge a preview: unknown inputs, no computed outputs. */
  preview?: boolean;
  /** Computed outputs of a resource in place of the mocks' (tests/mock-outputs.ts). */
  outputs?: (r: Registration) => Record<string, unknown> | undefined;
}

/** What a stack policy gets: every resource with its outputs (the mocks' state: inputs + computed outputs). */
function stackResources(registrations: Registration[], options: JudgeOptions): PolicyResource[] {
  const resources = new Map<string, PolicyResource>();
  for (const r of registrations) {
    const computed =
      options.outputs?.(r) ??
      defaultMockOutputs({ type: r.type, name: r.name, inputs: r.inputs, custom: r.custom });
    const outputs = options.preview ? withUnknowns(r.inputs) : { ...r.inputs, ...computed };
    resources.set(r.urn, {
      ...typeChecks,
      type: r.type,
      name: r.name,
      urn: r.urn,
      props: unknownCheckingProxy(outputs),
      opts: optionsOf(r),
      dependencies: [],
      propertyDependencies: {},
    });
  }
  for (const r of registrations) {
    const res = resources.get(r.urn) as PolicyResource;
    const of = (urns: string[]) => urns.flatMap((u) => resources.get(u) ?? []);
    res.parent = resources.get(r.parent);
    res.dependencies = of(r.dependencies);
    res.propertyDependencies = Object.fromEntries(
      Object.entries(r.propertyDependencies).map(([k, urns]) => [k, of(urns)]),
    );
  }
  return [...resources.values()];
}

/** Runs every policy of the pack as the analyzer would: resource policies per resource, stack policies once. */
async function judge(registrations: Registration[], options: JudgeOptions = {}): Promise<Violation[]> {
  const found: Violation[] = [];
  for (const p of policies) {
    const report = (message: string) => found.push({ policy: p.name, message });
    if ("validateStack" in p) {
      await (p as StackValidationPolicy).validateStack(
        {
          resources: stackResources(registrations, options),
          stackTags: new Map(),
          getConfig: () => ({}) as any,
          notApplicable: () => {
            throw new Error("not applicable");
          },
        },
        report,
      );
      continue;
    }
    const validate = (p as ResourceValidationPolicy).validateResource;
    for (const r of registrations) {
      for (const v of Array.isArray(validate) ? validate : validate ? [validate] : []) {
        try {
          await v(resourceArgs(r, options.preview ?? false), report);
        } catch (e) {
          if (!(e instanceof UnknownValueError)) throw e;
          cannotRunYet.push(`${p.name} on ${r.name}: ${(e as Error).message}`);
        }
      }
    }
  }
  return found;
}

/** A deep copy of the run's registrations with one of them changed. */
function mutated(run: LabRun, name: string, change: (r: Registration) => void): Registration[] {
  const copy = structuredClone(run.registrations);
  const hit = copy.find((r) => r.name === name);
  if (!hit) throw new Error(`no registration named ${name}`);
  change(hit);
  return copy;
}

describe("policy pack", () => {
  let run: LabRun;
  before(async () => {
    run = await runLab();
  });

  test("declares each policy once, all mandatory", () => {
    assert.deepEqual(
      policies.map((p) => [p.name, p.enforcementLevel]),
      [
        ["helm-chart-version-exact", "mandatory"],
        ["argocd-source-pinned", "mandatory"],
        ["container-image-pinned", "mandatory"],
        ["vm-user-data-versions-exact", "mandatory"],
        ["vm-launch-delete-before-replace", "mandatory"],
        ["command-stdout-secret", "mandatory"],
        ["kubeconfig-from-secret", "mandatory"],
        ["root-key-only-in-signers", "mandatory"],
      ],
    );
  });

  test("the default topology passes every policy", async () => {
    assert.deepEqual(await judge(run.registrations), []);
  });

  test("a preview breaks no policy; only the checks of unknown inputs wait for the update", async () => {
    const preview = await runLab({ preview: true });
    cannotRunYet.length = 0;
    assert.deepEqual(await judge(preview.registrations, { preview: true }), []);
    // The SDK reports these as advisory ("can't run policy ... during preview"); they run for real when `up`
    // registers each resource. Before the first `up` an Application's whole spec is unknown (its destination is
    // the cluster's address), and so is a cluster VM's user-data (the mirrors' ports come from their commands).
    const unknownAt = (policy: string, name: string, prop: string) =>
      `${policy} on ${name}: string value at .${prop} can't be known during preview`;
    assert.deepEqual(cannotRunYet.sort(), [
      ...["kube-01", "kube-02"].flatMap((c) =>
        ["httpbin", "istio-base", "istio-cni", "istio-ewgw", "istio-igws", "istio-pilot"].map((app) =>
          unknownAt("argocd-source-pinned", `${c}-${app}-application`, "spec"),
        ),
      ),
      ...["kube-00", "kube-01", "kube-02"].map((c) =>
        unknownAt("vm-user-data-versions-exact", `${c}-vm-launch`, "stdin"),
      ),
    ]);
  });

  test("helm-chart-version-exact: a range or a missing chart version", async () => {
    const range = mutated(run, "argocd-release", (r) => {
      r.inputs.version = "5.x";
    });
    assert.deepEqual(await judge(range), [
      {
        policy: "helm-chart-version-exact",
        message: 'argocd-release: chart version "5.x" is not exact: pin one release, e.g. 5.42.3',
      },
    ]);
    const none = mutated(run, "argocd-release", (r) => {
      delete r.inputs.version;
    });
    assert.deepEqual(await judge(none), [
      {
        policy: "helm-chart-version-exact",
        message: "argocd-release: chart version null is not exact: pin one release, e.g. 5.42.3",
      },
    ]);
  });

  test("argocd-source-pinned: targetRevision HEAD", async () => {
    const regs = mutated(run, "kube-01-httpbin-application", (r) => {
      r.inputs.spec.source.targetRevision = "HEAD";
    });
    assert.deepEqual(await judge(regs), [
      {
        policy: "argocd-source-pinned",
        message:
          'kube-01-httpbin-application: spec.source.targetRevision "HEAD" is not a commit: pin a 40-character SHA',
      },
    ]);
  });

  test("container-image-pinned: untagged, latest and major-only mirror images", async () => {
    for (const image of ["registry", "registry:latest", "registry:2", "localhost:5000/registry"]) {
      const regs = mutated(run, "registry-mirrors-quay.io", (r) => {
        r.inputs.environment.IMAGE = image;
      });
      assert.deepEqual(await judge(regs), [
        {
          policy: "container-image-pinned",
          message:
            `registry-mirrors-quay.io: container image ${JSON.stringify(image)} floats (untagged, latest or a ` +
            "major-only tag): pin an x.y.z tag such as registry:2.8.3 or a @sha256 digest",
        },
      ]);
    }
    const digest = mutated(run, "registry-mirrors-quay.io", (r) => {
      r.inputs.environment.IMAGE = `registry@sha256:${"a".repeat(64)}`;
    });
    assert.deepEqual(await judge(digest), []);
  });

  test("vm-user-data-versions-exact: the stable channel and a latest Calico in a cluster's user-data", async () => {
    const regs = mutated(run, "kube-02-vm-launch", (r) => {
      assert.match(r.inputs.stdin, /K3S_VERSION=v1\.25\.16\+k3s4\n/);
      r.inputs.stdin = r.inputs.stdin
        .replace("K3S_VERSION=v1.25.16+k3s4", "K3S_VERSION=stable")
        .replace("CALICO_VERSION=v3.25.0", "CALICO_VERSION=latest");
    });
    assert.deepEqual(await judge(regs), [
      {
        policy: "vm-user-data-versions-exact",
        message:
          "kube-02-vm-launch: user-data sets K3S_VERSION=stable: pin an exact k3s release, e.g. v1.25.16+k3s4",
      },
      {
        policy: "vm-user-data-versions-exact",
        message:
          "kube-02-vm-launch: user-data sets CALICO_VERSION=latest: pin an exact Calico release, e.g. v3.25.0",
      },
    ]);
    const channel = mutated(run, "kube-02-vm-launch", (r) => {
      r.inputs.stdin += "bootcmd:\n  - curl -sfL https://get.k3s.io | INSTALL_K3S_CHANNEL=stable sh -\n";
    });
    const flow = mutated(run, "kube-02-vm-launch", (r) => {
      r.inputs.stdin += "bootcmd: [[env, INSTALL_K3S_VERSION=latest, sh, /tmp/install.sh]]\n";
    });
    assert.deepEqual(await judge(flow), [
      {
        policy: "vm-user-data-versions-exact",
        message:
          "kube-02-vm-launch: user-data sets INSTALL_K3S_VERSION=latest: pin an exact k3s release, e.g. v1.25.16+k3s4",
      },
    ]);
    assert.deepEqual(await judge(channel), [
      {
        policy: "vm-user-data-versions-exact",
        message:
          "kube-02-vm-launch: user-data installs k3s from a channel or get.k3s.io: use the install script of a " +
          "pinned release tag",
      },
    ]);
  });

  test("vm-launch-delete-before-replace: a VM launch without deleteBeforeReplace", async () => {
    const regs = mutated(run, "virt-01-vm-launch", (r) => {
      r.deleteBeforeReplace = false;
    });
    assert.deepEqual(await judge(regs), [
      {
        policy: "vm-launch-delete-before-replace",
        message:
          "virt-01-vm-launch: launches a Multipass VM without deleteBeforeReplace: a replacement would launch a " +
          "second VM under the name of the first; set deleteBeforeReplace: true",
      },
    ]);
  });

  test("command-stdout-secret and kubeconfig-from-secret: a kubeconfig read back in plain stdout", async () => {
    const regs = mutated(run, "kube-01-kubeconfig", (r) => {
      r.additionalSecretOutputs = [];
    });
    // The provider's kubeconfig is computed from the read-back and from the VM's commands (its IP).
    const sources = find(
      run,
      "pulumi:providers:kubernetes",
      "kube-01-provider",
    ).propertyDependencies.kubeconfig.map((urn) => byUrn(run, urn).name);
    assert.ok(sources.includes("kube-01-kubeconfig"), sources.join(", "));
    assert.deepEqual(await judge(regs), [
      {
        policy: "command-stdout-secret",
        message:
          'kube-01-kubeconfig: stdout carries a kubeconfig or token but is not secret: add additionalSecretOutputs: ["stdout"]',
      },
      {
        policy: "kubeconfig-from-secret",
        message:
          `kube-01-provider: kubeconfig does not come from a secret output (sources: ${sources.join(", ")}): ` +
          'read it with a command that has additionalSecretOutputs: ["stdout"]',
      },
    ]);
  });

  test("command-stdout-secret: a service-account token printed by a command", async () => {
    const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl";
    const violations = await judge(run.registrations, {
      outputs: (r) => (r.name === "virt-01-workload-group" ? { stdout: `${jwt}\n` } : undefined),
    });
    assert.deepEqual(violations, [
      {
        policy: "command-stdout-secret",
        message:
          'virt-01-workload-group: stdout carries a kubeconfig or token but is not secret: add additionalSecretOutputs: ["stdout"]',
      },
    ]);
  });

  test("kubeconfig-from-secret: an empty kubeconfig and a literal one", async () => {
    const empty = mutated(run, "kube-02-provider", (r) => {
      r.inputs.kubeconfig = "";
    });
    assert.deepEqual(await judge(empty), [
      {
        policy: "kubeconfig-from-secret",
        message: "kube-02-provider: kubeconfig is empty: the provider would silently use ~/.kube/config",
      },
    ]);
    const literal = mutated(run, "kube-02-provider", (r) => {
      r.propertyDependencies.kubeconfig = [];
    });
    assert.deepEqual(await judge(literal), [
      {
        policy: "kubeconfig-from-secret",
        message:
          "kube-02-provider: kubeconfig does not come from a secret output (sources: none: a literal): read it " +
          'with a command that has additionalSecretOutputs: ["stdout"]',
      },
    ]);
  });

  test("root-key-only-in-signers: the root key copied into a ConfigMap, and base64 into a Secret", async () => {
    const rootKey = fakePem("PRIVATE KEY", "istio-ca-root-key");
    const regs = structuredClone(run.registrations);
    const template = regs.find((r) => r.name === "istio-ca-kube-01-istio-system") as Registration;
    regs.push(
      {
        ...template,
        type: "kubernetes:core/v1:ConfigMap",
        name: "leaky-config",
        urn: `${template.urn}-leaky-config`,
        inputs: { metadata: { name: "leak" }, data: { "ca-key.pem": rootKey } },
      },
      {
        ...template,
        type: "kubernetes:core/v1:Secret",
        name: "leaky-secret",
        urn: `${template.urn}-leaky-secret`,
        inputs: { data: { key: Buffer.from(rootKey).toString("base64") } },
      },
    );
    assert.deepEqual(await judge(regs), [
      {
        policy: "root-key-only-in-signers",
        message:
          "leaky-config (kubernetes:core/v1:ConfigMap) holds the root CA key of istio-ca-root-key in " +
          "data.ca-key.pem: only SelfSignedCert and LocallySignedCert may take it",
      },
      {
        policy: "root-key-only-in-signers",
        message:
          "leaky-secret (kubernetes:core/v1:Secret) holds the root CA key of istio-ca-root-key in data.key: only " +
          "SelfSignedCert and LocallySignedCert may take it",
      },
    ]);
    // The intermediate keys are not the root's: the cacerts Secrets carrying them pass (the default run above).
    assert.equal(
      run.registrations.filter((r) => r.type === "tls:index/selfSignedCert:SelfSignedCert").length,
      1,
      "exactly one self-signed (root) certificate",
    );
  });
});
