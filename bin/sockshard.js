#!/usr/bin/env node
// The `sockshard` command. In a clone of the repository (src/ and the dev dependency tsx present) it runs
// the TypeScript sources through tsx, so it can never be an out-of-date build; in an installed package,
// which ships dist/ and no src/, it runs the compiled dist/src/cli/main.js.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
const built = new URL('../dist/src/cli/main.js', import.meta.url);

async function registerTsx() {
  try {
    const { register } = await import('tsx/esm/api');
    register();
    return true;
  } catch {
    return false;
  }
}

if (existsSync(source) && (await registerTsx())) await import(source.href);
else if (existsSync(built)) await import(built.href);
else {
  console.error(
    'sockshard: found neither dist/src/cli/main.js (run `npm run build`) nor tsx with src/ (`npm ci`)',
  );
  process.exitCode = 1;
}
