// One Multipass VM: launched with its cloud-init user-data (or adopted when it exists), deleted with --purge.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { bash, script } from "./shell";
import { project, type VmRef } from "./types";

export interface MultipassVmArgs {
  /** The Multipass instance name (also the VM's host name). A VM of this name that exists is adopted. */
  vmName: string;
  /** Multipass image, e.g. `22.04`. Changing it replaces the VM. */
  image: string;
  /** Virtual CPUs. Changing it replaces the VM. */
  cpus: number;
  /** Memory in GiB. Changing it replaces the VM. */
  memoryGiB: number;
  /** Disk size in GiB. Changing it replaces the VM. */
  diskGiB: number;
  /** `#cloud-config` user-data, passed on stdin. It runs at first boot only, so changing it replaces the VM. */
  userData: pulumi.Input<string>;
  /** How long `multipass launch` plus cloud-init may take, in seconds. */
  launchTimeoutSeconds: number;
  /**
   * Suspend the VM (`multipass suspend`, its memory back to the host); false resumes it (`multipass start`).
   * While suspended, `ip` is the address the VM had when last seen running.
   * @default false - running.
   */
  suspended?: boolean;
}

/** What `multipass info --format json <name>` says about the VM that matters here. */
interface MultipassInfo {
  info?: Record<string, { ipv4?: string[]; state?: string }>;
}

/** The VM's first IPv4 from `multipass info --format json` output; throws when the VM has none. */
export function ipFromInfo(json: string, vmName: string): string {
  let parsed: MultipassInfo;
  try {
    parsed = JSON.parse(json) as MultipassInfo;
  } catch {
    throw new Error(`multipass info for VM ${vmName} is not JSON: ${JSON.stringify(json.slice(0, 200))}`);
  }
  const vm = parsed.info?.[vmName];
  const ip = vm?.ipv4?.[0];
  if (!ip) {
    throw new Error(
      `VM ${vmName} has no IPv4 address (state ${vm?.state ?? "unknown"}): start it with multipass start ${vmName}`,
    );
  }
  return ip;
}

export class MultipassVm extends pulumi.ComponentResource implements VmRef {
  readonly name: string;
  /** The launch (or adoption) of the VM: its id is new whenever the VM is (re)created. */
  readonly launch: command.local.Command;
  /** The VM's IPv4, read with `multipass info` on every run (preview included once the VM exists). */
  readonly ip: pulumi.Output<string>;
  /** `dpkg --print-architecture` inside the VM. */
  readonly arch: pulumi.Output<string>;
  /** Puts the VM in its power state (running or suspended); prints its address as last seen running. */
  readonly power: command.local.Command;

  constructor(name: string, args: MultipassVmArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${project}:index:MultipassVm`, name, {}, opts);
    for (const key of ["cpus", "memoryGiB", "diskGiB", "launchTimeoutSeconds"] as const) {
      if (!Number.isInteger(args[key]) || args[key] <= 0) {
        throw new pulumi.ResourceError(
          `MultipassVm ${name}: ${key} is ${args[key]}: expected a positive integer`,
          this,
        );
      }
    }
    this.name = args.vmName;
    const vmEnv = { VM_NAME: args.vmName };

    this.launch = new command.local.Command(
      `${name}-launch`,
      {
        interpreter: bash,
        create: script("multipass-vm-launch.sh"),
        delete: script("multipass-vm-delete.sh"),
        stdin: args.userData,
        environment: {
          ...vmEnv,
          VM_IMAGE: args.image,
          VM_CPUS: String(args.cpus),
          VM_MEMORY_GIB: String(args.memoryGiB),
          VM_DISK_GIB: String(args.diskGiB),
          VM_TIMEOUT_SECONDS: String(args.launchTimeoutSeconds),
        },
        // What the VM is made of: any change needs a new VM (cloud-init runs once). The timeout is not here:
        // changing it only re-runs the adopt-and-wait path.
        triggers: [args.vmName, args.image, args.cpus, args.memoryGiB, args.diskGiB, args.userData],
      },
      // The VM name is its identity: the old VM must be gone before the new one launches under that name.
      { parent: this, deleteBeforeReplace: true },
    );

    // Suspends or resumes the VM whenever `suspended` changes (a new VM starts out running).
    this.power = new command.local.Command(
      `${name}-power`,
      {
        interpreter: bash,
        create: script("multipass-vm-power.sh"),
        update: script("multipass-vm-power.sh"),
        environment: { ...vmEnv, VM_POWER: args.suspended ? "suspended" : "running" },
        triggers: [this.launch.id],
      },
      { parent: this },
    );
    const lastSeenIp = this.power.stdout.apply((s) => s.trim());

    // An invoke, not a Command, because it must run on every `up` (Multipass on macOS may hand a VM a new
    // address) without planning a change each time. It waits for the launch and for the power command (its
    // output is an input here, so a preview of a resume, whose output is unknown, skips it); while an input is
    // unknown (a first preview, a pending replacement) the SDK skips it and the IP is unknown. A suspended VM
    // has no address to read: it keeps the one it had.
    this.ip = args.suspended
      ? lastSeenIp
      : command.local
          .runOutput(
            {
              command: script("multipass-vm-info.sh"),
              interpreter: bash,
              environment: { ...vmEnv, VM_LAST_SEEN_IP: lastSeenIp },
            },
            { parent: this, dependsOn: [this.launch] },
          )
          .apply((r) => ipFromInfo(r.stdout, args.vmName));

    const arch = new command.local.Command(
      `${name}-arch`,
      {
        interpreter: bash,
        create: script("multipass-vm-arch.sh"),
        environment: vmEnv,
        triggers: [this.launch.id],
      },
      { parent: this },
    );
    this.arch = arch.stdout.apply((s) => s.trim());

    this.registerOutputs({ name: this.name, ip: this.ip, arch: this.arch });
  }
}
