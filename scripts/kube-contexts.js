#!/usr/bin/env node
// Merges the lab's kube contexts into the user's kubeconfig (`merge`), or takes them out again (`remove`).
// Only entries named like the lab's contexts are replaced or removed; everything else in the file stays.
// Values: KUBECONFIG_PATH (`~` is $HOME), LAB_KUBECONFIG (a kubeconfig holding every lab context; secret,
// never printed), PULUMI_COMMAND_STDOUT (the previous run's summary: contexts no longer in the lab are removed).
// Prints a one-line JSON summary {path, contexts}, which holds no secret.

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const yaml = require("js-yaml");

function fail(message) {
  process.stderr.write(`kube-contexts: ${message}\n`);
  process.exit(1);
}

function expandHome(p) {
  const home = process.env.HOME || os.homedir();
  if (p === "~") return home;
  if (p.startsWith("~/")) return path.join(home, p.slice(2));
  return p;
}

function load(file) {
  if (!fs.existsSync(file)) return {};
  const doc = yaml.load(fs.readFileSync(file, "utf8"));
  if (doc === undefined || doc === null) return {};
  if (typeof doc !== "object" || Array.isArray(doc))
    fail(`${file} is not a kubeconfig (expected a YAML mapping)`);
  return doc;
}

function save(file, doc) {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, yaml.dump(doc), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

const sections = ["clusters", "users", "contexts"];

/** Removes the named contexts, and the clusters and users of the same names, from doc. */
function without(doc, names) {
  const out = { ...doc };
  for (const s of sections) {
    if (Array.isArray(doc[s])) out[s] = doc[s].filter((e) => !names.has(e?.name));
  }
  if (names.has(out["current-context"])) out["current-context"] = "";
  return out;
}

function previousContexts() {
  try {
    const prev = JSON.parse(process.env.PULUMI_COMMAND_STDOUT || "{}");
    return Array.isArray(prev.contexts) ? prev.contexts : [];
  } catch {
    return [];
  }
}

const action = process.argv[2];
const target = expandHome(process.env.KUBECONFIG_PATH || fail("KUBECONFIG_PATH is not set"));
const lab = yaml.load(process.env.LAB_KUBECONFIG || fail("LAB_KUBECONFIG is not set"));
if (!lab || !Array.isArray(lab.contexts) || lab.contexts.length === 0)
  fail("LAB_KUBECONFIG holds no context");
const names = lab.contexts.map((c) => c.name);

if (action === "merge") {
  const before = load(target);
  const doc = without(before, new Set([...previousContexts(), ...names]));
  doc.apiVersion = doc.apiVersion || "v1";
  doc.kind = doc.kind || "Config";
  for (const s of sections) doc[s] = [...(doc[s] || []), ...(lab[s] || [])];
  // Keep the user's current context when it is still there; otherwise start on the first lab context.
  const current = before["current-context"];
  doc["current-context"] = doc["current-context"] || (names.includes(current) ? current : names[0]);
  save(target, doc);
} else if (action === "remove") {
  if (fs.existsSync(target)) save(target, without(load(target), new Set(names)));
} else {
  fail(`unknown action ${JSON.stringify(action)}: expected merge or remove`);
}
process.stdout.write(`${JSON.stringify({ path: target, contexts: action === "merge" ? names : [] })}\n`);
