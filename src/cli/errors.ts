// One place that turns any error into the one line a user sees and the exit code scripts see.
import { EXIT, UserError } from './common.js';

/** Errors from the stages that already name the file and the line or offset: shown as they are. */
const INPUT_ERRORS = new Set(['ReportParseError', 'PeFormatError', 'TagSyntaxError', 'CaptureDecodeError']);
/** Errors of the installation or platform, not of the input: one line, exit 70 like other internal errors. */
const ENVIRONMENT_ERRORS = new Set(['WorkerStartError']);

export function handleCommandError(err: unknown): number {
  if (err instanceof UserError) {
    process.stderr.write(`whose-tag: ${err.message}\n`);
    return err.exitCode;
  }
  const e = err as Error | undefined;
  if (e && INPUT_ERRORS.has(e.name)) {
    process.stderr.write(`whose-tag: ${e.message}\n`);
    return EXIT.usage;
  }
  if (e && ENVIRONMENT_ERRORS.has(e.name)) {
    process.stderr.write(`whose-tag: ${e.message}\n`);
    return EXIT.internal;
  }
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
    process.stderr.write(`whose-tag: ${e!.message}\n`);
    return EXIT.usage;
  }
  process.stderr.write(`whose-tag: internal error: ${e?.stack ?? String(err)}\n`);
  return EXIT.internal;
}
