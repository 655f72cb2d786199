import { describe, expect, it } from 'vitest';
import { createEngine, type HandlerError } from '../../src/index.js';
import { fixtureHandler, until } from '../helpers/engine.js';
import { portZeroSkipNote, portZeroSkipReason, sendFromPortZero } from '../helpers/raw-udp.js';
import { useTeardown } from '../helpers/sockets.js';
import { UdpClient } from '../helpers/udp.js';

const defer = useTeardown();

describe.each(['dgram', 'batched'] as const)('a datagram from source port 0, io %s', (io) => {
  it.skipIf(portZeroSkipReason !== '')(
    `cannot be answered: the reply is dropped and counted (sendErrors), never a handler error${portZeroSkipNote}`,
    async () => {
      const engine = createEngine({ shards: 1 }).udp({
        ports: [0],
        handler: fixtureHandler('udp-echo.ts'),
        io,
      });
      const errors: HandlerError[] = [];
      engine.on('handler-error', (error) => errors.push(error));
      await engine.start();
      defer(() => engine.close({ timeoutMs: 200 }));
      const port = engine.udpPorts()[0]!.port;
      await sendFromPortZero(port, Buffer.from('from port 0'));
      await until(() => engine.udpPorts()[0]!.sendErrors === 1, 5_000);
      const client = await UdpClient.open();
      defer(() => client.close());
      client.send('after', port);
      const [reply] = await client.receive(1);
      expect(reply!.subarray(1).toString()).toBe('after');
      await until(() => engine.udpPorts()[0]!.datagramsOut === 1, 5_000);
      expect(engine.udpPorts()[0]).toMatchObject({
        datagramsIn: 2,
        datagramsOut: 1,
        sendErrors: 1,
        handlerErrors: 0,
      });
      expect(errors).toEqual([]);
    },
  );
});
