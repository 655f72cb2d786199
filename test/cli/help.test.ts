import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli-process.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

describe('sockshard --help and --version', () => {
  it('--help lists the commands', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: sockshard \[options\] \[command\]/);
    expect(stdout).toMatch(/^\s+serve \[options\] <module\|example>\s+serve a handler module or an example/m);
    expect(stdout).toMatch(/^\s+bench \[options\] \[module\|benchmark\]\s+measure your HTTP handler/m);
    expect(stdout).toContain('--version');
  });

  it("serve --help lists the options, how a module's kind is found, and every example", async () => {
    const { code, stdout } = await runCli(['serve', '--help']);
    expect(code).toBe(0);
    for (const option of [
      '--port <port>',
      '--host <ip>',
      '--shards <n>',
      '--stats <seconds>',
      '--metrics-port',
      '--kind <kind>',
    ]) {
      expect(stdout).toContain(option);
    }
    expect(stdout).toMatch(/request\(\) \(or a bare\s+function\) HTTP/);
    for (const example of ['tcp-echo', 'http-hello', 'udp-dns', 'resp-server']) {
      expect(stdout).toMatch(new RegExp(`^\\s+${example}\\s+\\S`, 'm'));
    }
  });

  it('bench --help explains the handler benchmark, names the benchmarks in bench/ and how to pass arguments on', async () => {
    const { code, stdout } = await runCli(['help', 'bench']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/one of:\s+ring,\s+http,\s+udp/);
    for (const option of [
      '--quick',
      '--json',
      '--shards <n>',
      '--connections <n>',
      '--duration <seconds>',
      '--runs <n>',
    ]) {
      expect(stdout).toContain(option);
    }
    expect(stdout).toContain('sockshard bench ./app.mjs --quick');
    expect(stdout).toContain('sockshard bench http --quick -- --duration 2');
  });

  it('--version prints the package version', async () => {
    const { code, stdout } = await runCli(['--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(version);
  });
});
