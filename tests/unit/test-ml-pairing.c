/* test-ml-pairing.c — lb-ml-identity (generate once, reload, regenerate when
 * corrupt, key mode, signatures) and lb-ml-pairing (the four phrases with
 * the right PIN, a wrong PIN, tampering, wrong order, garbage). The client
 * side here is written from the protocol description with OpenSSL; the
 * independent Python client is tests/integration/test_ml_pairing.py. */
#include "lb-ml-identity.h"
#include "lb-ml-pairing.h"

#include <glib/gstdio.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>
#include <sys/stat.h>

static char *
make_tmpdir (void)
{
  char *dir = g_dir_make_tmp ("lb-ml-pairing-XXXXXX", NULL);
  g_assert_nonnull (dir);
  return dir;
}

static void
rm_rf (const char *dir)
{
  const char *names[]
      = { LB_ML_IDENTITY_CERT_FILE, LB_ML_IDENTITY_KEY_FILE, LB_ML_IDENTITY_UNIQUEID_FILE };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *p = g_build_filename (dir, names[i], NULL);
      g_unlink (p);
    }
  g_rmdir (dir);
}

static char *
read_file (const char *dir, const char *name)
{
  g_autofree char *p = g_build_filename (dir, name, NULL);
  char *text = NULL;
  g_assert_true (g_file_get_contents (p, &text, NULL, NULL));
  return text;
}

static void
write_file (const char *dir, const char *name, const char *text)
{
  g_autofree char *p = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (p, text, -1, NULL));
}

/* ---- identity ---- */

static void
test_identity_generate_reload (void)
{
  g_autofree char *tmp = make_tmpdir ();
  g_autofree char *dir = g_build_filename (tmp, "moonlight", NULL);
  g_autoptr (LbMlIdentity) a = lb_ml_identity_load (dir, NULL);
  g_assert_nonnull (a);
  g_assert_true (g_str_has_prefix (lb_ml_identity_cert_pem (a), "-----BEGIN CERTIFICATE-----"));
  g_assert_true (g_uuid_string_is_valid (lb_ml_identity_uniqueid (a)));

  g_autofree char *key_path = g_build_filename (dir, LB_ML_IDENTITY_KEY_FILE, NULL);
  struct stat st;
  g_assert_cmpint (g_stat (key_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* RSA-2048: a 256-byte certificate signature, and signatures that verify. */
  g_autoptr (GBytes) certsig = lb_ml_identity_cert_signature (a);
  g_assert_cmpuint (g_bytes_get_size (certsig), ==, 256);
  const guint8 msg[] = "hello";
  g_autoptr (GBytes) sig = lb_ml_identity_sign (a, msg, 5);
  g_assert_cmpuint (g_bytes_get_size (sig), ==, 256);
  const char *pem = lb_ml_identity_cert_pem (a);
  g_assert_true (lb_ml_cert_pem_verify (pem, strlen (pem), msg, 5, g_bytes_get_data (sig, NULL),
                                        g_bytes_get_size (sig)));
  g_assert_false (lb_ml_cert_pem_verify (pem, strlen (pem), msg, 4, g_bytes_get_data (sig, NULL),
                                         g_bytes_get_size (sig)));
  g_autoptr (GBytes) sig2 = lb_ml_cert_pem_signature (pem, strlen (pem));
  g_assert_true (g_bytes_equal (sig2, certsig));

  /* Reloaded, not regenerated. */
  g_autoptr (LbMlIdentity) b = lb_ml_identity_load (dir, NULL);
  g_assert_cmpstr (lb_ml_identity_cert_pem (a), ==, lb_ml_identity_cert_pem (b));
  g_assert_cmpstr (lb_ml_identity_key_pem (a), ==, lb_ml_identity_key_pem (b));
  g_assert_cmpstr (lb_ml_identity_uniqueid (a), ==, lb_ml_identity_uniqueid (b));

  /* A key left readable by others is tightened on load. */
  g_assert_cmpint (g_chmod (key_path, 0644), ==, 0);
  g_test_expect_message ("lobbyd-moonlight", G_LOG_LEVEL_WARNING, "*readable by others*");
  g_autoptr (LbMlIdentity) c = lb_ml_identity_load (dir, NULL);
  g_test_assert_expected_messages ();
  g_assert_cmpint (g_stat (key_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpstr (lb_ml_identity_cert_pem (a), ==, lb_ml_identity_cert_pem (c));
  rm_rf (dir);
  g_rmdir (tmp);
}

static void
test_identity_corrupt (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autoptr (LbMlIdentity) a = lb_ml_identity_load (dir, NULL);
  g_autofree char *uid = g_strdup (lb_ml_identity_uniqueid (a));

  /* A garbled certificate: a new pair, with a warning; the uniqueid stays. */
  write_file (dir, LB_ML_IDENTITY_CERT_FILE, "-----BEGIN CERTIFICATE-----\nnope\n");
  g_test_expect_message ("lobbyd-moonlight", G_LOG_LEVEL_WARNING, "*unusable*certificate*");
  g_autoptr (LbMlIdentity) b = lb_ml_identity_load (dir, NULL);
  g_test_assert_expected_messages ();
  g_assert_nonnull (b);
  g_assert_cmpstr (lb_ml_identity_cert_pem (a), !=, lb_ml_identity_cert_pem (b));
  g_assert_cmpstr (uid, ==, lb_ml_identity_uniqueid (b));
  g_autofree char *on_disk = read_file (dir, LB_ML_IDENTITY_CERT_FILE);
  g_assert_cmpstr (on_disk, ==, lb_ml_identity_cert_pem (b));

  /* A certificate of another key: not a pair. */
  g_autofree char *other_dir = make_tmpdir ();
  g_autoptr (LbMlIdentity) other = lb_ml_identity_load (other_dir, NULL);
  write_file (dir, LB_ML_IDENTITY_CERT_FILE, lb_ml_identity_cert_pem (other));
  g_test_expect_message ("lobbyd-moonlight", G_LOG_LEVEL_WARNING, "*does not belong to the key*");
  g_autoptr (LbMlIdentity) c = lb_ml_identity_load (dir, NULL);
  g_test_assert_expected_messages ();
  g_assert_cmpstr (lb_ml_identity_cert_pem (c), !=, lb_ml_identity_cert_pem (other));
  g_assert_cmpstr (lb_ml_identity_cert_pem (c), !=, lb_ml_identity_cert_pem (b));

  /* A missing key. */
  g_autofree char *key_path = g_build_filename (dir, LB_ML_IDENTITY_KEY_FILE, NULL);
  g_unlink (key_path);
  g_test_expect_message ("lobbyd-moonlight", G_LOG_LEVEL_WARNING, "*key is missing*");
  g_autoptr (LbMlIdentity) d = lb_ml_identity_load (dir, NULL);
  g_test_assert_expected_messages ();
  g_assert_nonnull (d);

  /* A garbled uniqueid. */
  write_file (dir, LB_ML_IDENTITY_UNIQUEID_FILE, "not-a-uuid\n");
  g_test_expect_message ("lobbyd-moonlight", G_LOG_LEVEL_WARNING, "*not a UUID*");
  g_autoptr (LbMlIdentity) e = lb_ml_identity_load (dir, NULL);
  g_test_assert_expected_messages ();
  g_assert_true (g_uuid_string_is_valid (lb_ml_identity_uniqueid (e)));
  g_assert_cmpstr (uid, !=, lb_ml_identity_uniqueid (e));
  g_assert_cmpstr (lb_ml_identity_cert_pem (d), ==, lb_ml_identity_cert_pem (e));

  /* An unwritable place is an error, not a crash. */
  GError *error = NULL;
  g_assert_null (lb_ml_identity_load ("/proc/lobbyd-no-such-dir/x", &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  rm_rf (dir);
  rm_rf (other_dir);
}

static void
test_hex (void)
{
  const guint8 bytes[] = { 0x00, 0x1f, 0xa0, 0xff };
  g_autofree char *hex = lb_ml_hex_encode (bytes, 4);
  g_assert_cmpstr (hex, ==, "001FA0FF");
  g_autoptr (GBytes) back = lb_ml_hex_decode ("001fa0FF", 16);
  g_assert_cmpmem (g_bytes_get_data (back, NULL), g_bytes_get_size (back), bytes, 4);
  g_autoptr (GBytes) empty = lb_ml_hex_decode ("", 16);
  g_assert_cmpuint (g_bytes_get_size (empty), ==, 0);
  g_assert_null (lb_ml_hex_decode ("abc", 16));
  g_assert_null (lb_ml_hex_decode ("zz", 16));
  g_assert_null (lb_ml_hex_decode ("0 ", 16));
  g_assert_null (lb_ml_hex_decode ("00112233", 3));
  g_assert_null (lb_ml_hex_decode (NULL, 3));
  g_assert_null (lb_ml_cert_pem_signature ("garbage", 7));
  g_assert_null (lb_ml_cert_pem_signature (NULL, 0));
  g_assert_false (lb_ml_cert_pem_verify ("garbage", 7, bytes, 4, bytes, 4));
}

/* ---- the client side, from the protocol description ---- */

typedef struct
{
  LbMlIdentity *host, *client;
  guint8 salt[16], key[16], challenge[16], client_secret[16], server_challenge[16];
  guint8 server_hash[32];
  char *host_pem;
} Client;

static void
ecb (const guint8 key[16], gboolean enc, guint8 *data, gsize len)
{
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  int out = 0;
  g_assert_cmpint (EVP_CipherInit_ex (ctx, EVP_aes_128_ecb (), NULL, key, NULL, enc), ==, 1);
  EVP_CIPHER_CTX_set_padding (ctx, 0);
  g_assert_cmpint (EVP_CipherUpdate (ctx, data, &out, data, (int)len), ==, 1);
  g_assert_cmpint (out, ==, (int)len);
  EVP_CIPHER_CTX_free (ctx);
}

static void
sha256 (guint8 out[32], const guint8 *a, gsize na, const guint8 *b, gsize nb, const guint8 *c,
        gsize nc)
{
  EVP_MD_CTX *md = EVP_MD_CTX_new ();
  EVP_DigestInit_ex (md, EVP_sha256 (), NULL);
  EVP_DigestUpdate (md, a, na);
  EVP_DigestUpdate (md, b, nb);
  EVP_DigestUpdate (md, c, nc);
  EVP_DigestFinal_ex (md, out, NULL);
  EVP_MD_CTX_free (md);
}

static GBytes *
unhex (const char *hex)
{
  GBytes *b = lb_ml_hex_decode (hex, 1 << 20);
  g_assert_nonnull (b);
  return b;
}

static LbMlIdentity *shared_client_identity;
static LbMlIdentity *shared_host_identity;
static char *shared_dirs[2];

static void
client_init (Client *c)
{
  memset (c, 0, sizeof *c);
  c->host = shared_host_identity;
  c->client = shared_client_identity;
  RAND_bytes (c->salt, 16);
  RAND_bytes (c->challenge, 16);
  RAND_bytes (c->client_secret, 16);
}

static void
client_clear (Client *c)
{
  g_free (c->host_pem);
}

static LbMlPairing *
client_begin (Client *c)
{
  g_autofree char *salt = lb_ml_hex_encode (c->salt, 16);
  const char *pem = lb_ml_identity_cert_pem (c->client);
  g_autofree char *cert = lb_ml_hex_encode ((const guint8 *)pem, strlen (pem));
  GError *error = NULL;
  LbMlPairing *p = lb_ml_pairing_new (c->host, salt, cert, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lb_ml_pairing_get_state (p), ==, LB_ML_PAIRING_WAITING_PIN);
  return p;
}

/* getservercert's reply with the operator's @server_pin; the client keys with @client_pin. */
static void
client_pin (Client *c, LbMlPairing *p, const char *server_pin, const char *client_pin)
{
  GError *error = NULL;
  g_autofree char *plaincert = lb_ml_pairing_set_pin (p, server_pin, &error);
  g_assert_no_error (error);
  g_autoptr (GBytes) pem = unhex (plaincert);
  c->host_pem = g_strndup (g_bytes_get_data (pem, NULL), g_bytes_get_size (pem));
  g_assert_cmpstr (c->host_pem, ==, lb_ml_identity_cert_pem (c->host));
  guint8 digest[32];
  guint8 salted[20];
  memcpy (salted, c->salt, 16);
  memcpy (salted + 16, client_pin, 4);
  sha256 (digest, salted, 20, NULL, 0, NULL, 0);
  memcpy (c->key, digest, 16);
}

static char *
client_challenge_hex (Client *c)
{
  guint8 enc[16];
  memcpy (enc, c->challenge, 16);
  ecb (c->key, TRUE, enc, 16);
  return lb_ml_hex_encode (enc, 16);
}

/* Reads challengeresponse: the server's hash and its challenge. */
static void
client_read_challenge_response (Client *c, const char *hex)
{
  g_autoptr (GBytes) b = unhex (hex);
  g_assert_cmpuint (g_bytes_get_size (b), ==, 48);
  guint8 plain[48];
  memcpy (plain, g_bytes_get_data (b, NULL), 48);
  ecb (c->key, FALSE, plain, 48);
  memcpy (c->server_hash, plain, 32);
  memcpy (c->server_challenge, plain + 32, 16);
}

static char *
client_hash_hex (Client *c)
{
  g_autoptr (GBytes) sig = lb_ml_identity_cert_signature (c->client);
  guint8 hash[32];
  sha256 (hash, c->server_challenge, 16, g_bytes_get_data (sig, NULL), g_bytes_get_size (sig),
          c->client_secret, 16);
  ecb (c->key, TRUE, hash, 32);
  return lb_ml_hex_encode (hash, 32);
}

/* Checks pairingsecret as a client does: the server's signature over its
 * secret, and that its hash covered our challenge, its certificate and that
 * secret. */
static gboolean
client_check_pairing_secret (Client *c, const char *hex)
{
  g_autoptr (GBytes) b = unhex (hex);
  gsize len = g_bytes_get_size (b);
  g_assert_cmpuint (len, ==, 16 + 256);
  const guint8 *d = g_bytes_get_data (b, NULL);
  if (!lb_ml_cert_pem_verify (c->host_pem, strlen (c->host_pem), d, 16, d + 16, len - 16))
    return FALSE;
  g_autoptr (GBytes) host_sig = lb_ml_cert_pem_signature (c->host_pem, strlen (c->host_pem));
  guint8 expect[32];
  sha256 (expect, c->challenge, 16, g_bytes_get_data (host_sig, NULL), g_bytes_get_size (host_sig),
          d, 16);
  return memcmp (expect, c->server_hash, 32) == 0;
}

static char *
client_secret_hex (Client *c)
{
  g_autoptr (GBytes) sig = lb_ml_identity_sign (c->client, c->client_secret, 16);
  gsize n = g_bytes_get_size (sig);
  g_autofree guint8 *buf = g_malloc (16 + n);
  memcpy (buf, c->client_secret, 16);
  memcpy (buf + 16, g_bytes_get_data (sig, NULL), n);
  return lb_ml_hex_encode (buf, 16 + n);
}

/* Runs the attempt up to and including serverchallengeresp. */
static LbMlPairing *
client_run_to_secret (Client *c, const char *server_pin, const char *typed_pin, gboolean *server_ok)
{
  GError *error = NULL;
  LbMlPairing *p = client_begin (c);
  client_pin (c, p, server_pin, typed_pin);
  g_autofree char *ch = client_challenge_hex (c);
  g_autofree char *resp = lb_ml_pairing_client_challenge (p, ch, &error);
  g_assert_no_error (error);
  client_read_challenge_response (c, resp);
  g_autofree char *hash = client_hash_hex (c);
  g_autofree char *secret = lb_ml_pairing_server_challenge_resp (p, hash, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lb_ml_pairing_get_state (p), ==, LB_ML_PAIRING_SECRET_SENT);
  *server_ok = client_check_pairing_secret (c, secret);
  return p;
}

static void
test_pair_right_pin (void)
{
  Client c;
  client_init (&c);
  gboolean server_ok = FALSE;
  g_autoptr (LbMlPairing) p = client_run_to_secret (&c, "4711", "4711", &server_ok);
  g_assert_true (server_ok);
  g_assert_null (lb_ml_pairing_client_cert_pem (p));
  g_autofree char *secret = client_secret_hex (&c);
  GError *error = NULL;
  g_assert_true (lb_ml_pairing_client_pairing_secret (p, secret, &error));
  g_assert_no_error (error);
  g_assert_cmpint (lb_ml_pairing_get_state (p), ==, LB_ML_PAIRING_PAIRED);
  g_assert_cmpstr (lb_ml_pairing_client_cert_pem (p), ==,
                   lb_ml_identity_cert_pem (shared_client_identity));
  /* Done is done: a replay is refused. */
  g_assert_false (lb_ml_pairing_client_pairing_secret (p, secret, &error));
  g_assert_error (error, LB_ML_PAIRING_ERROR, LB_ML_PAIRING_ERROR_OUT_OF_ORDER);
  g_clear_error (&error);
  client_clear (&c);
}

static void
test_pair_wrong_pin (void)
{
  Client c;
  client_init (&c);
  gboolean server_ok = TRUE;
  g_autoptr (LbMlPairing) p = client_run_to_secret (&c, "1234", "1235", &server_ok);
  /* The client sees the wrong PIN too: the server hashed a garbled challenge. */
  g_assert_false (server_ok);
  g_autofree char *secret = client_secret_hex (&c);
  GError *error = NULL;
  g_assert_false (lb_ml_pairing_client_pairing_secret (p, secret, &error));
  g_assert_error (error, LB_ML_PAIRING_ERROR, LB_ML_PAIRING_ERROR_HASH_MISMATCH);
  g_assert_cmpstr (lb_ml_pairing_error_reason (error->code), ==, "hash_mismatch");
  g_assert_nonnull (strstr (error->message, "wrong PIN"));
  g_clear_error (&error);
  g_assert_cmpint (lb_ml_pairing_get_state (p), ==, LB_ML_PAIRING_FAILED);
  g_assert_null (lb_ml_pairing_client_cert_pem (p));
  g_assert_false (lb_ml_pairing_client_pairing_secret (p, secret, &error));
  g_assert_error (error, LB_ML_PAIRING_ERROR, LB_ML_PAIRING_ERROR_ABORTED);
  g_clear_error (&error);
  client_clear (&c);
}

static void
test_pair_tampered (void)
{
  for (int what = 0; what < 3; what++)
    {
      Client c;
      client_init (&c);
      gboolean server_ok = FALSE;
      g_autoptr (LbMlPairing) p = client_run_to_secret (&c, "0000", "0000", &server_ok);
      g_assert_true (server_ok);
      g_autofree char *secret = client_secret_hex (&c);
      GError *error = NULL;
      int expect;
      if (what == 0)
        {
          /* A flipped bit in the signature. */
          secret[40] = secret[40] == '0' ? '1' : '0';
          expect = LB_ML_PAIRING_ERROR_BAD_SIGNATURE;
        }
      else if (what == 1)
        {
          /* Another secret (signed correctly) than the one the hash covered. */
          RAND_bytes (c.client_secret, 16);
          g_free (secret);
          secret = client_secret_hex (&c);
          expect = LB_ML_PAIRING_ERROR_HASH_MISMATCH;
        }
      else
        {
          /* The signature of a key other than the certificate's. */
          LbMlIdentity *real = c.client;
          c.client = c.host;
          g_free (secret);
          secret = client_secret_hex (&c);
          c.client = real;
          expect = LB_ML_PAIRING_ERROR_BAD_SIGNATURE;
        }
      g_assert_false (lb_ml_pairing_client_pairing_secret (p, secret, &error));
      g_assert_error (error, LB_ML_PAIRING_ERROR, expect);
      g_clear_error (&error);
      g_assert_null (lb_ml_pairing_client_cert_pem (p));
      client_clear (&c);
    }
}

static void
test_pair_out_of_order (void)
{
  Client c;
  client_init (&c);
  GError *error = NULL;
  g_autoptr (LbMlPairing) p = client_begin (&c);
  g_autofree char *ch = g_strnfill (32, 'A');
  g_assert_null (lb_ml_pairing_client_challenge (p, ch, &error));
  g_assert_error (error, LB_ML_PAIRING_ERROR, LB_ML_PAIRING_ERROR_OUT_OF_ORDER);
  g_clear_error (&error);
  /* The attempt is over, even for the right next step. */
  g_assert_null (lb_ml_pairing_set_pin (p, "1234", &error));
  g_assert_error (error, LB_ML_PAIRING_ERROR, LB_ML_PAIRING_ERROR_ABORTED);
  g_clear_error (&error);

  /* Skipping a phrase. */
  g_autoptr (LbMlPairing) q = client_begin (&c);
  client_pin (&c, q, "1234", "1234");
  g_autofree char *h = g_strnfill (64, 'B');
  g_assert_null (lb_ml_pairing_server_challenge_resp (q, h, &error));
  g_assert_error (error, LB_ML_PAIRING_ERROR, LB_ML_PAIRING_ERROR_OUT_OF_ORDER);
  g_clear_error (&error);
  g_assert_cmpint (lb_ml_pairing_get_state (q), ==, LB_ML_PAIRING_FAILED);
  client_clear (&c);
}

static void
test_pair_bad_pin_format (void)
{
  Client c;
  client_init (&c);
  g_autoptr (LbMlPairing) p = client_begin (&c);
  const char *bad[] = { "", "123", "12345", "12a4", " 123", NULL };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      GError *error = NULL;
      g_assert_null (lb_ml_pairing_set_pin (p, bad[i], &error));
      g_assert_error (error, LB_ML_PAIRING_ERROR, LB_ML_PAIRING_ERROR_BAD_PIN);
      g_clear_error (&error);
      /* The operator may type again. */
      g_assert_cmpint (lb_ml_pairing_get_state (p), ==, LB_ML_PAIRING_WAITING_PIN);
    }
  client_pin (&c, p, "9876", "9876");
  g_assert_cmpint (lb_ml_pairing_get_state (p), ==, LB_ML_PAIRING_CERT_SENT);
  client_clear (&c);
}

static void
test_pair_bad_start (void)
{
  const char *pem = lb_ml_identity_cert_pem (shared_client_identity);
  g_autofree char *cert = lb_ml_hex_encode ((const guint8 *)pem, strlen (pem));
  g_autofree char *salt = g_strnfill (32, '7');
  g_autofree char *salt_short = g_strnfill (30, '7');
  g_autofree char *salt_long = g_strnfill (34, '7');
  g_autofree char *huge = g_strnfill (1 << 20, 'A');
  g_autofree char *not_pem = lb_ml_hex_encode ((const guint8 *)"hello", 5);
  /* A PEM with a NUL inside: not what we store. */
  g_autofree char *nul_pem = g_strconcat (cert, "00", NULL);
  struct
  {
    const char *salt, *cert;
    int code;
  } cases[] = {
    { NULL, cert, LB_ML_PAIRING_ERROR_BAD_HEX },
    { "zz", cert, LB_ML_PAIRING_ERROR_BAD_HEX },
    { salt_short, cert, LB_ML_PAIRING_ERROR_BAD_LENGTH },
    { salt_long, cert, LB_ML_PAIRING_ERROR_BAD_LENGTH },
    { salt, NULL, LB_ML_PAIRING_ERROR_BAD_HEX },
    { salt, "", LB_ML_PAIRING_ERROR_BAD_LENGTH },
    { salt, "abc", LB_ML_PAIRING_ERROR_BAD_HEX },
    { salt, huge, LB_ML_PAIRING_ERROR_BAD_LENGTH },
    { salt, not_pem, LB_ML_PAIRING_ERROR_BAD_CERT },
    { salt, nul_pem, LB_ML_PAIRING_ERROR_BAD_CERT },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      GError *error = NULL;
      g_assert_null (
          lb_ml_pairing_new (shared_host_identity, cases[i].salt, cases[i].cert, &error));
      g_assert_error (error, LB_ML_PAIRING_ERROR, cases[i].code);
      g_clear_error (&error);
    }
}

/* Wrong sizes and non-hex at every phrase: refused with the reason, never a
 * crash (ASan build), and the attempt is over. */
static void
test_pair_garbage (void)
{
  const char *garbage[]
      = { NULL, "", "0", "zz", "0g", "00", "%00%00", "00000000000000000000000000000000ff" };
  for (int phase = 0; phase < 3; phase++)
    for (guint g = 0; g < G_N_ELEMENTS (garbage); g++)
      {
        Client c;
        client_init (&c);
        GError *error = NULL;
        g_autoptr (LbMlPairing) p = client_begin (&c);
        client_pin (&c, p, "1111", "1111");
        if (phase >= 1)
          {
            g_autofree char *ch = client_challenge_hex (&c);
            g_autofree char *r = lb_ml_pairing_client_challenge (p, ch, &error);
            g_assert_no_error (error);
            client_read_challenge_response (&c, r);
          }
        if (phase >= 2)
          {
            g_autofree char *h = client_hash_hex (&c);
            g_autofree char *r = lb_ml_pairing_server_challenge_resp (p, h, &error);
            g_assert_no_error (error);
          }
        gboolean refused;
        if (phase == 0)
          {
            g_autofree char *r = lb_ml_pairing_client_challenge (p, garbage[g], &error);
            refused = r == NULL;
          }
        else if (phase == 1)
          {
            g_autofree char *r = lb_ml_pairing_server_challenge_resp (p, garbage[g], &error);
            refused = r == NULL;
          }
        else
          refused = !lb_ml_pairing_client_pairing_secret (p, garbage[g], &error);
        g_assert_true (refused);
        g_assert_nonnull (error);
        /* 17 bytes are a (bad) secret ‖ signature in the last phrase. */
        g_assert_true (error->code == LB_ML_PAIRING_ERROR_BAD_HEX
                       || error->code == LB_ML_PAIRING_ERROR_BAD_LENGTH
                       || (phase == 2 && error->code == LB_ML_PAIRING_ERROR_BAD_SIGNATURE));
        g_clear_error (&error);
        g_assert_cmpint (lb_ml_pairing_get_state (p), ==, LB_ML_PAIRING_FAILED);
        client_clear (&c);
      }

  /* A signature as long as the limit allows, all zeros: bad_signature. */
  Client c;
  client_init (&c);
  gboolean ok;
  g_autoptr (LbMlPairing) p = client_run_to_secret (&c, "2222", "2222", &ok);
  g_autofree char *zeros = g_strnfill ((16 + 2048) * 2, '0');
  GError *error = NULL;
  g_assert_false (lb_ml_pairing_client_pairing_secret (p, zeros, &error));
  g_assert_error (error, LB_ML_PAIRING_ERROR, LB_ML_PAIRING_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);
  client_clear (&c);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  shared_dirs[0] = make_tmpdir ();
  shared_dirs[1] = make_tmpdir ();
  shared_host_identity = lb_ml_identity_load (shared_dirs[0], NULL);
  shared_client_identity = lb_ml_identity_load (shared_dirs[1], NULL);
  g_test_add_func ("/ml-identity/generate-reload", test_identity_generate_reload);
  g_test_add_func ("/ml-identity/corrupt", test_identity_corrupt);
  g_test_add_func ("/ml-identity/hex", test_hex);
  g_test_add_func ("/ml-pairing/right-pin", test_pair_right_pin);
  g_test_add_func ("/ml-pairing/wrong-pin", test_pair_wrong_pin);
  g_test_add_func ("/ml-pairing/tampered", test_pair_tampered);
  g_test_add_func ("/ml-pairing/out-of-order", test_pair_out_of_order);
  g_test_add_func ("/ml-pairing/bad-pin-format", test_pair_bad_pin_format);
  g_test_add_func ("/ml-pairing/bad-start", test_pair_bad_start);
  g_test_add_func ("/ml-pairing/garbage", test_pair_garbage);
  int rc = g_test_run ();
  lb_ml_identity_unref (shared_host_identity);
  lb_ml_identity_unref (shared_client_identity);
  rm_rf (shared_dirs[0]);
  rm_rf (shared_dirs[1]);
  g_free (shared_dirs[0]);
  g_free (shared_dirs[1]);
  return rc;
}
