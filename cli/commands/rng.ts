/**
 * `dtca rng [config]`: characterise the RNG circuit model as the paper characterises its measured
 * RNG (transfer curve, autocorrelation, bit rate and energy, mismatch spread over the chip's cells).
 * Prints a short table (or the JSON report with --json) and writes a directory with rng.json,
 * rng-transfer.svg/png and rng-autocorr.svg/png (plus the resolved config.json and manifest.json).
 */
import type { Argv } from 'yargs';
import { join } from 'node:path';
import { UserError } from '../../fabric/errors.js';
import { characteriseRng, type RngReport } from '../../rng/characterise.js';
import { sigmoid } from '../../rng/telegraph.js';
import { loadConfig, withConfigOptions } from '../common.js';
import type { Session } from '../session.js';
import { eng } from '../../sim/stats.js';
import { prepareRunDir, writeJson, writeManifest } from '../../sim/io/output.js';
import { writeChart, siPrefix, type ChartSpec } from '../../sim/io/plot.js';

interface RngArgs {
  config?: string;
  set?: string[];
  ideal?: boolean;
  json?: boolean;
  out?: string;
  cells?: number;
  cell?: number;
}

/** value ± se in the unit that suits the value. */
function pm(v: number, se: number, unit: string): string {
  const m = Math.max(Math.abs(v), se);
  // below the smallest prefix (atto) fixed decimals print only zeros ("0.000000 ± 0.000000 aV" at 1e-30 K)
  if (m > 0 && m < 1e-18) return `${v.toExponential(3)} ± ${se.toExponential(1)} ${unit}`;
  const { scale, prefix } = siPrefix(m);
  const d = se > 0 ? Math.max(0, Math.min(6, 1 - Math.floor(Math.log10(se / scale)))) : 3;
  return `${(v / scale).toFixed(d)} ± ${(se / scale).toFixed(d)} ${prefix}${unit}`;
}

const pct = (v: number, d = 2) => `${(100 * v).toFixed(d)} %`;

/**
 * The measured bit rate: 1/tau, or the bit rate when that limits it (tau below one bit time: 1/tau
 * was printed alone, above the configured bit rate, without a word; "unlimited" at tau = 0).
 */
function bitRateText(r: RngReport): string {
  const x = r.rate;
  if (x.rate_limited_by === 'tau') return `${eng(x.independent_bit_rate_hz, 'Hz')} (1/tau)`;
  const why =
    x.decorrelated_bit_rate_hz === null
      ? 'tau = 0: every bit fresh'
      : `1/tau = ${eng(x.decorrelated_bit_rate_hz, 'Hz')}: tau is below one bit time, ${eng(1 / x.bit_rate_hz, 's')}`;
  return `${eng(x.independent_bit_rate_hz, 'Hz')}, limited by the bit rate (${why})`;
}

export function formatRngReport(r: RngReport, name: string, dir?: string): string {
  const c = r.configured;
  const f = r.transfer.fit;
  const ac = r.autocorrelation.fit;
  const dev = r.device === 'nominal' ? 'nominal device' : `cell ${r.device.cell}`;
  const rows: [string, string, string][] = [
    ['config', `${name} (${dev}, T = ${c.temperature_k} K)`, ''],
    ['', 'measured', 'configured (paper)'],
    [
      'relaxation time tau',
      ac.tau_s > 0 ? pm(ac.tau_s, ac.tau_se_s, 's') : `0 s (lag-1 autocorrelation ${r.autocorrelation.lag1_rho.toFixed(4)})`,
      `${eng(c.tau_rng_s, 's')} (≈ 100 ns)`,
    ],
    [
      'slope V_s',
      pm(f.v_s_v, f.v_s_se_v, 'V'),
      `${eng(r.device_truth.v_s_v, 'V')} = n kT/q${r.device === 'nominal' ? '' : ' x mismatch'}, n = ${c.subthreshold_n}`,
    ],
    ['offset V_off', pm(f.v_off_v, f.v_off_se_v, 'V'), eng(r.device_truth.v_off_v, 'V')],
    ['transfer fit', `chi2/dof = ${(f.chi2 / f.dof).toFixed(2)} (${f.dof} dof)`, ''],
    ['bit rate', bitRateText(r), `${eng(c.bit_rate_hz, 'Hz')} (≈ 10 MHz)`],
    [
      'energy per bit',
      r.rate.rate_limited_by === 'tau'
        ? `${eng(r.rate.energy_per_independent_bit_j, 'J')} (power x tau)`
        : `${eng(r.rate.energy_per_independent_bit_j, 'J')} (power / bit rate: every bit independent)`,
      `${eng(c.energy_per_bit_j, 'J')} (≈ 350 aJ)`,
    ],
    ['RNG power', `${eng(r.rate.power_w, 'W')} on, ${eng(r.rate.average_power_w, 'W')} at duty ${c.duty}`, ''],
  ];
  const m = r.mismatch;
  if (m) {
    rows.push(
      ['mismatch', `${m.cells_sampled} of ${m.cells_total} cells fitted`, 'sigma'],
      [
        '  V_off spread',
        `${pm(m.v_off_v.sd_corrected, m.v_off_v.sd_corrected_se, 'V')} (fit noise ${eng(m.v_off_v.fit_se_rms, 'V', 3)} removed)`,
        eng(c.v_off_sigma_v, 'V'),
      ],
      [
        '  V_s spread',
        `${pct(m.v_s_rel.sd_corrected)} ± ${pct(m.v_s_rel.sd_corrected_se)} (fit noise ${pct(m.v_s_rel.fit_se_rms)} removed)`,
        pct(c.v_s_sigma_rel),
      ],
      ['  mean V_off, V_s', `${eng(m.v_off_v.mean, 'V', 3)}, ${eng(m.v_s_rel.mean_v, 'V')}`, ''],
    );
  } else {
    rows.push(['mismatch', 'off (rng.v_off_sigma_v = rng.v_s_sigma_rel = 0)', '']);
  }
  if (dir) rows.push(['run directory', dir, '']);
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  return rows.map(([a, b, cc]) => `${a.padEnd(w0)}  ${cc ? b.padEnd(w1) + '  ' + cc : b}`.trimEnd()).join('\n') + '\n';
}

/** Measured P(1) with ±2 SE bars and the fitted sigmoid, against dV = V - V_off,nominal. */
export function transferChartSpec(r: RngReport): ChartSpec {
  const f = r.transfer.fit;
  const pts = r.transfer.points;
  const maxDv = Math.max(...pts.map((p) => Math.abs(p.dv_v)));
  const { scale, prefix } = siPrefix(maxDv);
  const lo = pts[0].dv_v;
  const hi = pts[pts.length - 1].dv_v;
  const fitLabel = `fit: V_s = ${eng(f.v_s_v, 'V')}, V_off = ${eng(f.v_off_v, 'V', 2)}`;
  const measLabel = 'simulated (±2 SE)';
  const measured = pts.map((p) => ({
    dv: p.dv_v / scale,
    p1: p.p1,
    lo: Math.max(0, p.p1 - 2 * p.se),
    hi: Math.min(1, p.p1 + 2 * p.se),
    series: measLabel,
  }));
  const curve = Array.from({ length: 241 }, (_, k) => {
    const dv = lo + ((hi - lo) * k) / 240;
    return { dv: dv / scale, p1: sigmoid((dv - f.v_off_v) / f.v_s_v), series: fitLabel };
  });
  const color = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: { domain: [measLabel, fitLabel], range: ['#1f77b4', '#d62728'] },
    legend: { orient: 'top-left' },
  } as const;
  const x = { field: 'dv', type: 'quantitative', title: `ΔV = V − V_off,nominal (${prefix}V)` } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'RNG transfer curve: P(1) = σ((ΔV − V_off) / V_s)',
      subtitle: `T = ${r.configured.temperature_k} K, ${r.transfer.samples_per_point} samples per point, dt = ${eng(r.transfer.dt_s, 's')}`,
    },
    width: 480,
    height: 300,
    layer: [
      {
        data: { values: curve },
        mark: { type: 'line', strokeWidth: 2 },
        encoding: { x, y: { field: 'p1', type: 'quantitative', title: 'P(output = 1)', scale: { domain: [0, 1] } }, color },
      },
      { data: { values: measured }, mark: { type: 'rule' }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color } },
      { data: { values: measured }, mark: { type: 'point', filled: true, size: 30 }, encoding: { x, y: { field: 'p1', type: 'quantitative' }, color } },
    ],
  } as ChartSpec;
}

/** Measured autocorrelation at u = 0 and the fitted exp(-lag / tau). */
export function autocorrChartSpec(r: RngReport): ChartSpec {
  const ac = r.autocorrelation;
  const maxLag = ac.lags[ac.lags.length - 1].lag_s;
  const { scale, prefix } = siPrefix(maxLag);
  const tau = ac.fit.tau_s;
  const fitLabel = `fit: exp(−lag / τ), τ = ${eng(tau, 's')}`;
  const measLabel = 'simulated';
  const measured = ac.lags.map((l) => ({ lag: l.lag_s / scale, rho: l.rho, series: measLabel }));
  const curve = Array.from({ length: 201 }, (_, k) => {
    const lag = (maxLag * k) / 200;
    return { lag: lag / scale, rho: tau > 0 ? Math.exp(-lag / tau) : lag === 0 ? 1 : 0, series: fitLabel };
  });
  const color = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: { domain: [measLabel, fitLabel], range: ['#1f77b4', '#d62728'] },
    legend: { orient: 'top-right' },
  } as const;
  const x = { field: 'lag', type: 'quantitative', title: `lag (${prefix}s)` } as const;
  const y = { field: 'rho', type: 'quantitative', title: 'autocorrelation of the output' } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'RNG output autocorrelation at P(1) = 1/2', subtitle: `${ac.segments} x ${ac.samples_per_segment} samples, dt = ${eng(ac.dt_s, 's')}` },
    width: 480,
    height: 300,
    layer: [
      { data: { values: curve }, mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y, color } },
      { data: { values: measured }, mark: { type: 'point', filled: true, size: 40 }, encoding: { x, y, color } },
    ],
  } as ChartSpec;
}

function optInt(name: string, v: number | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < min || v > max) throw new UserError(`--${name} ${v}: must be an integer in [${min}, ${max}]`);
  return v;
}

async function cmdRng(a: RngArgs, s: Session): Promise<void> {
  const { log } = s;
  const cfg = loadConfig(a);
  const N = cfg.fabric.L * cfg.fabric.L;
  const cells = optInt('cells', a.cells, 2, N);
  const cell = optInt('cell', a.cell, 0, N - 1);
  const dir = prepareRunDir(a.out, `rng`);
  const started = new Date();
  const t0 = performance.now();
  const report = characteriseRng(cfg, { cells, cell });
  const wall = (performance.now() - t0) / 1000;
  writeJson(join(dir, 'config.json'), cfg);
  writeJson(join(dir, 'rng.json'), report);
  await writeChart(transferChartSpec(report), join(dir, 'rng-transfer'));
  await writeChart(autocorrChartSpec(report), join(dir, 'rng-autocorr'));
  writeManifest(dir, cfg.seed, started);
  log.info({ dir, wall_s: Number(wall.toFixed(3)) }, 'rng characterisation written');
  process.stdout.write(a.json ? JSON.stringify(report, null, 2) + '\n' : formatRngReport(report, cfg.name, dir));
}

export function rngCommand<T>(y: Argv<T>, s: Session): Argv<T> {
  return y.command(
    'rng [config]',
    'characterise the RNG circuit model (transfer curve, autocorrelation, bit rate, energy, mismatch)',
    (yy) =>
      withConfigOptions(yy)
        .option('cells', { type: 'number', describe: 'cells whose transfer curves are fitted for the mismatch spread (default 256)' })
        .option('cell', { type: 'number', describe: 'characterise this fabricated cell instead of the nominal device' })
        .option('out', { type: 'string', describe: 'output directory (default runs/<time>-rng)' })
        .option('json', { type: 'boolean', default: false, describe: 'print the report (rng.json) to stdout' }),
    (a) => cmdRng(a as never, s),
  );
}
