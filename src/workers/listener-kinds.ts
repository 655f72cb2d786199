import type { ListenerKind } from '../protocol.js';
import { fastHttpListenerKind } from './fast-http-listener.js';
import { httpListenerKind } from './http-listener.js';
import { http2ListenerKind } from './http2-listener.js';
import { httpsListenerKind } from './https-listener.js';
import { icmpListenerKind } from './icmp-listener.js';
import type { ListenerKindModule } from './served-listener.js';
import { tcpListenerKind } from './tcp-listener.js';
import { tlsListenerKind } from './tls-listener.js';
import { udpListenerKind } from './udp-listener.js';

/** Every kind of listener a shard serves, by `ListenerSpec.kind` (see served-listener.ts to add one). */
export const LISTENER_KINDS: Readonly<Record<ListenerKind, ListenerKindModule>> = {
  tcp: tcpListenerKind,
  http: httpListenerKind,
  'fast-http': fastHttpListenerKind,
  udp: udpListenerKind,
  icmp: icmpListenerKind,
  tls: tlsListenerKind,
  https: httpsListenerKind,
  http2: http2ListenerKind,
};
