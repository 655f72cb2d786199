import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isExampleModule } from '../../src/cli/example.js';
import { EXAMPLE_NAMES, exampleFile } from '../../src/cli/examples.js';

describe('the examples `sockshard serve` knows', () => {
  it('are exactly the examples/<name>.ts scripts', () => {
    const scripts = readdirSync(new URL('../../examples/', import.meta.url))
      .filter((file) => file.endsWith('.ts'))
      .map((file) => file.slice(0, -3));
    expect([...EXAMPLE_NAMES].sort()).toEqual(scripts.sort());
  });

  it.each(EXAMPLE_NAMES)('%s exports start() and its default port', async (name) => {
    const module: unknown = await import(exampleFile(name).href);
    expect(isExampleModule(module)).toBe(true);
    expect((module as { DEFAULT_PORT?: unknown }).DEFAULT_PORT).toBeTypeOf('number');
  });
});
