/*
 * The PROXY protocol header, versions 1 (text) and 2 (binary), as haproxy's doc/proxy-protocol.txt
 * specifies it: a load balancer writes it before any byte of the client's, so that the server learns the
 * client's address. A pure function over bytes; ss_header_reader.c feeds it what the socket holds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <string.h>

#include "ss.h"

static const uint8_t v1_signature[] = {'P', 'R', 'O', 'X', 'Y', ' '};
static const uint8_t v2_signature[] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

enum {
  /* "PROXY UNKNOWN ffff:...:ffff ffff:...:ffff 65535 65535\r\n", the longest line the spec allows. */
  V1_MAX_LINE = 107,
  V2_FIXED = 16,
  V2_VERSION = 0x20,
  V2_COMMAND_LOCAL = 0x0,
  V2_COMMAND_PROXY = 0x1,
  V2_FAMILY_UNSPEC = 0x0,
  V2_FAMILY_INET = 0x1,
  V2_FAMILY_INET6 = 0x2,
  V2_FAMILY_UNIX = 0x3,
  V2_PROTO_UNSPEC = 0x0,
  V2_PROTO_STREAM = 0x1,
  V2_PROTO_DGRAM = 0x2,
  V2_INET_ADDRESSES = 2 * 4 + 2 * 2,
  V2_INET6_ADDRESSES = 2 * 16 + 2 * 2,
};

/* Does what we have so far agree with `signature`? (A prefix of it, or all of it and more.) */
static int agrees(const uint8_t *data, size_t length, const uint8_t *signature, size_t size) {
  return memcmp(data, signature, length < size ? length : size) == 0;
}

/* A port in decimal, 0 to 65535, no heading zero (the spec forbids them, to avoid any octal confusion). */
static int parse_port(const char *text, uint16_t *out) {
  size_t length = strlen(text);
  if (length == 0 || length > 5 || (length > 1 && text[0] == '0')) return -1;
  uint32_t value = 0;
  for (size_t i = 0; i < length; i++) {
    if (text[i] < '0' || text[i] > '9') return -1;
    value = value * 10 + (uint32_t)(text[i] - '0');
  }
  if (value > 65535) return -1;
  *out = (uint16_t)value;
  return 0;
}

/*
 * `line` is the text between "PROXY " and the CRLF, NUL-terminated: "TCP4 src dst sport dport", "TCP6 ..."
 * or "UNKNOWN" followed by anything (ignored, as the spec asks). Exactly one space between fields.
 */
static int parse_v1_line(char *line, ss_proxy_header *out) {
  if (strncmp(line, "UNKNOWN", 7) == 0 && (line[7] == '\0' || line[7] == ' ')) {
    out->local = 1;
    return 0;
  }
  char *fields[6];
  size_t count = 0;
  for (char *cursor = line; cursor != NULL && count < 6;) {
    fields[count++] = cursor;
    char *space = strchr(cursor, ' ');
    if (space != NULL) *space = '\0';
    cursor = space == NULL ? NULL : space + 1;
  }
  /* Exactly five fields, none of them empty (which also rules out doubled or trailing spaces). */
  if (count != 5) return -1;
  for (size_t i = 0; i < count; i++)
    if (fields[i][0] == '\0') return -1;
  int af;
  if (strcmp(fields[0], "TCP4") == 0) {
    out->family = 4;
    af = AF_INET;
  } else if (strcmp(fields[0], "TCP6") == 0) {
    out->family = 6;
    af = AF_INET6;
  } else {
    return -1;
  }
  /* inet_pton takes IPv4 only as four decimal numbers without heading zeroes, which is the spec's form. */
  if (inet_pton(af, fields[1], out->source) != 1 || inet_pton(af, fields[2], out->destination) != 1) return -1;
  if (parse_port(fields[3], &out->source_port) != 0 || parse_port(fields[4], &out->destination_port) != 0)
    return -1;
  return 0;
}

static int parse_v1(const uint8_t *data, size_t length, ss_proxy_header *out) {
  /* The CR of a line of at most V1_MAX_LINE bytes, CRLF included, is at most at V1_MAX_LINE - 2. */
  size_t limit = length < V1_MAX_LINE - 1 ? length : V1_MAX_LINE - 1;
  for (size_t i = 0; i < limit; i++) {
    /* A lone LF, or a CR not followed by LF, is no line end: the spec says not to tolerate either. */
    if (data[i] == '\n') return SS_PROXY_MALFORMED;
    if (data[i] != '\r') continue;
    if (i + 1 == length) return SS_PROXY_INCOMPLETE;
    if (data[i + 1] != '\n') return SS_PROXY_MALFORMED;
    char line[V1_MAX_LINE + 1];
    size_t size = i - sizeof v1_signature;
    memcpy(line, data + sizeof v1_signature, size);
    line[size] = '\0';
    if (memchr(line, '\0', size) != NULL) return SS_PROXY_MALFORMED;
    out->version = 1;
    return parse_v1_line(line, out) == 0 ? (int)(i + 2) : SS_PROXY_MALFORMED;
  }
  /* No CRLF within the longest line the spec allows. */
  return length >= V1_MAX_LINE - 1 ? SS_PROXY_OVERSIZED : SS_PROXY_INCOMPLETE;
}

static int parse_v2(const uint8_t *data, size_t length, size_t max, ss_proxy_header *out) {
  if (length < V2_FIXED) return SS_PROXY_INCOMPLETE;
  uint8_t version = data[12] & 0xF0, command = data[12] & 0x0F;
  uint8_t family = data[13] >> 4, protocol = data[13] & 0x0F;
  size_t address_length = (size_t)data[14] << 8 | data[15];
  if (version != V2_VERSION || command > V2_COMMAND_PROXY || family > V2_FAMILY_UNIX || protocol > V2_PROTO_DGRAM)
    return SS_PROXY_MALFORMED;
  size_t total = V2_FIXED + address_length;
  /* Known as soon as the fixed part is in: no need to wait for the rest of an oversized header. */
  if (total > max) return SS_PROXY_OVERSIZED;
  if (length < total) return SS_PROXY_INCOMPLETE;
  out->version = 2;
  const uint8_t *addresses = data + V2_FIXED;
  /*
   * LOCAL (a health check from the balancer itself), and the valid combinations this receiver does not
   * serve (UNSPEC, UNIX, DGRAM): use the connection's own endpoints, as the spec asks of a receiver that
   * does not implement them. What follows the addresses (TLVs) is skipped with the header.
   */
  if (command == V2_COMMAND_LOCAL || protocol != V2_PROTO_STREAM ||
      (family != V2_FAMILY_INET && family != V2_FAMILY_INET6)) {
    out->local = 1;
    return (int)total;
  }
  size_t size = family == V2_FAMILY_INET ? 4 : 16;
  if (address_length < (family == V2_FAMILY_INET ? V2_INET_ADDRESSES : V2_INET6_ADDRESSES))
    return SS_PROXY_MALFORMED;
  out->family = family == V2_FAMILY_INET ? 4 : 6;
  memcpy(out->source, addresses, size);
  memcpy(out->destination, addresses + size, size);
  out->source_port = (uint16_t)(addresses[2 * size] << 8 | addresses[2 * size + 1]);
  out->destination_port = (uint16_t)(addresses[2 * size + 2] << 8 | addresses[2 * size + 3]);
  return (int)total;
}

int ss_proxy_parse(const uint8_t *data, size_t length, size_t max, ss_proxy_header *out) {
  memset(out, 0, sizeof *out);
  if (length == 0) return SS_PROXY_INCOMPLETE;
  if (agrees(data, length, v1_signature, sizeof v1_signature)) {
    return length < sizeof v1_signature ? SS_PROXY_INCOMPLETE : parse_v1(data, length, out);
  }
  if (agrees(data, length, v2_signature, sizeof v2_signature)) return parse_v2(data, length, max, out);
  return SS_PROXY_MISSING;
}
