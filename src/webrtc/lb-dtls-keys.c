/* lb-dtls-keys.c — fingerprints and SRTP keys from a DTLS-SRTP handshake. */
#include "lb-dtls-keys.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#define SRTP_KEY 16
#define SRTP_SALT 14

void
lb_dtls_srtp_digest (X509 *cert, char *out)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest (cert, EVP_sha256 (), md, &n);
  for (unsigned int i = 0; i < n; i++)
    sprintf (out + 3 * i, i + 1 < n ? "%02X:" : "%02X", md[i]);
}

gboolean
lb_dtls_srtp_key (SSL *ssl, gboolean server, srtp_t *tx, srtp_t *rx)
{
  guint8 km[2 * (SRTP_KEY + SRTP_SALT)];
  static const char label[] = "EXTRACTOR-dtls_srtp";
  const SRTP_PROTECTION_PROFILE *profile = SSL_get_selected_srtp_profile (ssl);
  if (profile == NULL || profile->id != SRTP_AES128_CM_SHA1_80
      || SSL_export_keying_material (ssl, km, sizeof km, label, strlen (label), NULL, 0, 0) != 1)
    return FALSE;
  guint8 client[SRTP_KEY + SRTP_SALT], srv[SRTP_KEY + SRTP_SALT];
  memcpy (client, km, SRTP_KEY);
  memcpy (srv, km + SRTP_KEY, SRTP_KEY);
  memcpy (client + SRTP_KEY, km + 2 * SRTP_KEY, SRTP_SALT);
  memcpy (srv + SRTP_KEY, km + 2 * SRTP_KEY + SRTP_SALT, SRTP_SALT);

  srtp_policy_t p;
  memset (&p, 0, sizeof p);
  srtp_crypto_policy_set_rtp_default (&p.rtp);
  srtp_crypto_policy_set_rtcp_default (&p.rtcp);
  p.window_size = 1024;
  p.ssrc.type = ssrc_any_outbound;
  p.key = server ? srv : client;
  if (srtp_create (tx, &p) != srtp_err_status_ok)
    return FALSE;
  p.ssrc.type = ssrc_any_inbound;
  p.key = server ? client : srv;
  return srtp_create (rx, &p) == srtp_err_status_ok;
}
