// `npm run lint` (make lint-spec): Spectral (spectral:oas + OWASP, .spectral.yaml) and Redocly
// (recommended, redocly.yaml) over openapi.yaml. Fails on any error or warning of either.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = (name) => path.join(here, "node_modules", ".bin", name);
const spec = process.argv[2] ?? "openapi.yaml";
// Offline and quiet: no telemetry, no update check (the tests run without the internet).
const env = { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" };

function run(command, args) {
  const done = spawnSync(command, args, { cwd: here, env, encoding: "utf8" });
  if (done.error) throw done.error;
  return done;
}

let failed = false;

const spectral = run(bin("spectral"), ["lint", "--ruleset", ".spectral.yaml", "--fail-severity",
  "hint", "--format", "text", spec]);
process.stdout.write(spectral.stdout);
process.stderr.write(spectral.stderr);
if (spectral.status !== 0) failed = true;
console.log(`spectral: ${spectral.status === 0 ? "no problems" : "problems above"}`);

const redocly = run(bin("redocly"), ["lint", "--config", "redocly.yaml", "--format", "json",
  "--max-problems", "1000", spec]);
let report;
try {
  report = JSON.parse(redocly.stdout);
} catch {
  process.stderr.write(redocly.stdout + redocly.stderr);
  throw new Error("redocly printed no JSON report");
}
for (const p of report.problems) {
  const where = p.location.map((l) => `${l.source.ref}:${l.start?.line ?? "?"} ${l.pointer}`);
  console.log(`${where.join(", ")} ${p.severity} ${p.ruleId}: ${p.message}`);
}
const { errors, warnings, ignored } = report.totals;
console.log(`redocly: ${errors} errors, ${warnings} warnings (${ignored} ignored, see .redocly.lint-ignore.yaml)`);
if (errors || warnings) failed = true;

process.exit(failed ? 1 : 0);
