/* lb-dtls-srtp.c — DTLS-SRTP server on memory BIOs (RFC 5764), OpenSSL 3 and libsrtp2. */
#define G_LOG_DOMAIN "lobbyd-webrtc"
#include "lb-dtls-srtp.h"
#include "lb-error.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <srtp2/srtp.h>
#include <string.h>

#define DTLS_MTU 1200

struct _LbDtlsSrtp
{
  SSL *ssl;
  BIO *rbio, *wbio; /* owned by ssl */
  char *remote_fingerprint;
  LbDtlsState state;
  srtp_t tx, rx;
};

static SSL_CTX *ctx;
static char fingerprint[LB_DTLS_FINGERPRINT_SIZE];

/* The client's certificate is self-signed too: it is checked against the
 * offer's fingerprint after the handshake, not against a CA. */
static int
accept_any (int preverify, X509_STORE_CTX *store)
{
  return 1;
}

static X509 *
self_signed (EVP_PKEY *key)
{
  X509 *cert = X509_new ();
  X509_set_version (cert, 2);
  guint64 serial = g_random_int () | (guint64)g_random_int () << 32;
  ASN1_INTEGER_set_uint64 (X509_get_serialNumber (cert), serial >> 1);
  /* Valid from a day ago (clock skew) for a month: the process restarts
   * long before, and browsers ignore the dates of WebRTC certificates. */
  X509_gmtime_adj (X509_getm_notBefore (cert), -86400);
  X509_gmtime_adj (X509_getm_notAfter (cert), 30L * 86400);
  X509_NAME *name = X509_get_subject_name (cert);
  X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_ASC, (const unsigned char *)"lobbyd", -1, -1, 0);
  X509_set_issuer_name (cert, name);
  X509_set_pubkey (cert, key);
  if (!X509_sign (cert, key, EVP_sha256 ()))
    {
      X509_free (cert);
      return NULL;
    }
  return cert;
}

gboolean
lb_dtls_srtp_init (GError **error)
{
  static gsize done;
  static gboolean ok;
  if (g_once_init_enter (&done))
    {
      EVP_PKEY *key = EVP_EC_gen ("P-256");
      X509 *cert = key ? self_signed (key) : NULL;
      SSL_CTX *c = cert ? SSL_CTX_new (DTLS_server_method ()) : NULL;
      if (c != NULL && SSL_CTX_use_certificate (c, cert) == 1
          && SSL_CTX_use_PrivateKey (c, key) == 1
          && SSL_CTX_set_tlsext_use_srtp (c, "SRTP_AES128_CM_SHA1_80") == 0
          && srtp_init () == srtp_err_status_ok)
        {
          SSL_CTX_set_min_proto_version (c, DTLS1_2_VERSION);
          SSL_CTX_set_verify (c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
          SSL_CTX_set_read_ahead (c, 1);
          /* Idle connections (all of them, once keyed) give their record
           * buffers back: ~34 KiB a viewer. */
          SSL_CTX_set_mode (c, SSL_MODE_RELEASE_BUFFERS);
          lb_dtls_srtp_digest (cert, fingerprint);
          ctx = c;
          ok = TRUE;
        }
      else if (c != NULL)
        SSL_CTX_free (c);
      X509_free (cert);
      EVP_PKEY_free (key);
      g_once_init_leave (&done, 1);
    }
  if (!ok)
    g_set_error (error, LB_ERROR, LB_ERROR_MEDIA,
                 "WebRTC lite: cannot set up DTLS-SRTP (OpenSSL certificate or libsrtp)");
  return ok;
}

const char *
lb_dtls_srtp_fingerprint (void)
{
  return fingerprint;
}

LbDtlsSrtp *
lb_dtls_srtp_new (const char *remote_fingerprint)
{
  g_return_val_if_fail (ctx != NULL, NULL);
  LbDtlsSrtp *d = g_new0 (LbDtlsSrtp, 1);
  d->ssl = SSL_new (ctx);
  d->rbio = BIO_new (BIO_s_mem ());
  d->wbio = BIO_new (BIO_s_mem ());
  /* An empty read buffer is "try again", not end of file. */
  BIO_set_mem_eof_return (d->rbio, -1);
  BIO_set_mem_eof_return (d->wbio, -1);
  SSL_set_bio (d->ssl, d->rbio, d->wbio);
  SSL_set_options (d->ssl, SSL_OP_NO_QUERY_MTU);
  SSL_set_mtu (d->ssl, DTLS_MTU);
  SSL_set_accept_state (d->ssl);
  if (remote_fingerprint != NULL)
    {
      /* "sha-256 AB:CD…": only SHA-256 is compared; other hashes are not
       * checked (browsers all send SHA-256). */
      const char *sp = strchr (remote_fingerprint, ' ');
      if (sp != NULL && g_ascii_strncasecmp (remote_fingerprint, "sha-256", 7) == 0)
        {
          g_autofree char *value = g_strdup (sp + 1);
          d->remote_fingerprint = g_ascii_strup (g_strstrip (value), -1);
        }
    }
  return d;
}

void
lb_dtls_srtp_free (LbDtlsSrtp *d)
{
  if (d == NULL)
    return;
  SSL_free (d->ssl);
  if (d->tx)
    srtp_dealloc (d->tx);
  if (d->rx)
    srtp_dealloc (d->rx);
  g_free (d->remote_fingerprint);
  g_free (d);
}

/* What OpenSSL wrote: one flight, sent as one datagram (an ECDSA flight is
 * ~1 KB, below the MTU). */
static void
drain (LbDtlsSrtp *d, GPtrArray *out)
{
  size_t n = BIO_ctrl_pending (d->wbio);
  if (n == 0)
    return;
  guint8 *buf = g_malloc (n);
  int got = BIO_read (d->wbio, buf, (int)n);
  if (got > 0)
    g_ptr_array_add (out, g_bytes_new_take (buf, (gsize)got));
  else
    g_free (buf);
}

static gboolean
make_srtp (LbDtlsSrtp *d)
{
  return lb_dtls_srtp_key (d->ssl, TRUE, &d->tx, &d->rx);
}

static gboolean
check_fingerprint (LbDtlsSrtp *d)
{
  if (d->remote_fingerprint == NULL)
    return TRUE;
  X509 *peer = SSL_get1_peer_certificate (d->ssl);
  if (peer == NULL)
    return FALSE;
  char text[sizeof fingerprint];
  lb_dtls_srtp_digest (peer, text);
  X509_free (peer);
  return g_str_equal (text, d->remote_fingerprint);
}

LbDtlsState
lb_dtls_srtp_receive (LbDtlsSrtp *d, const guint8 *data, gsize len, GPtrArray *out)
{
  if (d->state == LB_DTLS_FAILED || d->state == LB_DTLS_CLOSED)
    return d->state;
  BIO_write (d->rbio, data, (int)len);
  if (d->state == LB_DTLS_HANDSHAKING)
    {
      int r = SSL_do_handshake (d->ssl);
      drain (d, out);
      if (r == 1)
        {
          if (!check_fingerprint (d))
            {
              g_info ("WebRTC lite: the client's certificate does not match its fingerprint");
              d->state = LB_DTLS_FAILED;
            }
          else if (!make_srtp (d))
            {
              g_info ("WebRTC lite: no SRTP keys (use_srtp not negotiated?)");
              d->state = LB_DTLS_FAILED;
            }
          else
            d->state = LB_DTLS_CONNECTED;
        }
      else
        {
          int e = SSL_get_error (d->ssl, r);
          if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            {
              g_debug ("WebRTC lite: DTLS handshake failed (%d, %lu)", e, ERR_peek_last_error ());
              ERR_clear_error ();
              d->state = LB_DTLS_FAILED;
            }
        }
      return d->state;
    }
  /* Connected: only alerts (close_notify) or a retransmitted flight. */
  guint8 buf[2048];
  int r = SSL_read (d->ssl, buf, sizeof buf);
  drain (d, out);
  if (r <= 0)
    {
      int e = SSL_get_error (d->ssl, r);
      if (e == SSL_ERROR_ZERO_RETURN)
        d->state = LB_DTLS_CLOSED;
      else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
        d->state = LB_DTLS_FAILED;
      ERR_clear_error ();
    }
  return d->state;
}

void
lb_dtls_srtp_tick (LbDtlsSrtp *d, GPtrArray *out)
{
  if (d->state != LB_DTLS_HANDSHAKING)
    return;
  if (DTLSv1_handle_timeout (d->ssl) > 0)
    drain (d, out);
}

LbDtlsState
lb_dtls_srtp_get_state (LbDtlsSrtp *d)
{
  return d->state;
}

gboolean
lb_dtls_srtp_protect_rtp (LbDtlsSrtp *d, guint8 *packet, int *len)
{
  return d->tx != NULL && srtp_protect (d->tx, packet, len) == srtp_err_status_ok;
}

gboolean
lb_dtls_srtp_protect_rtcp (LbDtlsSrtp *d, guint8 *packet, int *len)
{
  return d->tx != NULL && srtp_protect_rtcp (d->tx, packet, len) == srtp_err_status_ok;
}

gboolean
lb_dtls_srtp_unprotect_rtcp (LbDtlsSrtp *d, guint8 *packet, int *len)
{
  return d->rx != NULL && srtp_unprotect_rtcp (d->rx, packet, len) == srtp_err_status_ok;
}
