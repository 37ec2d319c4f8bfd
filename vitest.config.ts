import { defineConfig } from 'vitest/config';
import { UNIT, SYSTEM, ALL } from './test/tiers.js';

// Three projects (test/tiers.ts says what goes where): `vitest run` runs them all,
// `vitest run --project unit` (npm run test:unit) the in-process tier alone.
// Nothing goes into node_modules (npm would then find its record of node_modules out of date and
// rebuild the package on the next `npx dtca`): the cache here, and package.json's test scripts
// load this file with --configLoader runner (no bundled copy in node_modules/.vite-temp).
export default defineConfig({
  cacheDir: '.vitest-cache',
  test: {
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT } },
      { extends: true, test: { name: 'cli', include: [ALL], exclude: [...UNIT, ...SYSTEM] } },
      { extends: true, test: { name: 'system', include: SYSTEM } },
    ],
  },
});
