import { describeSocket } from '../native/binding.js';
import { type InheritedSocket, InheritedSockets } from './inherited-sockets.js';

/** systemd passes its sockets from this fd on (SD_LISTEN_FDS_START). */
const FIRST_FD = 3;

let found: InheritedSockets | undefined;

/**
 * The sockets systemd socket activation passed this process: `LISTEN_FDS` sockets from fd 3 on, named by
 * `LISTEN_FDNAMES` (FileDescriptorName=), meant for this process only if `LISTEN_PID` is its pid (a child
 * that inherited the environment is not meant). Read once per process, as sd_listen_fds(3) does with
 * unset_environment: the variables are removed then, so that processes this one starts do not act on them.
 * An fd that is no socket is left alone (and not listed).
 *
 * Each engine claims the ones its listeners fit (see InheritedSockets); what none claims stays open, the
 * application's to use.
 */
export function systemdSockets(env: NodeJS.ProcessEnv = process.env): InheritedSockets {
  found ??= new InheritedSockets(read(env));
  return found;
}

function read(env: NodeJS.ProcessEnv): InheritedSocket[] {
  const { LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES } = env;
  if (LISTEN_PID === undefined || LISTEN_FDS === undefined) return [];
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  const count = Number(LISTEN_FDS);
  if (LISTEN_PID !== String(process.pid) || !Number.isInteger(count) || count <= 0) return [];
  const names = LISTEN_FDNAMES?.split(':') ?? [];
  const sockets: InheritedSocket[] = [];
  for (let i = 0; i < count; i++) {
    const fd = FIRST_FD + i;
    try {
      sockets.push({ fd, origin: 'systemd', description: describeSocket(fd), name: names[i] ?? 'unknown' });
    } catch {
      // Not a socket (or not open): nothing for a listener here.
    }
  }
  return sockets;
}
