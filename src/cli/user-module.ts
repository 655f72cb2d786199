/**
 * A handler module from the user's project, named on the command line (`sockshard serve ./app.mjs`):
 * found relative to the working directory, imported once in this thread to learn its kind from its hooks
 * (its top level runs here too, as it does in every shard), and served by `serve` or measured by `bench`.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isTypeScriptModule, typeScriptAdvice } from '../typescript-modules.js';
import { chooseKind, type HandlerKind } from './handler-kinds.js';

export interface UserModule {
  /** As given on the command line, for messages. */
  readonly name: string;
  readonly url: URL;
  readonly kind: HandlerKind;
  /** The module's default export. */
  readonly handler: unknown;
}

/** Whether a command-line argument names a file rather than an example or a benchmark. */
export function looksLikeModulePath(argument: string): boolean {
  return (
    argument.includes('/') ||
    /\.[mc]?[jt]s$/.test(argument) ||
    (existsSync(argument) && statSync(argument).isFile())
  );
}

/** Imports `file` (a path) and picks its kind; throws an Error that says what is wrong and what to do. */
export async function loadUserModule(file: string, requestedKind: string | undefined): Promise<UserModule> {
  const absolute = path.resolve(file);
  if (!existsSync(absolute) || !statSync(absolute).isFile()) {
    throw new Error(
      `${file}: no such file (a handler module, or one of the examples: sockshard serve --help)`,
    );
  }
  const url = pathToFileURL(absolute);
  let module: { default?: unknown };
  try {
    module = (await import(url.href)) as { default?: unknown };
  } catch (error) {
    const typeScript =
      (error as NodeJS.ErrnoException).code === 'ERR_UNKNOWN_FILE_EXTENSION' && isTypeScriptModule(url.href);
    if (typeScript) throw new Error(`${file} ${typeScriptAdvice()}`, { cause: error });
    throw new Error(`${file} could not be imported: ${(error as Error).message}`, { cause: error });
  }
  try {
    return { name: file, url, kind: chooseKind(module.default, requestedKind), handler: module.default };
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
}
