// A handler module in TypeScript (erasable syntax only, as Node's own type stripping requires).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { defineHttpHandler, type ShardContext } from 'sockshard';

const greeting: string = 'hello from TypeScript';

export default defineHttpHandler(
  (_request: IncomingMessage, response: ServerResponse, context: ShardContext) => {
    response.end(`${greeting} on shard ${context.shardId}\n`);
  },
);
