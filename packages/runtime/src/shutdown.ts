// Signals while a daemon runs: the first SIGINT/SIGTERM asks for a graceful stop, or goes to
// the exec child while one runs; one more while stopping ends the process at once.

/** What a signal is forwarded to: the running exec child. */
export interface SignalTarget {
  kill(signal: NodeJS.Signals): boolean;
}

/** Where signals come from (the process, or an emitter in tests). */
export interface SignalSource {
  on(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

/** Options of a {@link Shutdown}. */
export interface ShutdownOptions {
  /** Fires on the first signal (the CLI aborts it); its reason is the signal's name. */
  signal: AbortSignal;
  /** Called on a signal after the first while no child runs (default: exit 1 at once). */
  onRepeat?: (signal: NodeJS.Signals) => void;
  /** The signals handled (default SIGINT and SIGTERM). */
  signals?: readonly NodeJS.Signals[];
  /** Where they come from (default `process`). */
  source?: SignalSource;
}

/**
 * The shutdown of a long-running command. `requested` resolves with the first signal;
 * while `child` is set every signal is forwarded to it instead (its exit is what ends the
 * command, with its exit code). Call `release()` once the command is done.
 */
export class Shutdown {
  /** Resolves with the signal that asked for the stop. */
  readonly requested: Promise<NodeJS.Signals>;
  /** Set while an exec child runs: signals go to it. */
  child: SignalTarget | undefined;
  private readonly signals: readonly NodeJS.Signals[];
  private readonly source: SignalSource;
  private readonly onAbort: () => void;
  private count = 0;

  constructor(private readonly options: ShutdownOptions) {
    this.signals = options.signals ?? ["SIGINT", "SIGTERM"];
    this.source = options.source ?? process;
    let resolve!: (sig: NodeJS.Signals) => void;
    this.requested = new Promise((r) => (resolve = r));
    this.onAbort = () => resolve((options.signal.reason as NodeJS.Signals | undefined) ?? "SIGTERM");
    if (options.signal.aborted) this.onAbort();
    else options.signal.addEventListener("abort", this.onAbort, { once: true });
    for (const sig of this.signals) this.source.on(sig, this.onSignal);
  }

  private readonly onSignal = (sig: NodeJS.Signals): void => {
    if (this.child) {
      this.child.kill(sig);
      return;
    }
    this.count++;
    if (this.count > 1) (this.options.onRepeat ?? (() => process.exit(1)))(sig);
  };

  /** Stops listening: signals are the CLI's own again. */
  release(): void {
    this.options.signal.removeEventListener("abort", this.onAbort);
    for (const sig of this.signals) this.source.off(sig, this.onSignal);
  }
}
