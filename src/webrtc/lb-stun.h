/* lb-stun.h — the few STUN messages (RFC 5389) an ICE-lite agent (RFC 8445
 * §2.5) needs: read a Binding request, check its MESSAGE-INTEGRITY and
 * FINGERPRINT, and answer it with XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and
 * FINGERPRINT. Plain bytes in and out: no socket, no state. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define LB_STUN_HEADER 20
#define LB_STUN_MAGIC 0x2112A442u
#define LB_STUN_BINDING_REQUEST 0x0001
#define LB_STUN_BINDING_SUCCESS 0x0101
#define LB_STUN_BINDING_INDICATION 0x0011
/* A Binding success answer is well under this (IPv6 included). */
#define LB_STUN_MAX_ANSWER 128

typedef struct
{
  guint16 type; /* method and class, e.g. LB_STUN_BINDING_REQUEST */
  guint8 transaction[12];
  /* USERNAME ("their-ufrag:our-ufrag" per ICE, RFC 8445 §7.2.2), borrowed
   * from the buffer, not NUL-terminated; NULL if absent. */
  const char *username;
  gsize username_len;
  gboolean use_candidate;
  gboolean has_integrity;   /* MESSAGE-INTEGRITY present (checked separately) */
  gboolean has_fingerprint; /* FINGERPRINT present and correct */
} LbStunMessage;

/* The CRC-32 of RFC 5389 §15.5 (ISO HDLC, the one zlib computes). */
guint32 lb_stun_crc32 (const guint8 *data, gsize len);

/* Parses a STUN message (header, magic cookie, attribute layout; a
 * FINGERPRINT that is present must be right). FALSE: not STUN or malformed. */
gboolean lb_stun_parse (const guint8 *buf, gsize len, LbStunMessage *msg);

/* TRUE if @buf (a message lb_stun_parse accepted) carries a
 * MESSAGE-INTEGRITY that is the HMAC-SHA1 of the message up to it under
 * @key (short-term credentials: the password itself). */
gboolean lb_stun_check_integrity (const guint8 *buf, gsize len, const char *key);

/* Appends MESSAGE-INTEGRITY (under @key) and FINGERPRINT to the message of
 * @len bytes in @buf (header and attributes written, length field any),
 * fixing the header's length. Returns the new length, or 0 if @size is too
 * small. */
gsize lb_stun_finish (guint8 *buf, gsize len, gsize size, const char *key);

/* Writes a Binding success response to @request's transaction, telling the
 * peer @from (XOR-MAPPED-ADDRESS), signed with @key, into @out. Returns its
 * length, or 0 if @from is not IPv4/IPv6 or @size is too small. */
gsize lb_stun_binding_success (const LbStunMessage *request, GSocketAddress *from, const char *key,
                               guint8 *out, gsize size);

G_END_DECLS
