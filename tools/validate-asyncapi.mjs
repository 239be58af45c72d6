// Validates an AsyncAPI document with the AsyncAPI Initiative's own parser (@asyncapi/parser):
// prints every diagnostic and exits non-zero on an error. Run by tests/unit/test_asyncapi.py.
//   node tools/validate-asyncapi.mjs docs/asyncapi.json
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(process.env.ASYNCAPI_PARSER_DIR + "/");
const { Parser, DiagnosticSeverity } = require("@asyncapi/parser");

const path = process.argv[2];
const { document, diagnostics } = await new Parser().parse(readFileSync(path, "utf8"));
const names = ["error", "warning", "information", "hint"];
for (const d of diagnostics) {
  console.log(`${names[d.severity]} ${d.code} at ${d.path.join(".")}: ${d.message}`);
}
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
if (!document || errors.length) {
  console.log(`INVALID: ${errors.length} error(s)`);
  process.exit(1);
}
console.log(`VALID: AsyncAPI ${document.version()}, ${document.channels().length} channels, ` +
  `${document.operations().length} operations, ${document.messages().length} messages`);
