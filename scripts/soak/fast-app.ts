import { defineFastHttpHandler } from '../../src/index.js';

/** The soak's fast HTTP app (api 'fast'): `POST /echo` answers with the body it got, anything else `ok`. */
export default defineFastHttpHandler(async (request, { shardId }) =>
  request.method === 'POST' && request.path === '/echo'
    ? { headers: { 'content-type': 'application/octet-stream' }, body: await request.bytes() }
    : `ok ${shardId}\n`,
);
