// Exit codes scripts can rely on, and the mapping from any thrown error to one line on stderr.
import {
  CannotDeleteSubOrchestrationError,
  InstanceAlreadyExistsError,
  InstanceNotFoundError,
  InstanceStillRunningError,
  InvalidArgumentError,
  ManagementNotSupportedError,
  ProviderError,
} from "../index.js";

/** Process exit codes of the `duroxide` CLI (documented in the README and `duroxide --help`). */
export const EXIT = {
  ok: 0,
  /** The command ran and its check failed (`verify` found instances that would break). */
  checkFailed: 1,
  /** Bad arguments or input: unknown option, malformed JSON, invalid id or status. */
  usage: 2,
  /** The instance (or execution) does not exist. */
  notFound: 3,
  /** The store could not be opened or reached. */
  store: 4,
  /** The store refused the operation (instance still running, sub-orchestration, already exists). */
  refused: 5,
  /** An unexpected error (a bug): the message is printed, with a stack under DUROXIDE_DEBUG=1. */
  internal: 70,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as one line with a chosen exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = "CliError";
  }
}

export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof InstanceNotFoundError) return EXIT.notFound;
  if (err instanceof InvalidArgumentError) return err.code === "DeadLetterNotFound" ? EXIT.notFound : EXIT.usage;
  if (err instanceof InstanceStillRunningError || err instanceof CannotDeleteSubOrchestrationError || err instanceof InstanceAlreadyExistsError)
    return EXIT.refused;
  if (err instanceof ManagementNotSupportedError) return EXIT.refused;
  if (err instanceof ProviderError) return EXIT.store;
  return EXIT.internal;
}

/** One line: the message without a stack, newlines folded. */
export function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\s*\n\s*/g, " ").trim() || (err instanceof Error ? err.name : "error");
}
