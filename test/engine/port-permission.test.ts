import { describe, expect } from 'vitest';
import { privilegedPort, requirement, testWith } from '../helpers/requirements.js';
import { childWithout, runWithout } from '../helpers/without-capability.js';

const port = privilegedPort();
const withoutBindService = testWith(await requirement('privileged-ports'), childWithout('net_bind_service'));

describe('permission denied on a low port', () => {
  withoutBindService(
    `fails start() with EACCES, naming the port, in a process without CAP_NET_BIND_SERVICE (port ${port})`,
    async () => {
      const fixture = new URL('../fixtures/engine-low-port.ts', import.meta.url);
      const result = (await runWithout('net_bind_service', fixture, [String(port)])) as {
        code: string;
        syscall: string;
        message: string;
      };
      expect(result).toMatchObject({ code: 'EACCES', syscall: 'bind' });
      expect(result.message).toContain(String(port));
    },
  );
});
