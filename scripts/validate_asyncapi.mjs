// Validates an AsyncAPI document with the official parser (@asyncapi/parser, what the
// AsyncAPI CLI's `validate` runs), installed by scripts/test into .cache/asyncapi.
// Usage: node scripts/validate_asyncapi.mjs FILE
// Prints every diagnostic; exits 1 when there is an error (warnings and hints pass), 2 when
// it cannot run (no file given, or the parser is not installed).
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const modules = path.join(root, ".cache", "asyncapi");
const SEVERITY = ["error", "warning", "info", "hint"];

const file = process.argv[2];
if (!file) {
  console.error("usage: node scripts/validate_asyncapi.mjs FILE");
  process.exit(2);
}

let Parser;
try {
  ({ Parser } = createRequire(path.join(modules, "package.json"))("@asyncapi/parser"));
} catch (error) {
  console.error(
    `@asyncapi/parser is not installed in ${modules} (${error.code ?? error.message}): ` +
      "run scripts/test, which installs it",
  );
  process.exit(2);
}

const source = path.resolve(file);
let text;
try {
  text = await readFile(source, "utf8");
} catch (error) {
  console.error(`cannot read ${file}: ${error.message}`);
  process.exit(2);
}
const { document, diagnostics } = await new Parser().parse(text, { source });
for (const d of diagnostics) {
  const where = d.path.length ? d.path.join("/") : "(document)";
  const line = d.range ? `:${d.range.start.line + 1}` : "";
  console.log(`${SEVERITY[d.severity] ?? d.severity} ${d.code} at ${where}${line}: ${d.message}`);
}
const errors = diagnostics.filter((d) => d.severity === 0).length;
if (errors > 0 || document === undefined) {
  console.log(`${file}: invalid (${errors} error(s))`);
  process.exit(1);
}
console.log(`${file}: valid AsyncAPI ${document.version()}`);
