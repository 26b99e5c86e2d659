/** `npm run contract:schemas`: writes contract/*.schema.json from the zod schemas, and contract/openapi.json. */
import { writeFileSync } from "node:fs";
import {
  CONTRACT_DOCUMENTS,
  contractJson,
  OPENAPI_FILE,
  openApiJson,
} from "../src/contract-schemas.js";

for (const document of CONTRACT_DOCUMENTS) {
  const path = new URL(`../contract/${document.file}`, import.meta.url);
  writeFileSync(path, contractJson(document));
  console.log(`wrote contract/${document.file}`);
}
writeFileSync(new URL(`../contract/${OPENAPI_FILE}`, import.meta.url), openApiJson());
console.log(`wrote contract/${OPENAPI_FILE}`);
