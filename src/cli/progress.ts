/*
 * The one formatter of progress (src/core/progress.ts): a Tracker keeps the current phase and
 * its smoothed rate, and `plainLine` / `barLine` turn it into text. Pure (time is passed in),
 * so that rate, ETA and layout are unit-tested; src/cli/output.ts decides when to print what.
 *
 * The bar is drawn here and shown as ora's text rather than by a bar library (cli-progress and
 * the like): ora already owns the progress line (warnings and log lines clear and redraw it),
 * and two libraries redrawing the same terminal line would tear each other's output.
 */
import type { Progress } from '../core/progress.js';

/** Off a terminal, one progress line at most this often (a phase change is printed at once). */
export const PLAIN_EVERY_MS = 5_000;
/** The rate is an exponential moving average over about this long, so one slow page does not swing the ETA. */
const RATE_WINDOW_MS = 5_000;
/** Samples closer together than this are not used for the rate (their noise would dominate). */
const MIN_SAMPLE_MS = 250;
const BAR_MAX = 30;
const BAR_MIN = 8;

export interface Figures {
  /** 0..100, when the phase has a total. */
  percent?: number;
  /** Units per second, smoothed. */
  rate?: number;
  /** Seconds left at the smoothed rate, when the phase has a total and a rate. */
  etaSeconds?: number;
  /** Seconds since the phase began. */
  elapsedSeconds: number;
}

/** The current phase and its rate: `update` with each report, `figures` when printing. */
export class Tracker {
  private current?: Progress;
  private started = 0;
  private sampleAt = 0;
  private sampleDone = 0;
  private smoothed?: number;

  /** Takes a report; true when it starts a new phase (another name or scope). */
  update(p: Progress, now: number): boolean {
    const fresh = !this.current || this.current.phase !== p.phase || this.current.scope !== p.scope;
    if (fresh) {
      this.started = now;
      this.sampleAt = now;
      this.sampleDone = p.done ?? 0;
      this.smoothed = undefined;
    } else if (p.done !== undefined && now - this.sampleAt >= MIN_SAMPLE_MS) {
      const dt = now - this.sampleAt;
      const instant = ((p.done - this.sampleDone) * 1000) / dt;
      // Weighted by how long the sample covers: irregular reports smooth the same way.
      const alpha = 1 - Math.exp(-dt / RATE_WINDOW_MS);
      this.smoothed = this.smoothed === undefined ? instant : alpha * instant + (1 - alpha) * this.smoothed;
      this.sampleAt = now;
      this.sampleDone = p.done;
    }
    this.current = { ...p };
    return fresh;
  }

  get progress(): Readonly<Progress> | undefined {
    return this.current;
  }

  figures(now: number): Figures {
    const p = this.current;
    const elapsedSeconds = Math.max(0, (now - this.started) / 1000);
    if (!p) return { elapsedSeconds };
    // Before the first sample, the average since the phase began; after it, the time since the
    // last sample counts too, so that a phase that stalls shows its rate falling and its ETA growing.
    let rate = this.smoothed ?? (p.done !== undefined && elapsedSeconds >= 0.2 ? (p.done - this.sampleDone) / elapsedSeconds : undefined);
    const dt = now - this.sampleAt;
    if (this.smoothed !== undefined && p.done !== undefined && dt >= MIN_SAMPLE_MS) {
      const alpha = 1 - Math.exp(-dt / RATE_WINDOW_MS);
      rate = alpha * (((p.done - this.sampleDone) * 1000) / dt) + (1 - alpha) * this.smoothed;
    }
    const f: Figures = { elapsedSeconds, ...(rate !== undefined && rate > 0 && Number.isFinite(rate) ? { rate: Math.max(0, rate) } : {}) };
    if (p.done !== undefined && p.total !== undefined && p.total > 0) {
      f.percent = Math.min(100, Math.max(0, (p.done / p.total) * 100));
      const left = Math.max(0, p.total - p.done);
      if (left === 0) f.etaSeconds = 0;
      else if (f.rate !== undefined && f.rate > 0) f.etaSeconds = left / f.rate;
    }
    return f;
  }
}

const int = (x: number) => Math.round(x).toLocaleString('en');
const mb = (b: number) => (b / 1e6).toFixed(1);
/** A rate: whole above 10, one decimal below (0.4 films/s is not 0). */
const rateNumber = (r: number) => (r >= 10 ? int(r) : r.toFixed(1));

/** 42s, 3m05s, 2h07m. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The figures of a report, in order: amount, percent, rate, ETA, the running count; or the phase's time. */
function parts(p: Progress, f: Figures): { amount?: string; percent?: string; rest: string[] } {
  const bytes = p.unit === 'bytes';
  const unit = bytes ? 'MB' : (p.unit ?? '');
  const num = bytes ? mb : int;
  const rest: string[] = [];
  let amount: string | undefined;
  if (p.done !== undefined) {
    amount = p.total !== undefined ? `${num(p.done)}/${num(p.total)} ${unit}`.trimEnd() : `${num(p.done)} ${unit}`.trimEnd();
    if (f.rate !== undefined) rest.push(`${rateNumber(bytes ? f.rate / 1e6 : f.rate)} ${unit}/s`);
    if (f.etaSeconds !== undefined) rest.push(`ETA ${duration(f.etaSeconds)}`);
  }
  if (p.count) rest.push(`${int(p.count.n)} ${p.count.unit}`);
  if (p.total === undefined || p.done === undefined) rest.push(duration(f.elapsedSeconds));
  return { amount, percent: f.percent !== undefined ? `${Math.floor(f.percent)}%` : undefined, rest };
}

const title = (p: Progress) => (p.scope ? `${p.scope}: ${p.phase}` : p.phase);

/**
 * One line for a log (off a terminal):
 * `reading fixture: 26.6/59.0 MB (45%), 12.1 MB/s, ETA 3s, 98,000 objects`, or `committing: 12s`.
 */
export function plainLine(p: Progress, f: Figures): string {
  const { amount, percent, rest } = parts(p, f);
  const head = [amount && percent ? `${amount} (${percent})` : amount, ...rest].filter(Boolean).join(', ');
  return `${title(p)}: ${head}`;
}

/**
 * The terminal's line, fitted to `columns` (the spinner takes 2 more):
 * `reading fixture ▕██████░░░░░░▏ 45% 26.6/59.0 MB · 12.1 MB/s · ETA 3s · 98,000 objects`.
 */
export function barLine(p: Progress, f: Figures, columns: number): string {
  const { amount, percent, rest } = parts(p, f);
  const tail = [amount, ...rest].filter(Boolean).join(' · ');
  const room = columns - 3;
  if (f.percent === undefined) return fit(`${title(p)} · ${tail}`, room);
  const bare = `${title(p)}  ${percent!.padStart(4)} ${tail}`;
  const width = Math.min(BAR_MAX, room - bare.length - 2);
  if (width < BAR_MIN) return fit(bare.replace('  ', ' '), room);
  const full = Math.round((f.percent / 100) * width);
  return `${title(p)} ▕${'█'.repeat(full)}${'░'.repeat(width - full)}▏${percent!.padStart(4)} ${tail}`;
}

const fit = (text: string, room: number) => (text.length <= room ? text : `${text.slice(0, Math.max(0, room - 1))}…`);
