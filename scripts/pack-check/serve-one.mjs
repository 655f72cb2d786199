// Serves one HTTP handler module (argv[2], relative to this folder), with engine.icmp() if argv[3] is
// "icmp". Prints {"port": N} once it serves, or {"error": code, "message": ...} if start() failed; closes
// on a line on stdin.
import { createEngine } from 'sockshard';

const [, , handler, icmp] = process.argv;
const engine = createEngine({ shards: 2 }).http({ port: 0, handler: new URL(handler, import.meta.url) });
if (icmp === 'icmp') engine.icmp();
try {
  await engine.start();
} catch (error) {
  console.log(JSON.stringify({ error: error.code, message: error.message }));
  process.exit(0);
}
console.log(JSON.stringify({ port: engine.addresses()[0].port }));
process.stdin.once('data', async () => {
  await engine.close();
  process.stdin.pause();
});
