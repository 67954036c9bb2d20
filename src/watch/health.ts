/** One index's trouble, as /healthz reports it: the cycle failing, or a retry under way in it. */
interface IndexTrouble {
  failure?: string;
  retrying?: string;
}

/**
 * What /healthz says, from each index's own state: unhealthy as soon as one of its cycles is
 * failing (a retry in progress counts: it may go on for the whole --max-retry-time) or its
 * oldest pending change is older than --max-lag; healthy again when every index has had a
 * successful cycle since and is within the lag. Reasons name the index (its alias).
 */
export class WatchHealth {
  private readonly trouble = new Map<string, IndexTrouble>();

  constructor(
    /** The watched indexes: logical name (as the gauges label it) and alias. */
    private readonly indexes: ReadonlyArray<{ name: string; alias: string }>,
    private readonly maxLagSeconds: number,
    private readonly lagOf: (name: string) => number,
  ) {
    for (const i of indexes) this.trouble.set(i.name, { failure: 'no cycle yet' });
  }

  retrying(name: string, message: string): void {
    this.trouble.get(name)!.retrying = message;
  }

  failed(name: string, reason: string): void {
    this.trouble.set(name, { failure: reason });
  }

  /** Capture's own trouble (a lost slot, one past --max-slot-lag), for every index; undefined: none. */
  private captureTrouble: string | undefined;
  capture(problem: string | undefined): void {
    this.captureTrouble = problem;
  }

  /**
   * Until the watch has connected to both servers and holds its locks, /healthz says what it is
   * waiting for ("engine unreachable: …"); undefined once started.
   */
  private startupTrouble: string | undefined = 'starting: connecting to PostgreSQL and the engine';
  starting(problem: string | undefined): void {
    this.startupTrouble = problem;
  }

  succeeded(name: string): void {
    this.trouble.set(name, {});
  }

  check(): { ok: boolean; reason: string } {
    if (this.startupTrouble) return { ok: false, reason: this.startupTrouble };
    const problems: string[] = this.captureTrouble ? [`capture: ${this.captureTrouble}`] : [];
    for (const i of this.indexes) {
      const t = this.trouble.get(i.name)!;
      const lag = this.lagOf(i.name);
      if (t.failure) problems.push(`${i.alias}: ${t.failure}`);
      else if (t.retrying) problems.push(`${i.alias}: retrying: ${t.retrying}`);
      if (lag > this.maxLagSeconds) problems.push(`${i.alias}: oldest pending change is ${lag.toFixed(1)} s old (--max-lag ${this.maxLagSeconds})`);
    }
    return problems.length ? { ok: false, reason: problems.join('; ') } : { ok: true, reason: 'every index in step: last cycles succeeded' };
  }
}
