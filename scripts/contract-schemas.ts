/** `npm run contract:schemas`: writes contract/*.schema.json from the zod schemas. */
import { writeFileSync } from "node:fs";
import { CONTRACT_DOCUMENTS, contractJson } from "../src/contract-schemas.js";

for (const document of CONTRACT_DOCUMENTS) {
  const path = new URL(`../contract/${document.file}`, import.meta.url);
  writeFileSync(path, contractJson(document));
  console.log(`wrote contract/${document.file}`);
}
