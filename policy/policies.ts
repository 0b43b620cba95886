// The lab's invariants as policies: no floating versions, the root CA key only in its signers, secrets kept
// secret, VMs replaced delete-first. Pure data + functions (no PolicyPack here: constructing one starts the
// analyzer's gRPC server), so tests call each policy directly on the mock run's resources.
//
// What @pulumi/policy 1.21 shows a policy, and so what these can check:
// - `props`: a resource policy sees the inputs, a stack policy the outputs; secret values arrive unwrapped
//   (server.js deserializes with proxySecrets=false), so whether an input was *sent as secret* is invisible.
//   Secrecy is therefore checked through what is visible: `opts.additionalSecretOutputs` of the resource whose
//   output carries the secret, and the property dependencies that lead a kubeconfig to such an output.
// - `opts`: protect, ignoreChanges, deleteBeforeReplace (when the program set it), aliases, customTimeouts,
//   additionalSecretOutputs, parent. Not deletedWith, not dependsOn (stack policies get dependencies).
// - unknown values (preview) throw UnknownValueError on access: a resource policy then reports "can't run
//   during preview" (advisory, by the SDK); stack policies here skip the unknown value and check the rest.
import {
  type PolicyResource,
  type ReportViolation,
  type ResourceValidationArgs,
  type ResourceValidationPolicy,
  type StackValidationPolicy,
  UnknownValueError,
} from "@pulumi/policy";

export const types = {
  command: "command:local:Command",
  helmRelease: "kubernetes:helm.sh/v3:Release",
  application: "kubernetes:argoproj.io/v1alpha1:Application",
  k8sProvider: "pulumi:providers:kubernetes",
  privateKey: "tls:index/privateKey:PrivateKey",
  selfSignedCert: "tls:index/selfSignedCert:SelfSignedCert",
  locallySignedCert: "tls:index/locallySignedCert:LocallySignedCert",
} as const;

/** The value `read()` returns, or undefined when the engine does not know it yet (preview). */
export function known<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (e) {
    if (e instanceof UnknownValueError) return undefined;
    throw e;
  }
}

/** An exact chart version: `5.42.3`, `1.0.0-rc.1` (no range, no `x`, no `latest`). */
export const exactSemver = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
/** A full Git commit id. */
export const commitSha = /^[0-9a-f]{40}$/;
/** A k3s release as INSTALL_K3S_VERSION takes it: `v1.25.16+k3s4`. */
export const exactK3s = /^v\d+\.\d+\.\d+\+k3s\d+$/;
/** A Calico release tag: `v3.25.0`. */
export const exactCalico = /^v\d+\.\d+\.\d+$/;

/** True when a container image reference names one build: a digest, or a tag with a full x.y.z version. */
export function imagePinned(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const lastSlash = image.lastIndexOf("/");
  const colon = image.lastIndexOf(":");
  if (colon <= lastSlash) return false;
  const tag = image.slice(colon + 1);
  return tag !== "latest" && /\d+\.\d+\.\d+/.test(tag);
}

/** Literal `NAME=value` assignments of a variable in a text (`$`-references are not literals). */
function assignments(text: string, name: string): string[] {
  const re = new RegExp(`(?<![A-Za-z0-9_])${name}=["']?([^\\s"',\\]}]*)`, "g");
  return [...text.matchAll(re)].map((m) => m[1]).filter((v) => !v.startsWith("$"));
}

/** The string and its base64: how a PEM shows up in a manifest's `stringData` or `data`. */
function encodings(text: string): string[] {
  return [text, Buffer.from(text, "utf8").toString("base64")];
}

/** Every string in a (possibly proxied) value with its dotted path; unknown values are skipped. */
export function strings(value: unknown, at = ""): { path: string; text: string }[] {
  if (typeof value === "string") return [{ path: at, text: value }];
  if (!value || typeof value !== "object") return [];
  const o = value as Record<string, unknown>;
  return Object.keys(o).flatMap((k) => {
    const v = known(() => o[k]);
    const path = Array.isArray(value) ? `${at}[${k}]` : at ? `${at}.${k}` : k;
    return strings(v, path);
  });
}

const helmChartVersionExact: ResourceValidationPolicy = {
  name: "helm-chart-version-exact",
  description: "Helm releases install an exact chart version, never a range or the newest.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    if (args.type !== types.helmRelease) return;
    const version = args.props.version;
    if (typeof version !== "string" || !exactSemver.test(version)) {
      report(
        `${args.name}: chart version ${JSON.stringify(version ?? null)} is not exact: pin one release, e.g. 5.42.3`,
      );
    }
  },
};

const argocdSourcePinned: ResourceValidationPolicy = {
  name: "argocd-source-pinned",
  description: "Argo CD Applications deploy a pinned commit: every source's targetRevision is a 40-char SHA.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    if (args.type !== types.application) return;
    const spec = args.props.spec ?? {};
    const sources: { at: string; source: Record<string, unknown> }[] = [];
    if (spec.source) sources.push({ at: "spec.source", source: spec.source });
    for (const [i, source] of (spec.sources ?? []).entries())
      sources.push({ at: `spec.sources[${i}]`, source });
    if (sources.length === 0) report(`${args.name}: the Application has no source`);
    for (const { at, source } of sources) {
      const rev = source.targetRevision;
      if (typeof rev !== "string" || !commitSha.test(rev)) {
        report(
          `${args.name}: ${at}.targetRevision ${JSON.stringify(rev ?? null)} is not a commit: pin a 40-character SHA`,
        );
      }
    }
  },
};

const containerImagePinned: ResourceValidationPolicy = {
  name: "container-image-pinned",
  description: "Commands that run a container (the registry mirrors: environment IMAGE) run a pinned image.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    if (args.type !== types.command) return;
    const image = args.props.environment?.IMAGE;
    if (image === undefined) return;
    if (typeof image !== "string" || !imagePinned(image)) {
      report(
        `${args.name}: container image ${JSON.stringify(image)} floats (untagged, latest or a major-only tag): ` +
          "pin an x.y.z tag such as registry:2.8.3 or a @sha256 digest",
      );
    }
  },
};

const vmUserDataVersionsExact: ResourceValidationPolicy = {
  name: "vm-user-data-versions-exact",
  description:
    "VM user-data installs exact k3s and Calico releases: no channel, no latest, no unpinned installer.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    if (args.type !== types.command) return;
    const userData = args.props.stdin;
    if (typeof userData !== "string" || !userData.startsWith("#cloud-config")) return;
    for (const name of ["K3S_VERSION", "INSTALL_K3S_VERSION"]) {
      for (const v of assignments(userData, name)) {
        if (!exactK3s.test(v)) {
          report(`${args.name}: user-data sets ${name}=${v}: pin an exact k3s release, e.g. v1.25.16+k3s4`);
        }
      }
    }
    if (/INSTALL_K3S_CHANNEL|get\.k3s\.io/.test(userData)) {
      report(
        `${args.name}: user-data installs k3s from a channel or get.k3s.io: use the install script of a pinned release tag`,
      );
    }
    for (const v of assignments(userData, "CALICO_VERSION")) {
      if (!exactCalico.test(v)) {
        report(`${args.name}: user-data sets CALICO_VERSION=${v}: pin an exact Calico release, e.g. v3.25.0`);
      }
    }
    for (const m of userData.matchAll(/projectcalico\/calico\/([^/\s"']+)\/manifests/g)) {
      if (!m[1].startsWith("$") && !exactCalico.test(m[1])) {
        report(
          `${args.name}: user-data fetches Calico manifests at ${m[1]}: pin an exact release, e.g. v3.25.0`,
        );
      }
    }
  },
};

const vmLaunchDeleteBeforeReplace: ResourceValidationPolicy = {
  name: "vm-launch-delete-before-replace",
  description:
    "A command that launches a Multipass VM is delete-before-replace: the VM name is its identity.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    if (args.type !== types.command) return;
    const create = args.props.create;
    if (typeof create !== "string" || !create.includes("multipass launch")) return;
    if (args.opts.deleteBeforeReplace !== true) {
      report(
        `${args.name}: launches a Multipass VM without deleteBeforeReplace: a replacement would launch a second VM ` +
          "under the name of the first; set deleteBeforeReplace: true",
      );
    }
  },
};

/** A kubeconfig with credentials, or a bearer token (JWT), in a command's output. */
export function carriesCredentials(text: string): boolean {
  return (
    /^kind:\s*Config\s*$/m.test(text) ||
    /(client-key-data|token):\s*\S/.test(text) ||
    /eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/.test(text)
  );
}

const commandStdoutSecret: StackValidationPolicy = {
  name: "command-stdout-secret",
  description:
    "A command whose stdout carries a kubeconfig or a token lists stdout in additionalSecretOutputs.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    for (const r of args.resources) {
      if (r.type !== types.command) continue;
      const stdout = known(() => r.props.stdout);
      if (typeof stdout !== "string" || !carriesCredentials(stdout)) continue;
      if (!r.opts.additionalSecretOutputs.includes("stdout")) {
        report(
          `${r.name}: stdout carries a kubeconfig or token but is not secret: add additionalSecretOutputs: ["stdout"]`,
          r.urn,
        );
      }
    }
  },
};

/** Whether a resource declares any output secret (`additionalSecretOutputs`, incl. its schema's secrets). */
function hasSecretOutputs(r: PolicyResource): boolean {
  return r.opts.additionalSecretOutputs.length > 0;
}

const kubeconfigFromSecret: StackValidationPolicy = {
  name: "kubeconfig-from-secret",
  description:
    "Every Kubernetes provider has a kubeconfig (an empty one means ~/.kube/config) derived from a secret output.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    for (const r of args.resources) {
      if (r.type !== types.k8sProvider) continue;
      const kubeconfig = known(() => r.props.kubeconfig);
      if (kubeconfig !== undefined && (typeof kubeconfig !== "string" || kubeconfig.trim() === "")) {
        report(`${r.name}: kubeconfig is empty: the provider would silently use ~/.kube/config`, r.urn);
        continue;
      }
      const sources = r.propertyDependencies.kubeconfig ?? [];
      if (!sources.some(hasSecretOutputs)) {
        const names = sources.map((s) => s.name).join(", ") || "none: a literal";
        report(
          `${r.name}: kubeconfig does not come from a secret output (sources: ${names}): read it with a ` +
            'command that has additionalSecretOutputs: ["stdout"]',
          r.urn,
        );
      }
    }
  },
};

const rootKeyOnlyInSigners: StackValidationPolicy = {
  name: "root-key-only-in-signers",
  description:
    "The root CA's private key appears in no resource but its signers (SelfSignedCert, LocallySignedCert).",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const selfSigned = args.resources.filter((r) => r.type === types.selfSignedCert);
    const rootPems = new Set(
      selfSigned.map((c) => known(() => c.props.privateKeyPem)).filter((v) => typeof v === "string"),
    );
    const rootKeys = args.resources.filter(
      (r) => r.type === types.privateKey && rootPems.has(known(() => r.props.privateKeyPem)),
    );
    const signers: string[] = [types.selfSignedCert, types.locallySignedCert];
    for (const key of rootKeys) {
      const forms = ["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"]
        .map((p) => known(() => key.props[p]))
        .filter((v): v is string => typeof v === "string" && v.length > 0)
        .flatMap(encodings);
      for (const r of args.resources) {
        if (r.urn === key.urn || signers.includes(r.type)) continue;
        const hit = strings(r.props).find((s) => forms.some((f) => s.text.includes(f)));
        if (hit) {
          report(
            `${r.name} (${r.type}) holds the root CA key of ${key.name} in ${hit.path}: only SelfSignedCert and ` +
              "LocallySignedCert may take it",
            r.urn,
          );
        }
      }
    }
  },
};

/** Every policy of the pack, in the order `pulumi preview --policy-pack policy` reports them. */
export const policies: (ResourceValidationPolicy | StackValidationPolicy)[] = [
  helmChartVersionExact,
  argocdSourcePinned,
  containerImagePinned,
  vmUserDataVersionsExact,
  vmLaunchDeleteBeforeReplace,
  commandStdoutSecret,
  kubeconfigFromSecret,
  rootKeyOnlyInSigners,
];
