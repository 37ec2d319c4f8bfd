/**
 * How train()'s problems name its options `out`, `resume` and `stages` (sim/train/train.ts, and the
 * checkpoints it reads and locks, checkpoint.ts): as a library caller gave them (TRAIN_OPTION_NAMES,
 * the default: "out = m.mp", "pass resume: true"), or as `dtca train` took them
 * (TRAIN_FLAG_NAMES: "--out m.mp", "add --resume", "--train-stages"; sim/train/design.ts, what
 * dtca train and the sweep's model cache run, passes it). The same style as sim/config-names.ts.
 */
export interface TrainNames {
  /** the model file, with its path, where a message is about it: "out = m.mp", "--out m.mp" */
  out(path: string): string;
  /** the model file option in a hint: "choose another out", "choose another --out" */
  outName: string;
  /** the resume option */
  resume: string;
  /** how to ask for a resume, in a hint: "pass resume: true", "add --resume" */
  addResume: string;
  /** the option naming the stages to train */
  stages: string;
  /** what to resume with, in a hint: "the same options", "the same command" */
  same: string;
  /** how to make a Fashion-MNIST DTM, in a hint */
  fmnistModel: string;
  /** a trainer option (a run key's name: epochs, alpha, acpLambda0, ...) as the caller gave it */
  option(key: string): string;
}

/** train()'s option names that dtca train spells otherwise */
const FLAG_OF: Record<string, string> = { alpha: '--lr-floor', acpLambda0: '--acp-lambda', T: '--stages', config: 'the config', model: 'the model' };

export const TRAIN_OPTION_NAMES: TrainNames = {
  out: (path) => `out = ${path}`,
  outName: 'out',
  resume: 'resume',
  addResume: 'pass resume: true',
  stages: 'stages',
  same: 'the same options',
  fmnistModel: "newDtmModel({ visible: 'fmnist', ... })",
  option: (key) => key,
};

export const TRAIN_FLAG_NAMES: TrainNames = {
  out: (path) => `--out ${path}`,
  outName: '--out',
  resume: '--resume',
  addResume: 'add --resume',
  stages: '--train-stages',
  same: 'the same command',
  fmnistModel: 'dtca model new --visible fmnist',
  option: (key) => FLAG_OF[key] ?? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
};
