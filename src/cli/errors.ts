// One place that turns any error into the one line a user sees and the exit code scripts see.
import { EXIT, UserError } from './common.js';
import { printable } from '../tag.js';

/** One line, whatever the message holds: control bytes (a newline from an argument included) as \xNN. */
const say = (message: string) => process.stderr.write(`whose-tag: ${printable(message)}\n`);

/** Errors from the stages that already name the file and the line or offset: shown as they are. */
const INPUT_ERRORS = new Set(['ReportParseError', 'PeFormatError', 'TagSyntaxError', 'CaptureDecodeError']);
/** Errors of the installation or platform, not of the input: one line, exit 70 like other internal errors. */
const ENVIRONMENT_ERRORS = new Set(['WorkerStartError']);

export function handleCommandError(err: unknown): number {
  if (err instanceof UserError) {
    say(err.message);
    return err.exitCode;
  }
  const e = err as Error | undefined;
  if (e && INPUT_ERRORS.has(e.name)) {
    say(e.message);
    return EXIT.usage;
  }
  if (e && ENVIRONMENT_ERRORS.has(e.name)) {
    say(e.message);
    return EXIT.internal;
  }
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
    say(e!.message);
    return EXIT.usage;
  }
  process.stderr.write(`whose-tag: internal error: ${e?.stack ?? String(err)}\n`);
  return EXIT.internal;
}
