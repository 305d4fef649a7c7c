/* lb-dtls-keys.h — what any DTLS-SRTP endpoint on OpenSSL needs once its
 * handshake is done: the certificate's fingerprint (a=fingerprint) and the
 * SRTP contexts keyed from the handshake (RFC 5764). Used by lobbyd's DTLS
 * server (lb-dtls-srtp) and by the benchmark's client (bench/lite-viewers.c),
 * which links this file alone. */
#pragma once

#include <glib.h>
#include <openssl/ssl.h>
#include <srtp2/srtp.h>

G_BEGIN_DECLS

/* @cert's SHA-256 fingerprint as "AB:CD:…"
 * into @out (LB_DTLS_FINGERPRINT_SIZE bytes). */
#define LB_DTLS_FINGERPRINT_SIZE (32 * 3)
void lb_dtls_srtp_digest (X509 *cert, char *out);
/* The SRTP contexts keyed by a finished handshake on @ssl (RFC 5764 §4.2:
 * client key | server key | client salt | server salt): @tx protects with
 * our side's key, @rx unprotects with the peer's; @server: we were the DTLS
 * server. FALSE unless SRTP_AES128_CM_SHA1_80 was negotiated. */
gboolean lb_dtls_srtp_key (SSL *ssl, gboolean server, srtp_t *tx, srtp_t *rx);

G_END_DECLS
