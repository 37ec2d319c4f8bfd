/**
 * The names of the worker pool's jobs (sim/pool.ts takes them; sim/jobs.ts registers one function
 * for each, and the compiler holds the registry to exactly this list). Kept apart from the registry
 * so that the pool, which every runner imports, does not import the runners back.
 */
export type JobName = 'chains' | 'images' | 'bench' | 'train' | 'sweep-point' | 'sweep-twin' | 'sweep-train' | 'sweep-assemble';
