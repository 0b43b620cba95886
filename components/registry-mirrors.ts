// Pull-through registry caches on the host (one `registry:2` container per upstream), so that rebuilding the
// lab does not pull every image from the internet again.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { MirrorEndpoint } from "../cloud-init/k3s";
import type { RegistryMirror } from "../config";
import { bash, script } from "./shell";
import { project } from "./types";

export interface RegistryMirrorsArgs {
  /** The caches: upstream registry host, the URL proxied to, and the host port. */
  mirrors: RegistryMirror[];
  /** Image of every cache, pinned (tag or digest), e.g. `registry:2.8.3`. */
  image: string;
}

/** Container name of the cache for one upstream, as the original lab named them. */
export function containerName(upstream: string): string {
  return `registry-${upstream}`;
}

export class RegistryMirrors extends pulumi.ComponentResource {
  /** One Command per cache; it runs (or adopts) the container and removes it on destroy. */
  readonly containers: command.local.Command[];
  /**
   * Where each cache listens on the host. Read back from the containers' own commands, so a consumer waits
   * for the caches to run, yet the value is known in a preview (a Command's inputs are).
   */
  readonly endpoints: pulumi.Output<MirrorEndpoint[]>;

  constructor(name: string, args: RegistryMirrorsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${project}:index:RegistryMirrors`, name, {}, opts);
    if (args.mirrors.length === 0) {
      throw new pulumi.ResourceError(
        `RegistryMirrors ${name}: mirrors is empty: list at least one, or do not create the component`,
        this,
      );
    }
    this.containers = args.mirrors.map(
      (m) =>
        new command.local.Command(
          `${name}-${m.upstream}`,
          {
            interpreter: bash,
            create: script("registry-mirror-run.sh"),
            delete: script("registry-mirror-delete.sh"),
            environment: {
              CONTAINER_NAME: containerName(m.upstream),
              IMAGE: args.image,
              HOST_PORT: String(m.port),
              REMOTE_URL: m.remoteUrl,
            },
            // A different image, port or upstream needs a new container (an adopted one keeps its settings).
            triggers: [args.image, m.port, m.remoteUrl],
          },
          // The container name is its identity: remove the old container before running the new one.
          { parent: this, deleteBeforeReplace: true },
        ),
    );
    this.endpoints = pulumi
      .all(this.containers.map((c) => c.environment))
      .apply((envs) =>
        envs.map((env, i) => ({ upstream: args.mirrors[i].upstream, port: Number(env?.HOST_PORT) })),
      );
    this.registerOutputs({ endpoints: this.endpoints });
  }
}
