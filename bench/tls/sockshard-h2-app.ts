/** The bench:tls app as a sockshard HTTP/2 handler module; each shard names its thread. */
import { defineHttp2Handler } from '../../src/handler.js';
import { registerThread } from '../lib/cpu.js';
import { helloApp } from './app.js';

export default defineHttp2Handler({
  request: helloApp,
  setup(context) {
    registerThread(`shard${context.shardId}`);
  },
});
