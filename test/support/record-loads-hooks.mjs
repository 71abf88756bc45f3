// Module hooks (they run on Node's hooks thread): append each resolved URL to
// the file named by COLDPOOL_TEST_LOADS. CommonJS require() calls are not
// seen by these hooks on Node 20, only imports; the test asks about imports.
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (process.env.COLDPOOL_TEST_LOADS) appendFileSync(process.env.COLDPOOL_TEST_LOADS, `${resolved.url}\n`);
  return resolved;
}
