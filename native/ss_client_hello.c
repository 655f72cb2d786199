/*
 * The session ticket a TLS ClientHello offers, and the name of the key that made it. OpenSSL (so Node)
 * writes tickets as key_name[16] | iv[16] | ciphertext | hmac[32], both for a TLS 1.2 session_ticket
 * extension (RFC 5077) and for a TLS 1.3 pre_shared_key identity (RFC 8446 4.2.11). A shard reads the name
 * to pick the server whose ticket keys made the ticket (the current period's or the previous one's), since
 * Node's SecureContext holds one set of keys. Only the first record is read: a ClientHello split over
 * several records (very rare) is reported as offering no ticket, which costs a full handshake, never a
 * wrong one. A pure function over bytes; ss_header_reader.c peeks them.
 */
#include <string.h>

#include "ss.h"

enum {
  RECORD_HEADER = 5,
  RECORD_HANDSHAKE = 22,
  HANDSHAKE_HEADER = 4,
  HANDSHAKE_CLIENT_HELLO = 1,
  EXTENSION_SESSION_TICKET = 35,
  EXTENSION_PRE_SHARED_KEY = 41,
};

/* A bounds-checked reader over [data, end): every take fails once, and for good, when bytes run out. */
typedef struct cursor {
  const uint8_t *data;
  const uint8_t *end;
  int failed;
} cursor;

static const uint8_t *take(cursor *c, size_t n) {
  if (c->failed || (size_t)(c->end - c->data) < n) {
    c->failed = 1;
    return NULL;
  }
  const uint8_t *at = c->data;
  c->data += n;
  return at;
}

static size_t take_number(cursor *c, size_t bytes) {
  const uint8_t *at = take(c, bytes);
  size_t value = 0;
  for (size_t i = 0; at != NULL && i < bytes; i++) value = value << 8 | at[i];
  return value;
}

/* A length-prefixed vector (prefix of `bytes` bytes) as its own cursor; skips it in `c`. */
static cursor take_vector(cursor *c, size_t bytes) {
  size_t length = take_number(c, bytes);
  const uint8_t *at = take(c, length);
  return (cursor){at, at == NULL ? NULL : at + length, at == NULL};
}

static int ticket_name(cursor ticket, uint8_t key_name[SS_TICKET_KEY_NAME]) {
  const uint8_t *name = take(&ticket, SS_TICKET_KEY_NAME);
  if (name == NULL) return 0;
  memcpy(key_name, name, SS_TICKET_KEY_NAME);
  return 1;
}

int ss_client_hello_ticket(const uint8_t *data, size_t length, uint8_t key_name[SS_TICKET_KEY_NAME]) {
  if (length >= 1 && data[0] != RECORD_HANDSHAKE) return SS_HELLO_NOT_TLS;
  if (length < RECORD_HEADER) return SS_HELLO_INCOMPLETE;
  size_t record = (size_t)data[3] << 8 | data[4];
  if (data[1] != 3 || record > SS_TLS_RECORD_MAX) return SS_HELLO_NOT_TLS;
  if (length < RECORD_HEADER + record) return SS_HELLO_INCOMPLETE;
  cursor c = {data + RECORD_HEADER, data + RECORD_HEADER + record, 0};
  const uint8_t *type = take(&c, 1);
  if (type == NULL || *type != HANDSHAKE_CLIENT_HELLO) return SS_HELLO_NOT_TLS;
  size_t body = take_number(&c, 3);
  /* The message goes on in a later record: look only at the part this one holds. */
  if (body < (size_t)(c.end - c.data)) c.end = c.data + body;
  take(&c, 2 + 32);     /* legacy_version, random */
  take_vector(&c, 1);   /* legacy_session_id */
  take_vector(&c, 2);   /* cipher_suites */
  take_vector(&c, 1);   /* legacy_compression_methods */
  cursor extensions = take_vector(&c, 2);
  if (c.failed) return SS_HELLO_NO_TICKET;
  while (extensions.data < extensions.end) {
    size_t kind = take_number(&extensions, 2);
    cursor extension = take_vector(&extensions, 2);
    if (extensions.failed) break;
    if (kind == EXTENSION_SESSION_TICKET && ticket_name(extension, key_name)) return SS_HELLO_TICKET;
    if (kind == EXTENSION_PRE_SHARED_KEY) {
      /* OfferedPsks: identities<7..2^16-1>, each identity<1..2^16-1> and a 4-byte obfuscated age. */
      cursor identities = take_vector(&extension, 2);
      cursor identity = take_vector(&identities, 2);
      if (!identity.failed && ticket_name(identity, key_name)) return SS_HELLO_TICKET;
    }
  }
  return SS_HELLO_NO_TICKET;
}
