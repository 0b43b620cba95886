// The shell scripts the program runs live in scripts/ as files, so shellcheck and the stand-in tests
// run exactly what Pulumi runs. Values reach them through `environment`, never by splicing.
import * as fs from "node:fs";
import * as path from "node:path";

/** Directory of the scripts the program runs. */
export const scriptsDir = path.join(__dirname, "..", "scripts");

/** The text of `scripts/<name>`. */
export function script(name: string): string {
  return fs.readFileSync(path.join(scriptsDir, name), "utf8");
}

/** Interpreter for every command: scripts are bash with `set -euo pipefail`. */
export const bash = ["/bin/bash", "-c"];
