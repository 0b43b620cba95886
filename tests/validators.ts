// Real validators, run on what the program generates.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

function tmpFile(name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mpm-"));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

export interface ToolResult {
  ok: boolean;
  output: string;
}

/** Debian's `cloud-init schema` on a user-data document. */
export function cloudInitSchema(userData: string): ToolResult {
  const file = tmpFile("user-data", userData);
  const r = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/** shellcheck on a bash script (text or file). */
export function shellcheck(scriptText: string, name = "script.sh"): ToolResult {
  const file = tmpFile(name, scriptText);
  const r = spawnSync("shellcheck", ["--shell=bash", "--severity=style", file], { encoding: "utf8" });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/** The version line of a tool, so tests fail clearly when .ci/run did not install it. */
export function requireTool(tool: string, args = ["--version"]): string {
  try {
    return execFileSync(tool, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).split("\n")[0];
  } catch (e) {
    throw new Error(
      `${tool} is not installed: run .ci/run (or apt-get install ${tool}) before npm test (${e})`,
    );
  }
}
