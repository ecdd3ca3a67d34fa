// What must hold without a server: the generated files match the spec, a renamed field in the
// spec breaks the scripts' type check, and no token is written into anything we ship.

import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HERE, ROOT } from "./helpers.mjs";
import { PRELUDE, apiTypes, distScript, outputs, typeBlock } from "../tools/build.mjs";
import { TYPINGS, check as checkTypings } from "../tools/excelscript-reference.mjs";

const require = createRequire(import.meta.url);
const ts = require("typescript");

test("generated types, paste-ready scripts and functions.json are what the spec and sources make", async () => {
  for (const [path, text] of await outputs()) {
    assert.equal(readFileSync(path, "utf8"), text, `${path} is stale: run npm run gen in office-scripts/`);
  }
});

test("renaming a field in the spec breaks the scripts until they follow it", async () => {
  const spec = readFileSync(join(ROOT, "spec", "openapi.yaml"), "utf8");
  const renamed = spec.replace(/(\n    ProcessResult:\n      type: object\n      required: \[)summary,/, "$1text_summary,")
    .replace(/(\n    ProcessResult:[\s\S]*?\n      properties:\n        )summary:/, "$1text_summary:");
  assert.notEqual(renamed, spec, "the test's rename found ProcessResult.summary");
  const dir = mkdtempSync(join(tmpdir(), "flaskllm-rename-"));
  writeFileSync(join(dir, "openapi.yaml"), renamed);
  const block = typeBlock(await apiTypes(join(dir, "openapi.yaml")));
  const file = join(dir, "ProcessSelection.ts");
  writeFileSync(file, distScript("ProcessSelection.ts", readFileSync(join(HERE, "scripts", "ProcessSelection.ts"), "utf8"), block));
  const program = ts.createProgram([file, join(HERE, "types", "excelscript.d.ts")],
    { strict: true, noEmit: true, target: ts.ScriptTarget.ES2017, lib: ["lib.es2017.d.ts", "lib.dom.d.ts"], types: [] });
  const messages = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, " "));
  assert.ok(messages.some((m) => /Property 'summary' does not exist/.test(m)), messages.join("\n"));
});

test("a processing type added to the spec breaks the add-in's type check until it follows", async () => {
  const spec = readFileSync(join(ROOT, "spec", "openapi.yaml"), "utf8");
  const added = spec.replace(/(\n    ProcessingType:\n      type: string\n      enum: \[)/, "$1poem, ");
  assert.notEqual(added, spec, "the test's edit found ProcessingType's enum");
  const dir = mkdtempSync(join(tmpdir(), "flaskllm-type-"));
  writeFileSync(join(dir, "openapi.yaml"), added);
  mkdirSync(join(dir, "generated"));
  mkdirSync(join(dir, "types"));
  writeFileSync(join(dir, "generated", "api.ts"), await apiTypes(join(dir, "openapi.yaml")));
  cpSync(join(HERE, "types", "flaskllm-api.d.ts"), join(dir, "types", "flaskllm-api.d.ts"));
  const file = join(dir, "functions.ts");
  cpSync(join(HERE, "addin", "src", "functions.ts"), file);
  const program = ts.createProgram([file, join(dir, "types", "flaskllm-api.d.ts")], {
    strict: true, noEmit: true, target: ts.ScriptTarget.ES2017, lib: ["lib.es2017.d.ts", "lib.dom.d.ts"],
    types: ["office-js", "office-runtime", "custom-functions-runtime"], typeRoots: [join(HERE, "node_modules", "@types")],
  });
  const messages = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, " "));
  assert.ok(messages.some((m) => /Property 'poem' is missing/.test(m)), messages.join("\n"));
});

test("the task pane offers exactly the spec's processing types, in its order", () => {
  const spec = readFileSync(join(ROOT, "spec", "openapi.yaml"), "utf8");
  const names = spec.match(/\n    ProcessingType:\n      type: string\n      enum: \[([^\]]*)\]/)[1].split(",").map((n) => n.trim());
  const pane = readFileSync(join(HERE, "addin", "taskpane.html"), "utf8");
  const select = pane.match(/<select id="type">([\s\S]*?)<\/select>/)[1];
  assert.deepEqual([...select.matchAll(/<option>([^<]*)<\/option>/g)].map((m) => m[1]), names);
});

test("no token in any script, add-in file or manifest", () => {
  const files = [
    ...readdirSync(join(HERE, "scripts")).filter((n) => n.endsWith(".ts")).map((n) => join(HERE, "scripts", n)),
    PRELUDE,
    ...readdirSync(join(HERE, "excel")).map((n) => join(HERE, "excel", n)),
    ...readdirSync(join(HERE, "addin", "src")).map((n) => join(HERE, "addin", "src", n)),
    join(HERE, "addin", "taskpane.html"), join(HERE, "addin", "manifest.xml"), join(HERE, "addin", "functions.json"),
  ];
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    assert.doesNotMatch(text, /fllm_[A-Za-z0-9_-]{20,}/, `${file}: a FlaskLLM token`);
    assert.doesNotMatch(text, /X-API-Token["'`]?\s*:\s*["'`][^"'`$]{8,}["'`]/, `${file}: a literal X-API-Token value`);
    assert.doesNotMatch(text, /["'`][A-Za-z0-9_-]{32,}["'`]/, `${file}: a long secret-looking literal`);
  }
});

test("every type and member of types/excelscript.d.ts is Microsoft's, with its reference page", () => {
  assert.deepEqual(checkTypings(), []);
  const typings = readFileSync(TYPINGS, "utf8");
  assert.doesNotMatch(typings, /CellValue/);
  for (const name of readdirSync(join(HERE, "excel"))) {
    assert.doesNotMatch(readFileSync(join(HERE, "excel", name), "utf8"), /ExcelScript\.CellValue/, name);
  }
});

test("the typings check refuses a type, a signature or a page that is not Microsoft's", () => {
  const dir = mkdtempSync(join(tmpdir(), "flaskllm-typings-"));
  const file = join(dir, "excelscript.d.ts");
  const typings = readFileSync(TYPINGS, "utf8")
    .replace("declare namespace ExcelScript {", "declare namespace ExcelScript {\n  type CellValue = string | number | boolean;")
    .replace("getValues(): (string | number | boolean)[][];", "getValues(): CellValue[][];")
    .replace(/\n *\/\/ [^\n]*getname-member\(1\)\n/, "\n");
  writeFileSync(file, typings);
  const problems = checkTypings(file);
  assert.ok(problems.some((p) => /ExcelScript\.\(TypeAliasDeclaration\): not a type of Microsoft's/.test(p)), problems.join("\n"));
  assert.ok(problems.some((p) => /Range\.getValues\(\): CellValue\[\]\[\]: not in Microsoft's declarations/.test(p)), problems.join("\n"));
  assert.ok(problems.some((p) => /Worksheet\.getName: no comment naming .*getname-member\(1\)/.test(p)), problems.join("\n"));
});

test("each paste-ready script carries the one shared prelude, and no retry loop of its own", () => {
  const prelude = readFileSync(PRELUDE, "utf8").trimEnd();
  for (const name of readdirSync(join(HERE, "excel"))) {
    const text = readFileSync(join(HERE, "excel", name), "utf8");
    assert.equal(text.split(prelude).length, 2, `${name}: the prelude once`);
    const own = text.replace(prelude, "");
    assert.doesNotMatch(own, /headers\.get\("Retry-After"\)|for \(let attempt|await fetch\(/, `${name}: HTTP handling outside the prelude`);
  }
});
