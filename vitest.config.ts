import { defineConfig } from 'vitest/config';
import { UNIT, SYSTEM, ALL } from './test/tiers.js';

// Three projects (test/tiers.ts says what goes where): `vitest run` runs them all,
// `vitest run --project unit` (npm run test:unit) the in-process tier alone.
export default defineConfig({
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
