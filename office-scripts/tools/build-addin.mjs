// Build the add-in for hosting: addin/dist/ gets functions.js and taskpane.js (the TypeScript
// with its types erased: plain browser scripts, nothing bundled), taskpane.html, functions.json,
// the icons, and manifest.xml with every https://localhost:3000/ replaced by the base URL given:
//
//   npm run build:addin -- https://your-name.pythonanywhere.com/addin/
//
// Host addin/dist/ at that URL (HTTPS), then sideload dist/manifest.xml (docs/excel.md).

import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const ts = require("typescript");
const HERE = dirname(dirname(fileURLToPath(import.meta.url)));
const ADDIN = join(HERE, "addin");
const DIST = join(ADDIN, "dist");
const DEV_BASE = "https://localhost:3000/";

export function buildAddin(base = DEV_BASE, out = DIST) {
  if (!/^https:\/\/[^\s"<>]+\/$/.test(base)) {
    throw new Error(`the base URL must start with https:// and end with / (got ${base})`);
  }
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const name of readdirSync(join(ADDIN, "src")).filter((n) => n.endsWith(".ts"))) {
    const js = ts.transpileModule(readFileSync(join(ADDIN, "src", name), "utf8"), {
      compilerOptions: { target: ts.ScriptTarget.ES2017, module: ts.ModuleKind.None },
    }).outputText;
    writeFileSync(join(out, name.replace(/\.ts$/, ".js")), js);
  }
  cpSync(join(ADDIN, "taskpane.html"), join(out, "taskpane.html"));
  cpSync(join(ADDIN, "functions.json"), join(out, "functions.json"));
  cpSync(join(ADDIN, "assets"), join(out, "assets"), { recursive: true });
  const manifest = readFileSync(join(ADDIN, "manifest.xml"), "utf8");
  writeFileSync(join(out, "manifest.xml"), manifest.split(DEV_BASE).join(base)
    .split(DEV_BASE.slice(0, -1)).join(base.replace(/^(https:\/\/[^/]+).*$/, "$1")));
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = buildAddin(process.argv[2] || DEV_BASE);
  console.log(`built ${out} for ${process.argv[2] || DEV_BASE}`);
}
