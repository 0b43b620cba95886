// Runs the whole Pulumi program (index.ts) under mocks and records every registration the engine would see.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import {
  type MockCallArgs,
  MockMonitor,
  type MockResourceArgs,
  type Mocks,
} from "@pulumi/pulumi/runtime/mocks";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import * as publicSettings from "@pulumi/pulumi/runtime/settings";
import * as publicState from "@pulumi/pulumi/runtime/state";
import { defaultMockCall, defaultMockOutputs } from "./mock-outputs";

// Runtime internals that Pulumi's own mock support uses (marked @internal, so absent from the typings).
const settings = publicSettings as typeof publicSettings & { waitForRPCs(): Promise<void> };
const state = publicState as typeof publicState & { getStore(): Record<string, any> };

export const project = "multi-primary-mesh";
export const stack = "dev";

/** What the engine was told about one resource. */
export interface Registration {
  type: string;
  name: string;
  urn: string;
  custom: boolean;
  parent: string;
  /** URN-less provider reference (`<provider urn>::<id>`) or "" for the default provider. */
  provider: string;
  /** URNs this resource depends on (data edges and dependsOn). */
  dependencies: string[];
  /** Input property -> URNs it was computed from. */
  propertyDependencies: Record<string, string[]>;
  deleteBeforeReplace: boolean;
  additionalSecretOutputs: string[];
  deletedWith: string;
  ignoreChanges: string[];
  replaceOnChanges: string[];
  customTimeouts?: { create: string; update: string; delete: string };
  /** Inputs with secrets unwrapped and unknowns as `undefined`. */
  inputs: Record<string, any>;
  /** Dotted paths of inputs that were sent as secrets. */
  secretInputPaths: string[];
  /** Dotted paths of inputs that were unknown (preview). */
  unknownInputPaths: string[];
}

const secretSigKey = rpc.specialSigKey;

function walk(value: unknown, at: string, secret: string[], unknown: string[]) {
  if (value === rpc.unknownValue) {
    unknown.push(at);
    return;
  }
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) walk(v, `${at}[${i}]`, secret, unknown);
    return;
  }
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (o[secretSigKey] === rpc.specialSecretSig) {
      secret.push(at);
      walk(o.value, at, [], unknown);
      return;
    }
    for (const [k, v] of Object.entries(o)) walk(v, at ? `${at}.${k}` : k, secret, unknown);
  }
}

/** A value with Pulumi's `{<secret signature>, value}` wrappers replaced by their values. */
export function plain(value: any): any {
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") {
    if (value[secretSigKey] === rpc.specialSecretSig) return plain(value.value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

/** A mock monitor that remembers every registration's options, not just its inputs. */
export class RecordingMonitor extends MockMonitor {
  readonly registrations: Registration[] = [];

  override async registerResource(req: any, callback: (err: any, response: any) => void): Promise<void> {
    const raw = req.getObject()?.toJavaScript() ?? {};
    const secretInputPaths: string[] = [];
    const unknownInputPaths: string[] = [];
    walk(raw, "", secretInputPaths, unknownInputPaths);
    const propertyDependencies: Record<string, string[]> = {};
    req.getPropertydependenciesMap().forEach((deps: { getUrnsList(): string[] }, key: string) => {
      propertyDependencies[key] = deps.getUrnsList();
    });
    const timeouts = req.getCustomtimeouts();
    const type = req.getType();
    const name = req.getName();
    const parent = req.getParent();
    this.registrations.push({
      type,
      name,
      urn: "",
      custom: req.getCustom(),
      parent,
      provider: req.getProvider(),
      dependencies: req.getDependenciesList(),
      propertyDependencies,
      deleteBeforeReplace: req.getDeletebeforereplace(),
      additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
      deletedWith: req.getDeletedwith(),
      ignoreChanges: req.getIgnorechangesList(),
      replaceOnChanges: req.getReplaceonchangesList(),
      customTimeouts: timeouts
        ? { create: timeouts.getCreate(), update: timeouts.getUpdate(), delete: timeouts.getDelete() }
        : undefined,
      inputs: plain(rpc.deserializeProperties(req.getObject())),
      secretInputPaths,
      unknownInputPaths,
    });
    const recorded = this.registrations[this.registrations.length - 1];
    return super.registerResource(req, (err, response) => {
      if (response) recorded.urn = response.getUrn();
      callback(err, response);
    });
  }
}

export interface RunOptions {
  /** Raw stack configuration, by key without the project prefix (objects are passed as JSON). */
  config?: Record<string, unknown>;
  /** Run as `pulumi preview`: resources report no outputs, so every computed value is unknown. */
  preview?: boolean;
  /** Extra or replacement outputs for resources, by type and name. */
  outputs?: (args: MockResourceArgs) => Record<string, any> | undefined;
}

export interface LabRun {
  registrations: Registration[];
  /** Stack outputs with secrets unwrapped. */
  outputs: Record<string, any>;
  /** Paths of stack outputs that are secret (`kubeconfig`, `argocd.password`, `clusters[1].ip`). */
  secretOutputs: string[];
}

/**
 * Runs `program` under mocks as the engine would run a Pulumi program, and records every registration.
 * `program` creates resources and returns the stack's exports.
 */
export async function runProgram(
  program: () => Record<string, unknown>,
  options: RunOptions = {},
): Promise<LabRun> {
  const preview = options.preview ?? false;
  const mocks: Mocks = {
    newResource(args: MockResourceArgs) {
      if (preview) return { id: undefined, state: {} };
      const computed = options.outputs?.(args) ?? defaultMockOutputs(args);
      return { id: `${args.name}-id`, state: { ...args.inputs, ...computed } };
    },
    call(args: MockCallArgs) {
      return defaultMockCall(args, preview);
    },
  };
  const monitor = new RecordingMonitor(mocks);
  settings.setMockOptions(monitor, project, stack, preview);
  const store = state.getStore();
  store.supportsSecrets = true;
  store.supportsResourceReferences = true;
  store.supportsOutputValues = false;
  store.supportsDeletedWith = true;
  store.supportsAliasSpecs = true;
  store.supportsTransforms = false;
  store.supportsInvokeTransforms = false;
  store.supportsParameterization = true;

  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.config ?? {})) {
    config[`${project}:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  }
  pulumi.runtime.setAllConfig(config);

  // The stack's own outputs arrive resolved to plain values, secretness lost: keep the program's exports.
  let programExports: Record<string, unknown> = {};
  await pulumi.runtime.runInPulumiStack(async () => {
    programExports = program();
    return programExports;
  });
  await settings.waitForRPCs();

  const outputs: Record<string, any> = {};
  const secretOutputs: string[] = [];
  for (const [k, v] of Object.entries(programExports)) {
    outputs[k] = await resolveDeep(v, k, secretOutputs);
  }
  return { registrations: monitor.registrations, outputs, secretOutputs };
}

/** Runs index.ts once under mocks. Each call re-evaluates the program (and its modules) from scratch. */
export function runLab(options: RunOptions = {}): Promise<LabRun> {
  const entry = path.resolve(__dirname, "..", "index.ts");
  return runProgram(() => {
    for (const key of Object.keys(require.cache)) {
      if (!key.includes("node_modules")) delete require.cache[key];
    }
    return require(entry);
  }, options);
}

/** Whether an output is secret (`isSecret` is internal to the SDK's typings). */
export function isSecret(o: pulumi.Output<unknown>): Promise<boolean> {
  return (o as unknown as { isSecret: Promise<boolean> }).isSecret;
}

/** Resolves outputs nested in plain values, recording the path of every secret one. */
async function resolveDeep(value: unknown, at: string, secrets: string[]): Promise<any> {
  if (pulumi.Output.isInstance(value)) {
    if (await isSecret(value)) secrets.push(at);
    return resolveDeep(await outputValue(value), at, secrets);
  }
  if (Array.isArray(value)) {
    return Promise.all(value.map((v, i) => resolveDeep(v, `${at}[${i}]`, secrets)));
  }
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, any> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await resolveDeep(v, `${at}.${k}`, secrets);
    return out;
  }
  return value;
}

/** The value of an output, or undefined when it is unknown. */
export function outputValue<T>(o: pulumi.Output<T>): Promise<T | undefined> {
  const internal = o as any;
  return internal.promise(true).then((v: T) => (v === rpc.unknownValue ? undefined : v));
}

/** Finds exactly one registration by type and name; fails listing near misses. */
export function find(run: LabRun, type: string, name: string): Registration {
  const hits = run.registrations.filter((r) => r.type === type && r.name === name);
  if (hits.length !== 1) {
    const names = run.registrations.filter((r) => r.type === type).map((r) => r.name);
    throw new Error(
      `expected one ${type} named ${name}, found ${hits.length}; that type has: ${names.join(", ")}`,
    );
  }
  return hits[0];
}

export function ofType(run: LabRun, type: string): Registration[] {
  return run.registrations.filter((r) => r.type === type);
}

export function byUrn(run: LabRun, urn: string): Registration {
  const hit = run.registrations.find((r) => r.urn === urn);
  if (!hit) throw new Error(`no registration has URN ${urn}`);
  return hit;
}

/** Every URN the resource reaches through dependencies, property dependencies and its provider. */
export function ancestors(run: LabRun, reg: Registration): Set<string> {
  const seen = new Set<string>();
  const stackOf = [reg];
  while (stackOf.length > 0) {
    const r = stackOf.pop() as Registration;
    const provider = r.provider ? [r.provider.split("::").slice(0, -1).join("::")] : [];
    const next = [...r.dependencies, ...Object.values(r.propertyDependencies).flat(), ...provider];
    for (const urn of next) {
      if (seen.has(urn)) continue;
      seen.add(urn);
      const dep = run.registrations.find((x) => x.urn === urn);
      if (dep) {
        stackOf.push(dep);
        // A dependency on a component is a dependency on all of its children.
        for (const child of run.registrations.filter((x) => x.parent === urn)) {
          if (!seen.has(child.urn)) {
            seen.add(child.urn);
            stackOf.push(child);
          }
        }
      }
    }
  }
  return seen;
}

/** True when `later` cannot start before `earlier` is done. */
export function dependsOn(run: LabRun, later: Registration, earlier: Registration): boolean {
  return ancestors(run, later).has(earlier.urn);
}

/** The provider registration a resource uses ("" means the default provider). */
export function providerOf(run: LabRun, reg: Registration): Registration | undefined {
  if (!reg.provider) return undefined;
  const urn = reg.provider.split("::").slice(0, -1).join("::");
  return byUrn(run, urn);
}
