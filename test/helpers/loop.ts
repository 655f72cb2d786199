import dgram from 'node:dgram';
import { once } from 'node:events';

/**
 * Resolves once this thread's event loop has run a whole poll phase that began after the call.
 *
 * What it is for: to check that a callback did NOT run (a stopped or paused poll), a test must know that
 * the loop has looked at that fd since it became ready, and a sleep only guesses. libuv polls
 * level-triggered, so the datagram sent here to a socket of our own is read in a poll phase whose
 * epoll_wait also reports every other polled fd that was ready before it was sent; the setImmediate after it
 * runs once that whole phase is over, every callback of it included. No clock is involved.
 */
export async function afterPollPhase(): Promise<void> {
  const socket = dgram.createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const arrived = once(socket, 'message');
  socket.send(Uint8Array.of(0), socket.address().port, '127.0.0.1');
  await arrived;
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => socket.close(() => resolve()));
}
