// Pings 127.0.0.1 once through the coordinator's raw ICMP socket and answers with what came back.
import { defineHttpHandler } from 'sockshard';

export default defineHttpHandler(async (_request, response, context) => {
  const result = await context.ping('127.0.0.1', { count: 1, timeoutMs: 2_000 });
  response.end(JSON.stringify({ received: result.received }));
});
