// The check that types/excelscript.d.ts declares Microsoft's ExcelScript API and nothing else.
//
// Microsoft publishes its declarations in the public repository OfficeDev/office-scripts-docs-
// reference (generate-docs/script-inputs/office-scripts-docs.d.ts, the file the reference pages
// on learn.microsoft.com are generated from); no npm package ships them. So:
//
//   node tools/excelscript-reference.mjs derive PATH/office-scripts-docs.d.ts [COMMIT]
//     writes types/excelscript-reference.txt: every member of each interface and enum that
//     types/excelscript.d.ts names, with its signature as Microsoft declares it (facts only:
//     the file itself is not copied here). Run it again after adding an interface.
//   node tools/excelscript-reference.mjs check
//     (and test/static.test.mjs) fails when a type, enum or member of types/excelscript.d.ts is
//     not in that list with the same signature, or has no comment naming its reference page.
//
// Signatures are compared as TypeScript prints them without comments, on one line.

import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const ts = require("typescript");
const HERE = dirname(dirname(fileURLToPath(import.meta.url)));
export const TYPINGS = join(HERE, "types", "excelscript.d.ts");
export const REFERENCE = join(HERE, "types", "excelscript-reference.txt");
const PAGES = "learn.microsoft.com/javascript/api/office-scripts/excelscript/";
const printer = ts.createPrinter({ removeComments: true, newLine: ts.NewLineKind.LineFeed });

/** Each interface and enum of namespace ExcelScript in `file`: name → { kind, node, members }. */
function declarations(file) {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const found = new Map();
  const visit = (node) => {
    if (ts.isModuleDeclaration(node) && node.name.text === "ExcelScript" && node.body) {
      for (const statement of node.body.statements) {
        if (ts.isInterfaceDeclaration(statement) || ts.isEnumDeclaration(statement)) {
          found.set(statement.name.text, {
            kind: ts.isEnumDeclaration(statement) ? "enum" : "interface", node: statement, source,
            members: statement.members.map((member) => ({ member, signature: signature(member, source) })),
          });
        } else {
          found.set(`(${ts.SyntaxKind[statement.kind]})`, { kind: "other", node: statement, source, members: [] });
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function signature(member, source) {
  if (ts.isEnumMember(member)) return member.name.getText(source);
  return printer.printNode(ts.EmitHint.Unspecified, member, source).replace(/\s+/g, " ").replace(/;$/, "").trim();
}

/** The reference page of a member, as the comment above it must name it. */
export function page(type, member, kind) {
  const base = `${PAGES}excelscript.${type.toLowerCase()}`;
  if (kind === "enum" || member === undefined) return base;
  return `${base}#excelscript-excelscript-${type.toLowerCase()}-${member.toLowerCase()}-member(1)`;
}

export function derive(microsoftFile, commit = "") {
  const ours = declarations(TYPINGS);
  const theirs = declarations(microsoftFile);
  const lines = [
    "# Microsoft's ExcelScript signatures, for the types that types/excelscript.d.ts declares.",
    `# Derived by tools/excelscript-reference.mjs from OfficeDev/office-scripts-docs-reference${commit ? "@" + commit : ""}`,
    "# generate-docs/script-inputs/office-scripts-docs.d.ts. Do not edit: derive it again.",
  ];
  for (const name of [...ours.keys()].filter((n) => !n.startsWith("(")).sort()) {
    const declared = theirs.get(name);
    if (!declared) throw new Error(`Microsoft's declarations have no ExcelScript.${name}`);
    lines.push(`${declared.kind} ${name}`);
    for (const { signature: text } of declared.members) lines.push(`${name}.${text}`);
  }
  writeFileSync(REFERENCE, lines.join("\n") + "\n");
  return lines.length;
}

/** What in types/excelscript.d.ts is not Microsoft's, as messages (empty: all is). */
export function check(typings = TYPINGS) {
  const listed = new Set(readFileSync(REFERENCE, "utf8").split("\n").filter((l) => l && !l.startsWith("#")));
  const problems = [];
  for (const [name, { kind, node, source, members }] of declarations(typings)) {
    if (kind === "other" || !listed.has(`${kind} ${name}`)) {
      problems.push(`ExcelScript.${name}: not a ${kind === "other" ? "type" : kind} of Microsoft's ExcelScript API`);
      continue;
    }
    if (!comments(node, source).includes(page(name))) problems.push(`ExcelScript.${name}: no comment naming ${page(name)}`);
    for (const { member, signature: text } of members) {
      if (!listed.has(`${name}.${text}`)) problems.push(`ExcelScript.${name}.${text}: not in Microsoft's declarations with this signature`);
      const url = page(name, member.name.getText(source), kind);
      if (!comments(member, source).includes(url)) problems.push(`ExcelScript.${name}.${member.name.getText(source)}: no comment naming ${url}`);
    }
  }
  return problems;
}

function comments(node, source) {
  const text = source.getFullText();
  return (ts.getLeadingCommentRanges(text, node.getFullStart()) || []).map((c) => text.slice(c.pos, c.end)).join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [command, file, commit] = process.argv.slice(2);
  if (command === "derive" && file) {
    console.log(`wrote ${derive(file, commit)} lines to types/excelscript-reference.txt`);
  } else if (command === "check") {
    const problems = check();
    for (const line of problems) console.error(line);
    console.log(problems.length ? `${problems.length} problems` : "types/excelscript.d.ts: every member is Microsoft's");
    process.exit(problems.length ? 1 : 0);
  } else {
    console.error("usage: node tools/excelscript-reference.mjs derive PATH/office-scripts-docs.d.ts [COMMIT] | check");
    process.exit(2);
  }
}
