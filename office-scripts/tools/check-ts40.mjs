// Excel compiles Office Scripts with TypeScript 4.0.3 and refuses `any`, explicit or implicit.
// Check each paste-ready script in excel/ alone, with that compiler and only the ExcelScript API:
// the project's typings (types/excelscript.d.ts), or Microsoft's own declarations with
//   node tools/check-ts40.mjs --against PATH/office-scripts-docs.d.ts
// (OfficeDev/office-scripts-docs-reference, generate-docs/script-inputs/; not in this repository).

import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const ts = require("typescript-4.0");
const HERE = dirname(dirname(fileURLToPath(import.meta.url)));
const against = process.argv.indexOf("--against");
const EXCELSCRIPT = against > 0 ? process.argv[against + 1] : join(HERE, "types", "excelscript.d.ts");
const OPTIONS = { strict: true, noEmit: true, target: ts.ScriptTarget.ES2017, lib: ["lib.es2017.d.ts", "lib.dom.d.ts"], types: [] };

let failures = 0;
for (const name of readdirSync(join(HERE, "excel")).filter((n) => n.endsWith(".ts")).sort()) {
  const file = join(HERE, "excel", name);
  const program = ts.createProgram([file, EXCELSCRIPT], OPTIONS);
  const problems = ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${d.file.fileName.replace(HERE + "/", "")}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : "";
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
  });
  // Excel's own rules, on the syntax tree: no explicit `any`, and the entry point it calls.
  const source = program.getSourceFile(file);
  let main = false;
  const visit = (node) => {
    if (node.kind === ts.SyntaxKind.AnyKeyword) {
      problems.push(`${name}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1} explicit any (Excel refuses it)`);
    }
    if (ts.isFunctionDeclaration(node) && node.name && node.name.text === "main" && node.parent === source) {
      const first = node.parameters[0];
      main = first !== undefined && first.type !== undefined && first.type.getText() === "ExcelScript.Workbook";
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  if (!main) problems.push(`${name}: no top-level function main(workbook: ExcelScript.Workbook)`);
  for (const line of problems) console.error(line);
  failures += problems.length;
  console.log(`${name}: ${problems.length ? "FAILED" : "ok"} with TypeScript ${ts.version} against ${EXCELSCRIPT.replace(HERE + "/", "")}`);
}
process.exit(failures ? 1 : 0);
