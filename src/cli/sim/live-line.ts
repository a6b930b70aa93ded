/**
 * A one-line live status on stderr, redrawn in place (cli-progress; on a terminal only, so
 * pipes and logs get just the final summary): a bar over the run's duration when it has one.
 */
import cliProgress from 'cli-progress';

export interface LiveLine {
  /** Redraws with this text (and the elapsed seconds on the bar). */
  update(elapsedS: number, text: string): void;
  stop(): void;
}

export function liveLine(label: string, durationS: number | undefined): LiveLine {
  const bar = new cliProgress.SingleBar(
    {
      format:
        durationS === undefined
          ? `${label} {elapsed}s | {text}`
          : `${label} {bar} {elapsed}/{total}s | {text}`,
      stream: process.stderr,
      hideCursor: true,
      barsize: 20,
      linewrap: false,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(durationS ?? 0, 0, { text: '', elapsed: '0' });
  return {
    update(elapsedS, text) {
      const shown = durationS === undefined ? elapsedS : Math.min(elapsedS, durationS);
      bar.update(Math.floor(shown), { text, elapsed: shown.toFixed(0) });
    },
    stop() {
      bar.stop();
    },
  };
}
