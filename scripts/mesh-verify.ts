// `npm run verify`: runs the mesh check again against the live lab, with the plan of the last `up`
// (`pulumi stack output meshCheck`), and prints the tally and endpoints per client, or what failed.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  checkEnvironment,
  MeshCheckError,
  type MeshCheckPlan,
  runJudgement,
  tallyText,
} from "../components/mesh-check-logic";

/** The passphrase file scripts/lab.sh makes, unless the caller gives a passphrase. */
function pulumiEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  const file = path.join(os.homedir(), ".pulumi", "multi-primary-mesh.passphrase");
  if (
    env.PULUMI_CONFIG_PASSPHRASE === undefined &&
    !env.PULUMI_CONFIG_PASSPHRASE_FILE &&
    fs.existsSync(file)
  ) {
    env.PULUMI_CONFIG_PASSPHRASE_FILE = file;
  }
  return env;
}

function main(): number {
  let plan: MeshCheckPlan | undefined;
  try {
    const stack = process.env.PULUMI_STACK ?? "dev";
    const out = JSON.parse(
      execFileSync("pulumi", ["stack", "output", "meshCheck", "--json", "--stack", stack], {
        encoding: "utf8",
        env: pulumiEnv(),
      }),
    );
    plan = out?.plan;
  } catch (e) {
    console.error(
      `cannot read the stack output meshCheck (has \`pulumi up\` run with meshCheckEnabled?): ${e}`,
    );
    return 2;
  }
  if (!plan) {
    console.error("the stack output meshCheck has no plan: run `pulumi up` with meshCheckEnabled first");
    return 2;
  }
  const collect = spawnSync("bash", [path.join(__dirname, "mesh-check.sh")], {
    encoding: "utf8",
    env: { ...process.env, ...checkEnvironment(plan, Number(process.env.WAIT_SECONDS ?? 60)) },
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (collect.status !== 0) {
    console.error(`scripts/mesh-check.sh failed (exit ${collect.status})`);
    return 1;
  }
  try {
    const report = runJudgement(plan, collect.stdout);
    for (const [client, tally] of Object.entries(report.tally)) {
      console.log(`${client}: GET ${plan.service.name}/get x${plan.requests}\n${tallyText(tally)}`);
      console.log(`${client}: endpoints\n${report.endpoints[client].map((e) => `  ${e}`).join("\n")}\n`);
    }
    console.log("mesh check passed");
    return 0;
  } catch (e) {
    if (e instanceof MeshCheckError) {
      console.error(e.message);
      return 1;
    }
    throw e;
  }
}

process.exit(main());
