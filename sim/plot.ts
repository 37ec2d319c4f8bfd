/** Charts (stub: being written): energy breakdown per stage as energy.svg / energy.png. */

export interface StageEnergy {
  stage: number;
  energy_j: Record<string, number>;
}

/** Writes energy.svg and energy.png into dir; returns the paths written. */
export async function writeEnergyChart(_dir: string, _stages: StageEnergy[]): Promise<string[]> {
  return [];
}
