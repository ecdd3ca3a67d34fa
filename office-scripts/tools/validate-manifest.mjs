// Check addin/manifest.xml. Microsoft's `office-addin-manifest validate` sends an XML manifest
// to Microsoft's online validation service, which CI cannot reach; so, offline:
//   1. office-addin-manifest reads it (OfficeAddinManifest.readManifestFile, the tool's parser);
//   2. the rules that service would fail us on and that we can see here: every resid points at a
//      resource, every URL is https, the custom-functions extension point is complete, its
//      namespace is FLASKLLM, and functions.json matches the functions that are associated;
//   3. with FLASKLLM_MANIFEST_ONLINE=1 (a machine with internet), the online validation too.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { OfficeAddinManifest, validateManifest } = require("office-addin-manifest");
const HERE = dirname(dirname(fileURLToPath(import.meta.url)));

export async function checkManifest(path = join(HERE, "addin", "manifest.xml")) {
  const problems = [];
  const info = await OfficeAddinManifest.readManifestFile(path);
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(info.id || "")) problems.push(`Id is not a GUID: ${info.id}`);
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(info.version || "")) problems.push(`Version must be n.n.n.n: ${info.version}`);
  if (info.displayName !== "FlaskLLM") problems.push(`DisplayName: ${info.displayName}`);
  if (!(info.hosts || []).includes("Workbook")) problems.push(`Hosts lacks Workbook: ${info.hosts}`);

  const xml = readFileSync(path, "utf8");
  const ids = new Set([...xml.matchAll(/<bt:(?:Image|Url|String) id="([^"]+)"/g)].map((m) => m[1]));
  for (const [, resid] of xml.matchAll(/resid="([^"]+)"/g)) {
    if (!ids.has(resid)) problems.push(`resid "${resid}" has no resource`);
  }
  for (const [, url] of xml.matchAll(/(?:DefaultValue|<AppDomain>)"?(\w+:\/\/[^"<]+)/g)) {
    if (!url.startsWith("https://")) problems.push(`not https: ${url}`);
  }
  for (const part of ["<Script>", "<Page>", "<Metadata>", "<Namespace resid=", 'xsi:type="CustomFunctions"', '<Set Name="SharedRuntime"', 'lifetime="long"']) {
    if (!xml.includes(part)) problems.push(`custom functions in a shared runtime need ${part}`);
  }
  if (!/<bt:String id="Functions.Namespace" DefaultValue="FLASKLLM"\/>/.test(xml)) problems.push("namespace is not FLASKLLM");

  const metadata = JSON.parse(readFileSync(join(HERE, "addin", "functions.json"), "utf8"));
  const declared = metadata.functions.map((f) => f.id).sort();
  const source = readFileSync(join(HERE, "addin", "src", "functions.ts"), "utf8");
  const associated = [...source.matchAll(/CustomFunctions\.associate\("([A-Z0-9.]+)"/g)].map((m) => m[1]).sort();
  if (JSON.stringify(declared) !== JSON.stringify(associated)) {
    problems.push(`functions.json declares ${declared} but functions.ts associates ${associated}`);
  }
  return { info, problems };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { info, problems } = await checkManifest();
  for (const problem of problems) console.error(`manifest: ${problem}`);
  if (process.env.FLASKLLM_MANIFEST_ONLINE === "1") {
    const result = await validateManifest(join(HERE, "addin", "manifest.xml"));
    console.log(`online validation: ${result.isValid ? "accepted" : "REJECTED"} ${JSON.stringify(result.report || result.statusText)}`);
    if (!result.isValid) problems.push("online validation rejected the manifest");
  } else {
    console.log("manifest: online validation skipped (Microsoft's service needs internet; set FLASKLLM_MANIFEST_ONLINE=1 to run it)");
  }
  console.log(`manifest: ${problems.length ? "FAILED" : "ok"} (${info.displayName} ${info.version}, ${info.id})`);
  process.exit(problems.length ? 1 : 0);
}
