/* lb-ml-pairing.c — GameStream PIN pairing (SHA-256 generation: host major
 * version 7), AES-128-ECB without padding, RSA-PKCS#1 v1.5 SHA-256. */
#define G_LOG_DOMAIN "lobbyd-moonlight"
#include "lb-ml-pairing.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#define SALT_LEN 16
#define SECRET_LEN 16 /* challenges and secrets */
#define HASH_LEN 32   /* SHA-256 */
#define PIN_LEN 4
/* A client certificate's PEM is a couple of KiB; an RSA-16384 signature 2 KiB. */
#define MAX_CERT_PEM (32 * 1024)
#define MAX_SIG 2048

G_DEFINE_QUARK (lobbyd - ml - pairing - error - quark, lb_ml_pairing_error)

struct _LbMlPairing
{
  LbMlIdentity *identity;
  LbMlPairingState state;
  guint8 salt[SALT_LEN];
  char *client_pem; /* NUL-terminated */
  gsize client_pem_len;
  GBytes *client_sig; /* the client certificate's X.509 signature */
  guint8 key[16];     /* SHA256(salt ‖ PIN)[0:16] */
  guint8 server_secret[SECRET_LEN];
  guint8 server_challenge[SECRET_LEN];
  guint8 client_hash[HASH_LEN];
};

const char *
lb_ml_pairing_error_reason (LbMlPairingError code)
{
  switch (code)
    {
    case LB_ML_PAIRING_ERROR_BAD_HEX:
      return "bad_hex";
    case LB_ML_PAIRING_ERROR_BAD_LENGTH:
      return "bad_length";
    case LB_ML_PAIRING_ERROR_BAD_CERT:
      return "bad_certificate";
    case LB_ML_PAIRING_ERROR_BAD_PIN:
      return "bad_pin";
    case LB_ML_PAIRING_ERROR_OUT_OF_ORDER:
      return "out_of_order";
    case LB_ML_PAIRING_ERROR_HASH_MISMATCH:
      return "hash_mismatch";
    case LB_ML_PAIRING_ERROR_BAD_SIGNATURE:
      return "bad_signature";
    case LB_ML_PAIRING_ERROR_ABORTED:
      return "aborted";
    case LB_ML_PAIRING_ERROR_INTERNAL:
      return "internal";
    }
  return "unknown";
}

const char *
lb_ml_pairing_state_name (LbMlPairingState state)
{
  switch (state)
    {
    case LB_ML_PAIRING_WAITING_PIN:
      return "waiting_pin";
    case LB_ML_PAIRING_CERT_SENT:
      return "cert_sent";
    case LB_ML_PAIRING_CHALLENGED:
      return "challenged";
    case LB_ML_PAIRING_SECRET_SENT:
      return "secret_sent";
    case LB_ML_PAIRING_PAIRED:
      return "paired";
    case LB_ML_PAIRING_FAILED:
      return "failed";
    }
  return "unknown";
}

static void
wipe_secrets (LbMlPairing *p)
{
  OPENSSL_cleanse (p->key, sizeof p->key);
  OPENSSL_cleanse (p->server_secret, sizeof p->server_secret);
  OPENSSL_cleanse (p->server_challenge, sizeof p->server_challenge);
  OPENSSL_cleanse (p->client_hash, sizeof p->client_hash);
}

/* Ends the attempt: sets @error and returns FALSE for the caller's return. */
static gboolean fail (LbMlPairing *p, GError **error, LbMlPairingError code, const char *format,
                      ...) G_GNUC_PRINTF (4, 5);

static gboolean
fail (LbMlPairing *p, GError **error, LbMlPairingError code, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_debug ("pairing refused (%s): %s", lb_ml_pairing_error_reason (code), message);
  g_set_error_literal (error, LB_ML_PAIRING_ERROR, code, message);
  if (p)
    {
      p->state = LB_ML_PAIRING_FAILED;
      wipe_secrets (p);
    }
  return FALSE;
}

/* @hex as bytes, between @min and @max of them. The length bound is checked
 * before decoding: a huge parameter costs nothing. */
static GBytes *
decode (LbMlPairing *p, const char *what, const char *hex, gsize min, gsize max, GError **error)
{
  if (hex == NULL)
    {
      fail (p, error, LB_ML_PAIRING_ERROR_BAD_HEX, "%s is missing", what);
      return NULL;
    }
  gsize n = strnlen (hex, max * 2 + 1);
  if (n > max * 2)
    {
      fail (p, error, LB_ML_PAIRING_ERROR_BAD_LENGTH, "%s is longer than %" G_GSIZE_FORMAT " bytes",
            what, max);
      return NULL;
    }
  GBytes *bytes = lb_ml_hex_decode (hex, max);
  if (bytes == NULL)
    {
      fail (p, error, LB_ML_PAIRING_ERROR_BAD_HEX, "%s is not hex", what);
      return NULL;
    }
  gsize len = g_bytes_get_size (bytes);
  if (len < min || len > max)
    {
      if (min == max)
        fail (p, error, LB_ML_PAIRING_ERROR_BAD_LENGTH,
              "%s is %" G_GSIZE_FORMAT " bytes, not %" G_GSIZE_FORMAT, what, len, min);
      else
        fail (p, error, LB_ML_PAIRING_ERROR_BAD_LENGTH,
              "%s is %" G_GSIZE_FORMAT " bytes, not %" G_GSIZE_FORMAT "-%" G_GSIZE_FORMAT, what,
              len, min, max);
      g_bytes_unref (bytes);
      return NULL;
    }
  return bytes;
}

/* AES-128-ECB without padding over whole blocks, in place. */
static gboolean
ecb (const guint8 key[16], gboolean encrypt, guint8 *data, gsize len)
{
  g_return_val_if_fail (len % 16 == 0 && len <= G_MAXINT, FALSE);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  int out = 0;
  gboolean ok = ctx && EVP_CipherInit_ex (ctx, EVP_aes_128_ecb (), NULL, key, NULL, encrypt) == 1
                && EVP_CIPHER_CTX_set_padding (ctx, 0) == 1
                && EVP_CipherUpdate (ctx, data, &out, data, (int)len) == 1 && out == (int)len;
  EVP_CIPHER_CTX_free (ctx);
  return ok;
}

/* SHA-256 of the concatenation of @n (pointer, length) pairs. */
static gboolean
sha256_concat (guint8 out[HASH_LEN], guint n, ...)
{
  EVP_MD_CTX *md = EVP_MD_CTX_new ();
  gboolean ok = md && EVP_DigestInit_ex (md, EVP_sha256 (), NULL) == 1;
  va_list args;
  va_start (args, n);
  for (guint i = 0; i < n; i++)
    {
      const guint8 *data = va_arg (args, const guint8 *);
      gsize len = va_arg (args, gsize);
      ok = ok && EVP_DigestUpdate (md, data, len) == 1;
    }
  va_end (args);
  unsigned int out_len = 0;
  ok = ok && EVP_DigestFinal_ex (md, out, &out_len) == 1 && out_len == HASH_LEN;
  EVP_MD_CTX_free (md);
  return ok;
}

static gboolean
expect (LbMlPairing *p, LbMlPairingState state, const char *phrase, GError **error)
{
  if (p->state == state)
    return TRUE;
  if (p->state == LB_ML_PAIRING_FAILED)
    return fail (p, error, LB_ML_PAIRING_ERROR_ABORTED,
                 "%s after the pairing attempt failed: start again", phrase);
  return fail (p, error, LB_ML_PAIRING_ERROR_OUT_OF_ORDER, "%s out of order (attempt is %s)",
               phrase, lb_ml_pairing_state_name (p->state));
}

LbMlPairing *
lb_ml_pairing_new (LbMlIdentity *identity, const char *salt_hex, const char *clientcert_hex,
                   GError **error)
{
  g_return_val_if_fail (identity != NULL, NULL);
  g_autoptr (GBytes) salt = decode (NULL, "salt", salt_hex, SALT_LEN, SALT_LEN, error);
  if (salt == NULL)
    return NULL;
  g_autoptr (GBytes) pem = decode (NULL, "clientcert", clientcert_hex, 1, MAX_CERT_PEM, error);
  if (pem == NULL)
    return NULL;
  gsize pem_len = 0;
  const char *pem_data = g_bytes_get_data (pem, &pem_len);
  /* The signature check at the end needs an RSA key: refuse anything else now
   * rather than after the operator typed the PIN. */
  g_autoptr (GBytes) sig = lb_ml_cert_pem_signature (pem_data, pem_len);
  if (sig == NULL || memchr (pem_data, '\0', pem_len) != NULL)
    {
      fail (NULL, error, LB_ML_PAIRING_ERROR_BAD_CERT, "clientcert is not a PEM RSA certificate");
      return NULL;
    }

  LbMlPairing *p = g_new0 (LbMlPairing, 1);
  p->identity = lb_ml_identity_ref (identity);
  p->state = LB_ML_PAIRING_WAITING_PIN;
  memcpy (p->salt, g_bytes_get_data (salt, NULL), SALT_LEN);
  p->client_pem = g_strndup (pem_data, pem_len);
  p->client_pem_len = pem_len;
  p->client_sig = g_steal_pointer (&sig);
  return p;
}

void
lb_ml_pairing_free (LbMlPairing *pairing)
{
  if (pairing == NULL)
    return;
  wipe_secrets (pairing);
  lb_ml_identity_unref (pairing->identity);
  g_free (pairing->client_pem);
  g_clear_pointer (&pairing->client_sig, g_bytes_unref);
  g_free (pairing);
}

LbMlPairingState
lb_ml_pairing_get_state (LbMlPairing *pairing)
{
  return pairing->state;
}

char *
lb_ml_pairing_set_pin (LbMlPairing *p, const char *pin, GError **error)
{
  if (!expect (p, LB_ML_PAIRING_WAITING_PIN, "the PIN", error))
    return NULL;
  gboolean digits = pin != NULL && strlen (pin) == PIN_LEN;
  for (guint i = 0; digits && i < PIN_LEN; i++)
    digits = g_ascii_isdigit (pin[i]);
  if (!digits)
    {
      /* The operator mistyped; the client is still waiting: keep the attempt. */
      g_set_error_literal (error, LB_ML_PAIRING_ERROR, LB_ML_PAIRING_ERROR_BAD_PIN,
                           "the PIN must be 4 digits");
      return NULL;
    }
  guint8 digest[HASH_LEN];
  if (!sha256_concat (digest, 2, p->salt, (gsize)SALT_LEN, (const guint8 *)pin, (gsize)PIN_LEN))
    {
      fail (p, error, LB_ML_PAIRING_ERROR_INTERNAL, "SHA-256 failed");
      return NULL;
    }
  memcpy (p->key, digest, sizeof p->key);
  OPENSSL_cleanse (digest, sizeof digest);
  p->state = LB_ML_PAIRING_CERT_SENT;
  const char *pem = lb_ml_identity_cert_pem (p->identity);
  return lb_ml_hex_encode ((const guint8 *)pem, strlen (pem));
}

char *
lb_ml_pairing_client_challenge (LbMlPairing *p, const char *hex, GError **error)
{
  if (!expect (p, LB_ML_PAIRING_CERT_SENT, "clientchallenge", error))
    return NULL;
  g_autoptr (GBytes) enc = decode (p, "clientchallenge", hex, SECRET_LEN, SECRET_LEN, error);
  if (enc == NULL)
    return NULL;
  guint8 challenge[SECRET_LEN];
  memcpy (challenge, g_bytes_get_data (enc, NULL), SECRET_LEN);
  g_autoptr (GBytes) host_sig = lb_ml_identity_cert_signature (p->identity);
  /* reply = ECB(SHA256(challenge ‖ host cert signature ‖ server secret) ‖ server challenge) */
  guint8 reply[HASH_LEN + SECRET_LEN];
  gboolean ok = host_sig != NULL && ecb (p->key, FALSE, challenge, SECRET_LEN)
                && RAND_bytes (p->server_secret, SECRET_LEN) == 1
                && RAND_bytes (p->server_challenge, SECRET_LEN) == 1
                && sha256_concat (reply, 3, challenge, (gsize)SECRET_LEN,
                                  (const guint8 *)g_bytes_get_data (host_sig, NULL),
                                  g_bytes_get_size (host_sig), p->server_secret, (gsize)SECRET_LEN);
  OPENSSL_cleanse (challenge, sizeof challenge);
  if (!ok)
    {
      fail (p, error, LB_ML_PAIRING_ERROR_INTERNAL, "clientchallenge: a crypto call failed");
      return NULL;
    }
  memcpy (reply + HASH_LEN, p->server_challenge, SECRET_LEN);
  if (!ecb (p->key, TRUE, reply, sizeof reply))
    {
      fail (p, error, LB_ML_PAIRING_ERROR_INTERNAL, "clientchallenge: AES failed");
      return NULL;
    }
  p->state = LB_ML_PAIRING_CHALLENGED;
  return lb_ml_hex_encode (reply, sizeof reply);
}

char *
lb_ml_pairing_server_challenge_resp (LbMlPairing *p, const char *hex, GError **error)
{
  if (!expect (p, LB_ML_PAIRING_CHALLENGED, "serverchallengeresp", error))
    return NULL;
  /* 32 bytes: a SHA-1-era client (20 bytes, padded to 32) is not supported. */
  g_autoptr (GBytes) enc = decode (p, "serverchallengeresp", hex, HASH_LEN, HASH_LEN, error);
  if (enc == NULL)
    return NULL;
  memcpy (p->client_hash, g_bytes_get_data (enc, NULL), HASH_LEN);
  if (!ecb (p->key, FALSE, p->client_hash, HASH_LEN))
    {
      fail (p, error, LB_ML_PAIRING_ERROR_INTERNAL, "serverchallengeresp: AES failed");
      return NULL;
    }
  g_autoptr (GBytes) sig = lb_ml_identity_sign (p->identity, p->server_secret, SECRET_LEN);
  if (sig == NULL)
    {
      fail (p, error, LB_ML_PAIRING_ERROR_INTERNAL, "serverchallengeresp: signing failed");
      return NULL;
    }
  gsize sig_len = g_bytes_get_size (sig);
  g_autofree guint8 *reply = g_malloc (SECRET_LEN + sig_len);
  memcpy (reply, p->server_secret, SECRET_LEN);
  memcpy (reply + SECRET_LEN, g_bytes_get_data (sig, NULL), sig_len);
  p->state = LB_ML_PAIRING_SECRET_SENT;
  return lb_ml_hex_encode (reply, SECRET_LEN + sig_len);
}

gboolean
lb_ml_pairing_client_pairing_secret (LbMlPairing *p, const char *hex, GError **error)
{
  if (!expect (p, LB_ML_PAIRING_SECRET_SENT, "clientpairingsecret", error))
    return FALSE;
  g_autoptr (GBytes) bytes
      = decode (p, "clientpairingsecret", hex, SECRET_LEN + 1, SECRET_LEN + MAX_SIG, error);
  if (bytes == NULL)
    return FALSE;
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  const guint8 *client_secret = data, *sig = data + SECRET_LEN;
  gsize sig_len = len - SECRET_LEN;

  /* The client holds its certificate's key … */
  if (!lb_ml_cert_pem_verify (p->client_pem, p->client_pem_len, client_secret, SECRET_LEN, sig,
                              sig_len))
    return fail (p, error, LB_ML_PAIRING_ERROR_BAD_SIGNATURE,
                 "clientpairingsecret's signature does not verify with the client certificate");

  /* … and knew the PIN: its hash was encrypted with the PIN's key. */
  guint8 expected[HASH_LEN];
  if (!sha256_concat (expected, 3, p->server_challenge, (gsize)SECRET_LEN,
                      (const guint8 *)g_bytes_get_data (p->client_sig, NULL),
                      g_bytes_get_size (p->client_sig), client_secret, (gsize)SECRET_LEN))
    return fail (p, error, LB_ML_PAIRING_ERROR_INTERNAL, "SHA-256 failed");
  gboolean same = CRYPTO_memcmp (expected, p->client_hash, HASH_LEN) == 0;
  OPENSSL_cleanse (expected, sizeof expected);
  if (!same)
    return fail (p, error, LB_ML_PAIRING_ERROR_HASH_MISMATCH,
                 "the client's challenge hash does not match: wrong PIN");

  wipe_secrets (p);
  p->state = LB_ML_PAIRING_PAIRED;
  return TRUE;
}

const char *
lb_ml_pairing_client_cert_pem (LbMlPairing *pairing)
{
  return pairing->state == LB_ML_PAIRING_PAIRED ? pairing->client_pem : NULL;
}
