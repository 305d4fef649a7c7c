/* Unit tests for the lite WebRTC send path's protocol pieces: STUN
 * (checked against the test vectors of RFC 5769), RFC 7983 demultiplexing
 * and a DTLS-SRTP handshake between lb-dtls-srtp and an OpenSSL client. */
#include "lb-dtls-srtp.h"
#include "lb-stun.h"
#include "lb-webrtc-host.h"

#include <openssl/ssl.h>
#include <string.h>

/* RFC 5769 §2.1 Sample Request (SOFTWARE "STUN test client", USERNAME
 * "evtj:h6vY", password "VOkJxbRl1RmTxUk/WvJxBt"). */
static const guint8 sample_request[] = {
  0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
  0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
  0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
  0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
  0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
  0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
  0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};

/* RFC 5769 §2.2 Sample IPv4 Response: 192.0.2.1 port 32853. */
static const guint8 sample_response[] = {
  0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
  0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
  0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
  0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
  0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

#define PASSWORD "VOkJxbRl1RmTxUk/WvJxBt"

static void
test_crc32 (void)
{
  /* The standard check value of CRC-32/ISO-HDLC. */
  g_assert_cmphex (lb_stun_crc32 ((const guint8 *)"123456789", 9), ==, 0xCBF43926);
}

static void
test_parse_sample_request (void)
{
  LbStunMessage msg;
  g_assert_true (lb_stun_parse (sample_request, sizeof sample_request, &msg));
  g_assert_cmpuint (msg.type, ==, LB_STUN_BINDING_REQUEST);
  g_assert_true (msg.has_fingerprint);
  g_assert_true (msg.has_integrity);
  g_assert_false (msg.use_candidate);
  g_assert_cmpuint (msg.username_len, ==, 9);
  g_assert_cmpmem (msg.username, msg.username_len, "evtj:h6vY", 9);
  g_assert_cmpmem (msg.transaction, 12, sample_request + 8, 12);
  g_assert_true (lb_stun_check_integrity (sample_request, sizeof sample_request, PASSWORD));
  g_assert_false (lb_stun_check_integrity (sample_request, sizeof sample_request, "wrong"));
}

static void
test_parse_rejects_damage (void)
{
  LbStunMessage msg;
  guint8 copy[sizeof sample_request];

  /* A flipped bit anywhere before FINGERPRINT breaks it. */
  memcpy (copy, sample_request, sizeof copy);
  copy[30] ^= 1;
  g_assert_false (lb_stun_parse (copy, sizeof copy, &msg));
  /* Integrity over a changed attribute fails (FINGERPRINT fixed up). */
  memcpy (copy, sample_request, sizeof copy);
  copy[66] ^= 1; /* in USERNAME */
  guint32 crc = lb_stun_crc32 (copy, sizeof copy - 8) ^ 0x5354554e;
  copy[sizeof copy - 4] = crc >> 24, copy[sizeof copy - 3] = crc >> 16;
  copy[sizeof copy - 2] = crc >> 8, copy[sizeof copy - 1] = crc;
  g_assert_true (lb_stun_parse (copy, sizeof copy, &msg));
  g_assert_false (lb_stun_check_integrity (copy, sizeof copy, PASSWORD));
  /* Truncated, a wrong length, a wrong cookie, not STUN at all. */
  g_assert_false (lb_stun_parse (sample_request, sizeof sample_request - 4, &msg));
  g_assert_false (lb_stun_parse (sample_request, 10, &msg));
  memcpy (copy, sample_request, sizeof copy);
  copy[5] = 0;
  g_assert_false (lb_stun_parse (copy, sizeof copy, &msg));
  memcpy (copy, sample_request, sizeof copy);
  copy[0] = 0x80;
  g_assert_false (lb_stun_parse (copy, sizeof copy, &msg));
  memcpy (copy, sample_request, sizeof copy);
  copy[3] = 0x5c; /* body length past the end */
  g_assert_false (lb_stun_parse (copy, sizeof copy, &msg));
  /* An attribute claiming more than is there. */
  memcpy (copy, sample_request, sizeof copy);
  copy[23] = 0xff;
  g_assert_false (lb_stun_parse (copy, sizeof copy, &msg));
}

/* lb_stun_finish writes the vector's MESSAGE-INTEGRITY and FINGERPRINT
 * from the attributes before them. */
static void
test_finish_matches_the_vectors (void)
{
  guint8 buf[256];
  gsize head = sizeof sample_request - 24 - 8;
  memcpy (buf, sample_request, head);
  g_assert_cmpuint (lb_stun_finish (buf, head, sizeof buf, PASSWORD), ==, sizeof sample_request);
  g_assert_cmpmem (buf, sizeof sample_request, sample_request, sizeof sample_request);

  head = sizeof sample_response - 24 - 8;
  memcpy (buf, sample_response, head);
  g_assert_cmpuint (lb_stun_finish (buf, head, sizeof buf, PASSWORD), ==, sizeof sample_response);
  g_assert_cmpmem (buf, sizeof sample_response, sample_response, sizeof sample_response);

  LbStunMessage msg;
  g_assert_true (lb_stun_parse (sample_response, sizeof sample_response, &msg));
  g_assert_cmpuint (msg.type, ==, LB_STUN_BINDING_SUCCESS);
  g_assert_true (lb_stun_check_integrity (sample_response, sizeof sample_response, PASSWORD));
}

/* Our Binding answer to the sample request, for the vector's address:
 * its XOR-MAPPED-ADDRESS is the vector's, and it checks. */
static void
test_binding_success (void)
{
  LbStunMessage req, resp;
  guint8 out[LB_STUN_MAX_ANSWER];
  g_assert_true (lb_stun_parse (sample_request, sizeof sample_request, &req));
  g_autoptr (GSocketAddress) from = g_inet_socket_address_new_from_string ("192.0.2.1", 32853);
  gsize n = lb_stun_binding_success (&req, from, PASSWORD, out, sizeof out);
  g_assert_cmpuint (n, ==, 20 + 12 + 24 + 8);
  g_assert_true (lb_stun_parse (out, n, &resp));
  g_assert_cmpuint (resp.type, ==, LB_STUN_BINDING_SUCCESS);
  g_assert_true (resp.has_fingerprint);
  g_assert_cmpmem (resp.transaction, 12, req.transaction, 12);
  g_assert_true (lb_stun_check_integrity (out, n, PASSWORD));
  g_assert_cmpmem (out + 20, 12, sample_response + 36, 12);

  /* IPv6: the address is xored with the cookie and the transaction. */
  g_autoptr (GSocketAddress) v6
      = g_inet_socket_address_new_from_string ("2001:db8:1234:5678:11:2233:4455:6677", 32853);
  n = lb_stun_binding_success (&req, v6, PASSWORD, out, sizeof out);
  g_assert_cmpuint (n, ==, 20 + 24 + 24 + 8);
  g_assert_true (lb_stun_parse (out, n, &resp));
  static const guint8 ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
                                  0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77 };
  for (int i = 0; i < 16; i++)
    g_assert_cmphex (out[28 + i] ^ out[4 + i], ==, ip6[i]);
  g_assert_cmpuint (out[25], ==, 0x02);
}

static void
test_classify (void)
{
  static const guint8 stun[] = { 0x00, 0x01 }, dtls[] = { 22, 0xfe }, rtp[] = { 0x80, 96 },
                      other[] = { 0x40 }, edge64[] = { 64 }, edge192[] = { 192 };
  g_assert_cmpint (lb_webrtc_classify (stun, 2), ==, LB_RTC_PACKET_STUN);
  g_assert_cmpint (lb_webrtc_classify (dtls, 2), ==, LB_RTC_PACKET_DTLS);
  g_assert_cmpint (lb_webrtc_classify (rtp, 2), ==, LB_RTC_PACKET_RTP);
  g_assert_cmpint (lb_webrtc_classify (other, 1), ==, LB_RTC_PACKET_OTHER);
  g_assert_cmpint (lb_webrtc_classify (edge64, 1), ==, LB_RTC_PACKET_OTHER);
  g_assert_cmpint (lb_webrtc_classify (edge192, 1), ==, LB_RTC_PACKET_OTHER);
  g_assert_cmpint (lb_webrtc_classify (stun, 0), ==, LB_RTC_PACKET_OTHER);
  /* rtcp-mux: RTCP packet types 200-206 sit in RTP's second byte. */
  static const guint8 rr[8] = { 0x81, 201, 0, 1 }, pli[12] = { 0x81, 206, 0, 2 },
                      video[12] = { 0x80, 96 | 0x80, 0, 1 };
  g_assert_true (lb_webrtc_is_rtcp (rr, sizeof rr));
  g_assert_true (lb_webrtc_is_rtcp (pli, sizeof pli));
  g_assert_false (lb_webrtc_is_rtcp (video, sizeof video)); /* PT 96 with the marker: 224 */
  g_assert_false (lb_webrtc_is_rtcp (rr, 4));
}

/* ---- DTLS-SRTP against an OpenSSL client (what a browser does) ---- */

static void
pump (SSL *client, BIO *to_client, BIO *from_client, LbDtlsSrtp *server)
{
  for (int round = 0; round < 20 && lb_dtls_srtp_get_state (server) == LB_DTLS_HANDSHAKING; round++)
    {
      SSL_do_handshake (client);
      guint8 buf[4096];
      int n;
      while ((n = BIO_read (from_client, buf, sizeof buf)) > 0)
        {
          g_autoptr (GPtrArray) out
              = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
          lb_dtls_srtp_receive (server, buf, n, out);
          for (guint i = 0; i < out->len; i++)
            {
              gsize len;
              const void *p = g_bytes_get_data (out->pdata[i], &len);
              BIO_write (to_client, p, (int)len);
            }
        }
    }
  SSL_do_handshake (client);
}

static char *
cert_fingerprint (X509 *cert)
{
  unsigned char md[32];
  unsigned int n = 0;
  X509_digest (cert, EVP_sha256 (), md, &n);
  GString *s = g_string_new ("sha-256 ");
  for (unsigned int i = 0; i < n; i++)
    g_string_append_printf (s, i + 1 < n ? "%02x:" : "%02x", md[i]);
  return g_string_free (s, FALSE);
}

static void
handshake (gboolean right_fingerprint)
{
  g_assert_true (lb_dtls_srtp_init (NULL));
  g_assert_cmpuint (strlen (lb_dtls_srtp_fingerprint ()), ==, 32 * 3 - 1);

  EVP_PKEY *key = EVP_EC_gen ("P-256");
  X509 *cert = X509_new ();
  X509_set_version (cert, 2);
  ASN1_INTEGER_set (X509_get_serialNumber (cert), 1);
  X509_gmtime_adj (X509_getm_notBefore (cert), 0);
  X509_gmtime_adj (X509_getm_notAfter (cert), 3600);
  X509_set_pubkey (cert, key);
  X509_set_issuer_name (cert, X509_get_subject_name (cert));
  X509_sign (cert, key, EVP_sha256 ());
  SSL_CTX *ctx = SSL_CTX_new (DTLS_client_method ());
  SSL_CTX_use_certificate (ctx, cert);
  SSL_CTX_use_PrivateKey (ctx, key);
  SSL_CTX_set_tlsext_use_srtp (ctx, "SRTP_AES128_CM_SHA1_80");
  SSL *client = SSL_new (ctx);
  BIO *rbio = BIO_new (BIO_s_mem ()), *wbio = BIO_new (BIO_s_mem ());
  BIO_set_mem_eof_return (rbio, -1);
  BIO_set_mem_eof_return (wbio, -1);
  SSL_set_bio (client, rbio, wbio);
  SSL_set_connect_state (client);

  g_autofree char *fp
      = right_fingerprint ? cert_fingerprint (cert) : g_strdup ("sha-256 00:11:22:33");
  LbDtlsSrtp *server = lb_dtls_srtp_new (fp);
  pump (client, rbio, wbio, server);
  if (!right_fingerprint)
    g_assert_cmpint (lb_dtls_srtp_get_state (server), ==, LB_DTLS_FAILED);
  else
    {
      g_assert_cmpint (lb_dtls_srtp_get_state (server), ==, LB_DTLS_CONNECTED);
      g_assert_cmpint (SSL_is_init_finished (client), ==, 1);
      /* The server's certificate is the one its fingerprint names. */
      X509 *peer = SSL_get1_peer_certificate (client);
      g_autofree char *theirs = cert_fingerprint (peer);
      g_autofree char *want = g_ascii_strdown (lb_dtls_srtp_fingerprint (), -1);
      g_assert_cmpstr (theirs + 8, ==, want);
      X509_free (peer);
      /* An RTP packet protects (10-byte auth tag added). */
      guint8 rtp[64 + 16] = { 0x80, 96, 0, 1, 0, 0, 0, 1, 0x12, 0x34, 0x56, 0x78 };
      int len = 64;
      g_assert_true (lb_dtls_srtp_protect_rtp (server, rtp, &len));
      g_assert_cmpint (len, ==, 74);
      /* close_notify from the client ends it. */
      SSL_shutdown (client);
      guint8 buf[512];
      int n = BIO_read (wbio, buf, sizeof buf);
      g_assert_cmpint (n, >, 0);
      g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
      g_assert_cmpint (lb_dtls_srtp_receive (server, buf, n, out), ==, LB_DTLS_CLOSED);
    }
  lb_dtls_srtp_free (server);
  SSL_free (client);
  SSL_CTX_free (ctx);
  X509_free (cert);
  EVP_PKEY_free (key);
}

static void
test_dtls_handshake (void)
{
  handshake (TRUE);
}

static void
test_dtls_wrong_fingerprint (void)
{
  handshake (FALSE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/stun/crc32", test_crc32);
  g_test_add_func ("/stun/parse-rfc5769-request", test_parse_sample_request);
  g_test_add_func ("/stun/parse-rejects-damage", test_parse_rejects_damage);
  g_test_add_func ("/stun/finish-matches-rfc5769", test_finish_matches_the_vectors);
  g_test_add_func ("/stun/binding-success", test_binding_success);
  g_test_add_func ("/webrtc/classify", test_classify);
  g_test_add_func ("/dtls/handshake", test_dtls_handshake);
  g_test_add_func ("/dtls/wrong-fingerprint", test_dtls_wrong_fingerprint);
  return g_test_run ();
}
