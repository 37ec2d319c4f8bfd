/**
 * Engine choice: the only file that knows every engine. `auto` takes the fastest engine that can
 * run the configuration — the many-chain engine for several chains with quantised weights, the
 * single-chain WebAssembly engine otherwise, the reference engine where no WebAssembly runs —
 * and says why it passed over the others. An explicit choice that cannot run is an error, never a
 * silent fallback.
 */
import { OptionError } from '../fabric/errors.js';
import { EngineRefusal, type EngineChoice, type EngineKind, type EngineSpec, type LatchEngine } from './engine.js';
import { ReferenceEngine } from './reference.js';
import { WasmEngine } from './wasm/engine.js';
import { TiledEngine, tilesRefusal, type TileModel } from './wasm/tiles.js';
import { BatchEngine, batchRefusal } from './wasm/batch/engine.js';
import type { WeightBits } from './planes.js';

export interface EngineRequest {
  choice: EngineChoice;
  /** chains the caller wants to run at once (the engine may hold fewer: its capacity) */
  chains: number;
  /** the chip's weight precision (the many-chain engine needs quantised weights) */
  weightBits: WeightBits;
  /**
   * one chain split by bands of rows over this many threads (cells/wasm/tiles.ts): for the
   * single-chain WebAssembly engine (auto or wasm) when the request holds one chain
   */
  tiles?: number;
  /**
   * the bands of the split chain and the lag of their boundary (cells/wasm/tiles.ts TileModel);
   * a lag changes the model, so a request with one that no engine can honour is an error
   */
  tileModel?: Partial<TileModel>;
}

export interface EngineSelection {
  engine: LatchEngine;
  requested: EngineChoice;
  /** engines passed over, with the reason (auto), in the order tried */
  refused: { engine: EngineKind; reason: string }[];
}

function make(kind: EngineKind, spec: EngineSpec, req: EngineRequest, refused: EngineSelection['refused']): LatchEngine {
  if (kind === 'reference') return new ReferenceEngine(spec, Math.max(1, req.chains));
  if (kind === 'wasm') {
    const lag = req.tileModel?.lag ?? 0;
    if (lag > 0 && (req.tiles === undefined || req.chains > 1))
      throw new OptionError('tiles', req.tiles, 'a late chip boundary (lag) needs one chain split into tiles');
    if (req.tiles !== undefined && req.chains <= 1) {
      const why = tilesRefusal(spec, req.tiles, 1, req.tileModel);
      if (!why) return new TiledEngine(spec, req.tiles, req.tileModel);
      if (lag > 0) throw new OptionError('tiles', req.tiles, why);
      // one chain on one thread instead: said, not silent
      refused.push({ engine: 'wasm', reason: `one chain over ${req.tiles} threads: ${why}` });
    }
    return new WasmEngine(spec, Math.max(1, req.chains));
  }
  const why = batchRefusal(spec, req.weightBits);
  if (why) throw new EngineRefusal(why);
  return new BatchEngine(spec, Math.max(1, req.chains), req.weightBits as number);
}

export function createEngine(spec: EngineSpec, req: EngineRequest): EngineSelection {
  const refused: EngineSelection['refused'] = [];
  if (req.choice !== 'auto') {
    try {
      return { engine: make(req.choice, spec, req, refused), requested: req.choice, refused };
    } catch (e) {
      if (e instanceof EngineRefusal) throw new OptionError('engine', req.choice, e.message);
      throw e;
    }
  }
  const order: EngineKind[] = req.chains >= 2 ? ['batch', 'wasm', 'reference'] : ['wasm', 'reference'];
  for (const kind of order) {
    try {
      return { engine: make(kind, spec, req, refused), requested: 'auto', refused };
    } catch (e) {
      if (!(e instanceof EngineRefusal)) throw e;
      refused.push({ engine: kind, reason: e.message });
    }
  }
  throw new Error('no engine can run this configuration');
}
