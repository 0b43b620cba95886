// What the mocked engine answers for resources and invokes that compute outputs. Each component's tests
// rely on the entries here; keep one entry per kind of resource, keyed by type and name suffix.
import type { MockCallArgs, MockResourceArgs } from "@pulumi/pulumi/runtime/mocks";

/** Computed outputs of a resource in a normal (non-preview) run. */
export function defaultMockOutputs(args: MockResourceArgs): Record<string, unknown> {
  switch (args.type) {
    case "command:local:Command":
      return { stdout: "", stderr: "" };
    default:
      return {};
  }
}

/** Answers to invokes (functions). Nothing in the program may call an unmocked one. */
export function defaultMockCall(args: MockCallArgs, _preview: boolean): Record<string, unknown> {
  throw new Error(`unmocked invoke ${args.token}: add it to tests/mock-outputs.ts`);
}
