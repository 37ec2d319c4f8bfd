/**
 * How a config's problems name the values a caller gives beside the config file or preset
 * (sim/config.ts resolveConfig / checkConfig: `sets`, `ideal`): as a library caller gave them
 * (OPTION_NAMES, the default: "sets[0] fabric.L=-1", "ideal"), or as the command line took them
 * (FLAG_NAMES: "--set fabric.L=-1", "--ideal"; the commands, and the sweep planner, which speaks in
 * flags throughout, pass it). Apart from sim/config.ts (and its schema) so that a model check
 * (sim/model.ts checkModelFitsFabric) can say how to change the config without loading it.
 */
export interface ConfigNames {
  /** one of the `sets` (its text, shortened for the message, and its position) */
  set(assignment: string, index: number): string;
  /** how to give a value, in a hint: 'sets: ["fabric.L=16"]', "--set fabric.L=16" */
  give(assignment: string): string;
  /** the `ideal` option */
  ideal: string;
  /** where every problem of the config `ref` is listed */
  listAll(ref: string): string;
}

export const OPTION_NAMES: ConfigNames = {
  set: (a, i) => `sets[${i}] ${a}`,
  give: (a) => `sets: [${JSON.stringify(a)}]`,
  ideal: 'ideal',
  listAll: (ref) => `checkConfig(${JSON.stringify(ref)}, options).problems lists them all`,
};

export const FLAG_NAMES: ConfigNames = {
  set: (a) => `--set ${a}`,
  // quoted for a shell when it holds more than plain words (a rule list: 'fabric.rules=[[0,1],[4,1]]')
  give: (a) => `--set ${/^[\w.=,:+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`}`,
  ideal: '--ideal',
  listAll: (ref) => `dtca config validate ${ref} lists them all`,
};
