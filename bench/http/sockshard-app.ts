/** The benchmark app as a sockshard handler module; each shard tells the benchmark which thread it is. */
import { defineHttpHandler } from '../../src/handler.js';
import { registerThread } from '../lib/cpu.js';
import { appFromEnv } from './app.js';

export default defineHttpHandler({
  request: appFromEnv(),
  setup(context) {
    registerThread(`shard${context.shardId}`);
  },
});
