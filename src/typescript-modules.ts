/**
 * Modules written in TypeScript (handlers, offload tasks, sockshard's own sources): where Node loads them
 * by itself, where tsx has to, and what to tell a user whose Node can do neither. Used where threads start
 * (startWorker, the offload pool), where shards import handler modules, and by the CLI (which imports a
 * handler to learn its kind).
 *
 * What the probes found (a worker importing a `.ts` file, on each Node CI runs and on 22):
 * - Node 22.18+, 24 and 26 strip types by themselves (`process.features.typescript` is `'strip'`), in
 *   worker threads too: a `.ts` handler loads with no tool, provided it uses erasable syntax only and
 *   imports other TypeScript files by their real `.ts` names.
 * - Node 20 cannot (ERR_UNKNOWN_FILE_EXTENSION). Under tsx (`npx tsx server.ts`, `node --import tsx`) its
 *   main thread can, but its worker threads do not inherit tsx's hooks (tsx registers them in the main
 *   thread only on Node 20), so a shard of a program that runs under tsx registers tsx itself before it
 *   imports a `.ts` module (and only then: a JavaScript handler costs no loader).
 * - sockshard's own sources import each other as `.js`, which only tsx maps to `.ts`: from them (tests,
 *   benchmarks, a clone's CLI) every worker starts with tsx registered.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const TYPESCRIPT_FILE = /\.[mc]?ts$/;
/** An --import/--require/--loader value that is tsx: `tsx`, `tsx/esm`, `.../node_modules/tsx/dist/loader.mjs`. */
const TSX_ARGUMENT = /(^|[/\\])tsx([/\\]|$)/;
const PRELOAD_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

/** Whether a module URL or path names a TypeScript file (`.ts`, `.mts`, `.cts`). */
export function isTypeScriptModule(module: string): boolean {
  return TYPESCRIPT_FILE.test(new URL(module, 'file:///').pathname);
}

/** Whether this Node strips TypeScript types by itself (22.18+, 24, 26; 22.6+ with a flag). */
export function nodeStripsTypes(): boolean {
  const typescript = (process.features as { typescript?: string | false }).typescript;
  return typeof typescript === 'string';
}

/**
 * Why a TypeScript module did not load, and what to do instead; it reads after the module's name
 * ("handler module file:///app.ts is TypeScript, which ...").
 */
export function typeScriptAdvice(): string {
  return (
    `is TypeScript, which Node ${process.version} does not load by itself (Node 22.18 and later strip ` +
    'types): compile it to JavaScript, or run your program under tsx (`npm install -D tsx`, then ' +
    '`npx tsx server.ts` or `node --import tsx server.js`; for the CLI, ' +
    "`NODE_OPTIONS='--import tsx' npx sockshard serve ./app.ts`)"
  );
}

/** The preload argument that brought tsx into this process, if any (command line or NODE_OPTIONS). */
function tsxPreload(): string | undefined {
  const args = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean)];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const equals = arg.indexOf('=');
    const [flag, value] = equals === -1 ? [arg, args[i + 1]] : [arg.slice(0, equals), arg.slice(equals + 1)];
    if (PRELOAD_FLAGS.has(flag) && value !== undefined && TSX_ARGUMENT.test(value)) return value;
  }
  return undefined;
}

/** tsx's `tsx/esm/api` entry (its `register()`), resolved from `base` (a file URL or path). */
function tsxApi(base: string): string | undefined {
  try {
    const manifestPath = createRequire(base).resolve('tsx/package.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      exports?: Record<string, { import?: { default?: string } }>;
    };
    const entry = manifest.exports?.['./esm/api']?.import?.default;
    return entry === undefined ? undefined : new URL(entry, pathToFileURL(manifestPath)).href;
  } catch {
    return undefined;
  }
}

let underTsx: string | undefined | null = null;

/** tsx's API when this process runs under tsx (its command line or NODE_OPTIONS says so), else undefined. */
function tsxOfThisProcess(): string | undefined {
  if (underTsx === null) {
    const preload = tsxPreload();
    // `--import tsx` (or `tsx/esm`) names the package: resolve it as Node did, from the working directory.
    const absolute = preload !== undefined && (preload.startsWith('/') || preload.startsWith('file:'));
    const base = preload === undefined ? undefined : absolute ? preload : `${process.cwd()}/`;
    underTsx = base === undefined ? undefined : tsxApi(base);
  }
  return underTsx;
}

/** Whether this module runs from sockshard's TypeScript sources (so this thread already loads `.ts`). */
const FROM_SOURCES = import.meta.url.endsWith('.ts');

/**
 * The tsx API that a thread must register before it imports `module`, or undefined when it needs none:
 * none for JavaScript, tsx (a dev dependency) for sockshard's own sources, none where Node strips types,
 * and elsewhere (Node 20) the tsx this process runs under, if any.
 */
export function tsxFor(module: URL | string): string | undefined {
  const href = module.toString();
  if (!isTypeScriptModule(href)) return undefined;
  if (FROM_SOURCES) return tsxApi(import.meta.url);
  return nodeStripsTypes() ? undefined : tsxOfThisProcess();
}

let registered: Promise<void> | undefined;

/**
 * Makes this thread able to import `module`: registers tsx once where `tsxFor` says it is needed (a shard
 * of a program run under tsx on Node 20, about to import a `.ts` handler). A no-op everywhere else, and in
 * threads that run sockshard's sources, which started with tsx.
 */
export function prepareImport(module: string): Promise<void> {
  const tsx = FROM_SOURCES ? undefined : tsxFor(module);
  if (tsx === undefined) return Promise.resolve();
  registered ??= import(tsx).then(({ register }: { register: () => unknown }) => {
    register();
  });
  return registered;
}
