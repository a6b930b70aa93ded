/** An error the CLI reports as one line and a non-zero exit, without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Parse a numeric option, failing with the option's name in the message. */
export function numberOption(name: string, opts: { integer?: boolean; min?: number; max?: number } = {}) {
  return (raw: string): number => {
    const v = Number(raw);
    const bad =
      raw.trim() === '' ||
      !Number.isFinite(v) ||
      (opts.integer && !Number.isInteger(v)) ||
      (opts.min !== undefined && v < opts.min) ||
      (opts.max !== undefined && v > opts.max);
    if (bad) {
      const range = [opts.min, opts.max].some((x) => x !== undefined)
        ? ` in [${opts.min ?? ''}, ${opts.max ?? ''}]`
        : '';
      throw new CliError(
        `option --${name}: expected ${opts.integer ? 'an integer' : 'a number'}${range}, got '${raw}'`,
        2,
      );
    }
    return v;
  };
}
