// Everything in office-scripts/ that is derived from something else, made in one place:
//
//   spec/openapi.yaml ──openapi-typescript──▶ generated/api.ts
//   scripts/*.ts + scripts/shared/prelude.ts + generated types ─▶ excel/*.ts
//                                               (paste-ready single-file Office Scripts)
//   addin/src/functions.ts ─custom-functions-metadata─▶ addin/functions.json
//
// `node tools/build.mjs` writes them; `node tools/build.mjs --check` writes nothing and fails
// when a committed file differs from what it would write, so a change to the spec (a renamed
// field, say) that was not regenerated fails the test command instead of a user's workbook.

import { readFileSync, writeFileSync, readdirSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";
import { generateCustomFunctionsMetadata } from "custom-functions-metadata";

const HERE = dirname(dirname(fileURLToPath(import.meta.url)));
const SPEC = join(HERE, "..", "spec", "openapi.yaml");
const GENERATED = join(HERE, "generated", "api.ts");
const ALIASES = join(HERE, "types", "flaskllm-api.d.ts");
const SCRIPTS = join(HERE, "scripts");
// The settings sheet, the HTTP call with its retries, problem formatting: one copy, in every script.
export const PRELUDE = join(SCRIPTS, "shared", "prelude.ts");
const DIST = join(HERE, "excel");
const FUNCTIONS_SRC = join(HERE, "addin", "src", "functions.ts");
const FUNCTIONS_JSON = join(HERE, "addin", "functions.json");

const BANNER = "// Generated from spec/openapi.yaml by `npm run gen` (office-scripts/tools/build.mjs). Do not edit.\n";

// JSDoc comments (the spec's prose) are left out: the types then change only when the contract
// does, so rewording a description in the spec does not make the committed files stale.
const JSDOC = /[ \t]*\/\*\*[\s\S]*?\*\/[ \t]*\n/g;

export async function apiTypes(spec = SPEC) {
  const ast = await openapiTS(pathToFileURL(spec));
  return BANNER + "\n" + astToString(ast).replace(JSDOC, "");
}

/** The generated `components.schemas` without comments, then the aliases of
 * types/flaskllm-api.d.ts: the types a script names, as plain TypeScript 4.0 (what Excel runs). */
export function typeBlock(api) {
  const start = api.indexOf("export interface components {");
  const end = api.indexOf("\n}\n", start);
  if (start < 0 || end < 0) {
    throw new Error("generated/api.ts has no `export interface components {…}`");
  }
  // Only `schemas`: the aliases name nothing else, and a pasted script should stay short.
  const schemasStart = api.indexOf("\n    schemas: {\n", start);
  const schemasEnd = api.indexOf("\n    };\n", schemasStart);
  if (schemasStart < 0 || schemasEnd < 0 || schemasEnd > end) {
    throw new Error("generated/api.ts: components has no `schemas: {…}`");
  }
  const components = ("interface components {" + api.slice(schemasStart, schemasEnd + 7) + "}")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .join("\n");
  const aliases = readFileSync(ALIASES, "utf8")
    .split("\n")
    .filter((line) => /^type \w+ = components\[/.test(line));
  return [
    "// ---- FlaskLLM API types, generated from spec/openapi.yaml. Do not edit. ----",
    components,
    ...aliases,
    "// ---- End of the generated types. ----",
  ].join("\n");
}

export function distScript(name, source, block, prelude = readFileSync(PRELUDE, "utf8")) {
  return [
    `// ${name}: a FlaskLLM Office Script for Excel (Automate ▸ New script: paste this whole file).`,
    "// Built by `npm run gen` from office-scripts/scripts/" + name + ", scripts/shared/prelude.ts and",
    "// spec/openapi.yaml. Do not edit here.",
    "",
    source.trimEnd(),
    "",
    prelude.trimEnd(),
    "",
    block,
    "",
  ].join("\n");
}

async function functionsJson() {
  const result = await generateCustomFunctionsMetadata(FUNCTIONS_SRC, false);
  if (result.errors && result.errors.length) {
    throw new Error("custom-functions-metadata: " + result.errors.join("\n"));
  }
  return JSON.stringify(JSON.parse(result.metadataJson), null, 2) + "\n";
}

export async function outputs() {
  const api = await apiTypes();
  const block = typeBlock(api);
  const files = new Map([[GENERATED, api]]);
  for (const name of readdirSync(SCRIPTS).filter((n) => n.endsWith(".ts")).sort()) {
    files.set(join(DIST, name), distScript(name, readFileSync(join(SCRIPTS, name), "utf8"), block));
  }
  if (existsSync(FUNCTIONS_SRC)) {
    files.set(FUNCTIONS_JSON, await functionsJson());
  }
  return files;
}

async function cli() {
  const check = process.argv.includes("--check");
  const files = await outputs();
  const stale = [];
  for (const [path, text] of files) {
    const current = existsSync(path) ? readFileSync(path, "utf8") : null;
    if (current === text) {
      continue;
    }
    if (check) {
      stale.push(relative(HERE, path));
    } else {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
      console.log(`wrote ${relative(HERE, path)}`);
    }
  }
  if (stale.length) {
    console.error(`Stale files, not what spec/openapi.yaml and the sources make now:\n  ${stale.join("\n  ")}\n` +
      "Run `npm run gen` in office-scripts/ and commit the result.");
    process.exit(1);
  }
  if (check) {
    console.log(`generated files are up to date (${files.size} checked)`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await cli();
}
