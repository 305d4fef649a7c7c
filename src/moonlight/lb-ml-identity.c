/* lb-ml-identity.c — the GameStream host key, certificate and uniqueid (OpenSSL 3). */
#define G_LOG_DOMAIN "lobbyd-moonlight"
#include "lb-ml-identity.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <string.h>
#include <sys/stat.h>

#define KEY_BITS 2048
/* Clients pin the certificate at pairing: it must outlive any deployment. */
#define CERT_DAYS (20L * 365)
/* A PEM certificate larger than this is not one a client sends. */
#define MAX_PEM (64 * 1024)

struct _LbMlIdentity
{
  gint refs;
  EVP_PKEY *key;
  X509 *cert;
  char *cert_pem;
  char *key_pem;
  char *uniqueid;
};

static X509 *
cert_from_pem (const char *pem, gsize len)
{
  if (pem == NULL || len == 0 || len > MAX_PEM)
    return NULL;
  BIO *bio = BIO_new_mem_buf (pem, (int)len);
  X509 *cert = bio ? PEM_read_bio_X509 (bio, NULL, NULL, NULL) : NULL;
  BIO_free (bio);
  return cert;
}

static EVP_PKEY *
key_from_pem (const char *pem, gsize len)
{
  if (pem == NULL || len == 0 || len > MAX_PEM)
    return NULL;
  BIO *bio = BIO_new_mem_buf (pem, (int)len);
  EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey (bio, NULL, NULL, NULL) : NULL;
  BIO_free (bio);
  return key;
}

static char *
bio_text (BIO *bio)
{
  char *data = NULL;
  long n = BIO_get_mem_data (bio, &data);
  return n > 0 ? g_strndup (data, (gsize)n) : NULL;
}

static char *
cert_to_pem (X509 *cert)
{
  BIO *bio = BIO_new (BIO_s_mem ());
  char *text = bio && PEM_write_bio_X509 (bio, cert) ? bio_text (bio) : NULL;
  BIO_free (bio);
  return text;
}

static char *
key_to_pem (EVP_PKEY *key)
{
  BIO *bio = BIO_new (BIO_s_mem ());
  char *text = bio && PEM_write_bio_PrivateKey (bio, key, NULL, NULL, 0, NULL, NULL)
                   ? bio_text (bio)
                   : NULL;
  BIO_free (bio);
  return text;
}

static X509 *
self_signed (EVP_PKEY *key)
{
  X509 *cert = X509_new ();
  guint64 serial = 0;
  if (cert == NULL || RAND_bytes ((unsigned char *)&serial, sizeof serial) != 1)
    {
      X509_free (cert);
      return NULL;
    }
  X509_set_version (cert, 2);
  /* Positive and non-zero (RFC 5280 §4.1.2.2). */
  ASN1_INTEGER_set_uint64 (X509_get_serialNumber (cert), (serial >> 1) | 1);
  X509_gmtime_adj (X509_getm_notBefore (cert), 0);
  X509_gmtime_adj (X509_getm_notAfter (cert), CERT_DAYS * 86400);
  X509_NAME *name = X509_get_subject_name (cert);
  X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_ASC,
                              (const unsigned char *)"lobbyd GameStream host", -1, -1, 0);
  X509_set_issuer_name (cert, name);
  X509_set_pubkey (cert, key);
  if (!X509_sign (cert, key, EVP_sha256 ()))
    {
      X509_free (cert);
      return NULL;
    }
  return cert;
}

/* What lb_ml_identity_load accepts from disk: an RSA key of at least 2048
 * bits, and a SHA-256/RSA certificate of that key. */
static const char *
pair_problem (EVP_PKEY *key, X509 *cert)
{
  if (key == NULL)
    return "the key is missing or not PEM";
  if (cert == NULL)
    return "the certificate is missing or not PEM";
  if (!EVP_PKEY_is_a (key, "RSA") || EVP_PKEY_get_bits (key) < KEY_BITS)
    return "the key is not RSA-2048 or larger";
  if (X509_get_signature_nid (cert) != NID_sha256WithRSAEncryption)
    return "the certificate is not signed with SHA-256/RSA";
  if (X509_check_private_key (cert, key) != 1)
    return "the certificate does not belong to the key";
  return NULL;
}

static gboolean
write_file (const char *path, const char *text, int mode, GError **error)
{
  if (!g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, mode, error))
    return FALSE;
  /* The mode given to open() is filtered by the umask: set it exactly. */
  if (g_chmod (path, mode) != 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "chmod %s: %s", path,
                   g_strerror (e));
      return FALSE;
    }
  return TRUE;
}

static gboolean
load_or_create_pair (LbMlIdentity *id, const char *dir, GError **error)
{
  g_autofree char *cert_path = g_build_filename (dir, LB_ML_IDENTITY_CERT_FILE, NULL);
  g_autofree char *key_path = g_build_filename (dir, LB_ML_IDENTITY_KEY_FILE, NULL);
  g_autofree char *cert_text = NULL, *key_text = NULL;
  gsize cert_len = 0, key_len = 0;
  gboolean had_cert = g_file_get_contents (cert_path, &cert_text, &cert_len, NULL);
  gboolean had_key = g_file_get_contents (key_path, &key_text, &key_len, NULL);

  if (had_cert || had_key)
    {
      EVP_PKEY *key = had_key ? key_from_pem (key_text, key_len) : NULL;
      X509 *cert = had_cert ? cert_from_pem (cert_text, cert_len) : NULL;
      const char *problem = pair_problem (key, cert);
      if (problem == NULL)
        {
          id->key = key;
          id->cert = cert;
          struct stat st;
          if (g_stat (key_path, &st) == 0 && (st.st_mode & 0077) != 0)
            {
              g_warning ("%s was readable by others; mode set to 0600", key_path);
              if (g_chmod (key_path, 0600) != 0)
                g_warning ("chmod %s: %s", key_path, g_strerror (errno));
            }
          return TRUE;
        }
      g_warning ("Moonlight host identity in %s is unusable (%s): generating a new certificate; "
                 "paired clients must pair again",
                 dir, problem);
      EVP_PKEY_free (key);
      X509_free (cert);
    }

  id->key = EVP_RSA_gen (KEY_BITS);
  id->cert = id->key ? self_signed (id->key) : NULL;
  if (id->cert == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "cannot generate the host key/certificate");
      return FALSE;
    }
  g_autofree char *new_key = key_to_pem (id->key);
  g_autofree char *new_cert = cert_to_pem (id->cert);
  if (new_key == NULL || new_cert == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot encode the host key/certificate");
      return FALSE;
    }
  /* The key first: a certificate on disk without its key is rejected at the
   * next start anyway. */
  return write_file (key_path, new_key, 0600, error)
         && write_file (cert_path, new_cert, 0644, error);
}

static gboolean
load_or_create_uniqueid (LbMlIdentity *id, const char *dir, GError **error)
{
  g_autofree char *path = g_build_filename (dir, LB_ML_IDENTITY_UNIQUEID_FILE, NULL);
  g_autofree char *text = NULL;
  if (g_file_get_contents (path, &text, NULL, NULL))
    {
      g_strstrip (text);
      if (g_uuid_string_is_valid (text))
        {
          id->uniqueid = g_ascii_strdown (text, -1);
          return TRUE;
        }
      g_warning ("%s is not a UUID: generating a new host uniqueid", path);
    }
  id->uniqueid = g_uuid_string_random ();
  g_autofree char *line = g_strconcat (id->uniqueid, "\n", NULL);
  return write_file (path, line, 0644, error);
}

LbMlIdentity *
lb_ml_identity_load (const char *dir, GError **error)
{
  g_return_val_if_fail (dir != NULL, NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "cannot create %s: %s", dir,
                   g_strerror (e));
      return NULL;
    }
  LbMlIdentity *id = g_new0 (LbMlIdentity, 1);
  id->refs = 1;
  if (!load_or_create_pair (id, dir, error) || !load_or_create_uniqueid (id, dir, error))
    {
      lb_ml_identity_unref (id);
      return NULL;
    }
  id->cert_pem = cert_to_pem (id->cert);
  id->key_pem = key_to_pem (id->key);
  if (id->cert_pem == NULL || id->key_pem == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot encode the host key/certificate");
      lb_ml_identity_unref (id);
      return NULL;
    }
  return id;
}

LbMlIdentity *
lb_ml_identity_ref (LbMlIdentity *identity)
{
  g_atomic_int_inc (&identity->refs);
  return identity;
}

void
lb_ml_identity_unref (LbMlIdentity *identity)
{
  if (identity == NULL || !g_atomic_int_dec_and_test (&identity->refs))
    return;
  EVP_PKEY_free (identity->key);
  X509_free (identity->cert);
  g_free (identity->cert_pem);
  if (identity->key_pem)
    OPENSSL_cleanse (identity->key_pem, strlen (identity->key_pem));
  g_free (identity->key_pem);
  g_free (identity->uniqueid);
  g_free (identity);
}

const char *
lb_ml_identity_uniqueid (LbMlIdentity *identity)
{
  return identity->uniqueid;
}

const char *
lb_ml_identity_cert_pem (LbMlIdentity *identity)
{
  return identity->cert_pem;
}

const char *
lb_ml_identity_key_pem (LbMlIdentity *identity)
{
  return identity->key_pem;
}

static GBytes *
cert_signature (X509 *cert)
{
  const ASN1_BIT_STRING *sig = NULL;
  X509_get0_signature (&sig, NULL, cert);
  if (sig == NULL || ASN1_STRING_length (sig) <= 0)
    return NULL;
  return g_bytes_new (ASN1_STRING_get0_data (sig), (gsize)ASN1_STRING_length (sig));
}

GBytes *
lb_ml_identity_cert_signature (LbMlIdentity *identity)
{
  return cert_signature (identity->cert);
}

GBytes *
lb_ml_identity_sign (LbMlIdentity *identity, const guint8 *data, gsize len)
{
  EVP_MD_CTX *md = EVP_MD_CTX_new ();
  size_t sig_len = 0;
  guint8 *sig = NULL;
  /* RSA keys default to PKCS#1 v1.5 padding, which is what clients verify. */
  if (md && EVP_DigestSignInit (md, NULL, EVP_sha256 (), NULL, identity->key) == 1
      && EVP_DigestSign (md, NULL, &sig_len, data, len) == 1)
    {
      sig = g_malloc (sig_len);
      if (EVP_DigestSign (md, sig, &sig_len, data, len) != 1)
        g_clear_pointer (&sig, g_free);
    }
  EVP_MD_CTX_free (md);
  return sig ? g_bytes_new_take (sig, sig_len) : NULL;
}

GBytes *
lb_ml_cert_pem_signature (const char *pem, gsize len)
{
  X509 *cert = cert_from_pem (pem, len);
  EVP_PKEY *key = cert ? X509_get0_pubkey (cert) : NULL;
  if (key == NULL || !EVP_PKEY_is_a (key, "RSA"))
    {
      X509_free (cert);
      return NULL;
    }
  GBytes *sig = cert_signature (cert);
  X509_free (cert);
  return sig;
}

gboolean
lb_ml_cert_pem_verify (const char *pem, gsize pem_len, const guint8 *data, gsize data_len,
                       const guint8 *sig, gsize sig_len)
{
  if (sig == NULL || sig_len == 0)
    return FALSE;
  X509 *cert = cert_from_pem (pem, pem_len);
  EVP_PKEY *key = cert ? X509_get0_pubkey (cert) : NULL;
  EVP_MD_CTX *md = EVP_MD_CTX_new ();
  gboolean ok = key && md && EVP_PKEY_is_a (key, "RSA")
                && EVP_DigestVerifyInit (md, NULL, EVP_sha256 (), NULL, key) == 1
                && EVP_DigestVerify (md, sig, sig_len, data, data_len) == 1;
  EVP_MD_CTX_free (md);
  X509_free (cert);
  return ok;
}

char *
lb_ml_hex_encode (const guint8 *data, gsize len)
{
  static const char digits[] = "0123456789ABCDEF";
  char *out = g_malloc (len * 2 + 1);
  for (gsize i = 0; i < len; i++)
    {
      out[2 * i] = digits[data[i] >> 4];
      out[2 * i + 1] = digits[data[i] & 0xf];
    }
  out[len * 2] = '\0';
  return out;
}

GBytes *
lb_ml_hex_decode (const char *hex, gsize max_bytes)
{
  if (hex == NULL)
    return NULL;
  gsize n = strnlen (hex, max_bytes * 2 + 1);
  if (n % 2 != 0 || n > max_bytes * 2)
    return NULL;
  guint8 *out = g_malloc (n / 2 + 1);
  for (gsize i = 0; i < n / 2; i++)
    {
      int hi = g_ascii_xdigit_value (hex[2 * i]), lo = g_ascii_xdigit_value (hex[2 * i + 1]);
      if (hi < 0 || lo < 0)
        {
          g_free (out);
          return NULL;
        }
      out[i] = (guint8)(hi << 4 | lo);
    }
  return g_bytes_new_take (out, n / 2);
}
