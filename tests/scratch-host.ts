// Scratch hosts for the scripts the program runs: stand-ins of multipass and docker first on PATH, with their
// state (tests/stand-ins/), and a scratch root for the scripts that run inside a VM.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { bash, script } from "../components/shell";

const standIns = path.join(__dirname, "stand-ins");

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A scratch host: a PATH with only the chosen stand-ins (plus the system's basic tools), their state, and
 * helpers to run the program's scripts as its Commands do and to arrange situations in the stand-ins.
 */
export function scratchHost(tools: ("multipass" | "docker")[] = ["multipass"]) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "mpm-host-"));
  const bin = path.join(root, "bin");
  const state = path.join(root, "state");
  fs.mkdirSync(bin);
  fs.mkdirSync(state);
  for (const t of tools) fs.symlinkSync(path.join(standIns, t), path.join(bin, t));
  const log = path.join(state, "calls.log");
  const env = (extra: Record<string, string>) => ({
    PATH: `${bin}:/usr/bin:/bin`,
    STANDIN_STATE: state,
    HOME: root,
    ...extra,
  });
  /** Runs a stand-in directly, to arrange a situation; its calls are not counted. */
  const arrange = (tool: string, ...args: string[]) => {
    const r = spawnSync(path.join(bin, tool), args, { env: env({}), encoding: "utf8" });
    if (r.status !== 0) throw new Error(`arranging ${tool} ${args.join(" ")}: ${r.stderr}`);
    fs.rmSync(log, { force: true });
  };
  return {
    root,
    state,
    arrange,
    /** The folder of VM `name` in the multipass stand-in. */
    vmDir: (name: string) => path.join(state, "multipass", name),
    /** Launches VM `name` in the stand-in (its IP is 192.168.64.<n+2>, n VMs before it). */
    launch: (name: string) => arrange("multipass", "launch", "--name", name, "22.04"),
    /** Runs scripts/<name> exactly as the Command does (`/bin/bash -c <text>`), values in the environment. */
    run(name: string, extra: Record<string, string>, stdin = ""): Result {
      const r = spawnSync(bash[0], [...bash.slice(1), script(name)], {
        env: env(extra),
        input: stdin,
        encoding: "utf8",
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    /** Calls made to the stand-ins since the last time this was asked. */
    calls(): string[] {
      const lines = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : [];
      fs.rmSync(log, { force: true });
      return lines;
    },
  };
}

/**
 * Runs an in-VM script (scripts/<name>) as root in a VM would, against a scratch root: ROOT prefixes its
 * paths, and the in-VM stand-ins (tests/stand-ins/mesh-vm: dpkg, apt-get, curl, git, go, systemctl, chown)
 * come first on PATH.
 */
export function scratchVm() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mpm-vm-"));
  const root = path.join(dir, "root");
  const state = path.join(dir, "state");
  fs.mkdirSync(root);
  fs.mkdirSync(state);
  const log = path.join(state, "calls.log");
  return {
    root,
    state,
    run(name: string, extra: Record<string, string>): Result {
      const r = spawnSync(bash[0], [...bash.slice(1), script(name)], {
        env: {
          PATH: `${path.join(standIns, "mesh-vm")}:/usr/bin:/bin`,
          STANDIN_STATE: state,
          HOME: dir,
          ROOT: root,
          ...extra,
        },
        encoding: "utf8",
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    calls(): string[] {
      const lines = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : [];
      fs.rmSync(log, { force: true });
      return lines;
    },
  };
}
