/* lb-ml-identity.h — the Moonlight (GameStream) host's identity: an RSA-2048
 * key and a self-signed SHA-256 certificate that clients pin at pairing, and
 * a stable host uniqueid (UUID) that serverinfo reports. Generated once into
 * a state directory and reloaded from it; plus the byte helpers pairing needs
 * (hex, X.509 signature bytes, RSA-PKCS#1 v1.5 SHA-256 sign/verify). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _LbMlIdentity LbMlIdentity;

/* File names inside the directory given to lb_ml_identity_load (). */
#define LB_ML_IDENTITY_CERT_FILE "host-cert.pem"
#define LB_ML_IDENTITY_KEY_FILE "host-key.pem" /* mode 0600 */
#define LB_ML_IDENTITY_UNIQUEID_FILE "host-uniqueid"

/* Loads the identity kept in @dir (created, mode 0700, if missing). A key or
 * certificate that is missing, unreadable, not RSA-2048+ or not a pair is
 * replaced by a new pair (with a g_warning when there was something: paired
 * clients pinned the old certificate and must pair again); the same for a
 * missing or malformed uniqueid. NULL with @error only when the directory or
 * the files cannot be written. */
LbMlIdentity *lb_ml_identity_load (const char *dir, GError **error);
LbMlIdentity *lb_ml_identity_ref (LbMlIdentity *identity);
void lb_ml_identity_unref (LbMlIdentity *identity);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbMlIdentity, lb_ml_identity_unref)

/* The host uniqueid, a lower-case UUID string. */
const char *lb_ml_identity_uniqueid (LbMlIdentity *identity);
/* The certificate as PEM text (what serverinfo/pairing send as plaincert and
 * what the HTTPS server presents). */
const char *lb_ml_identity_cert_pem (LbMlIdentity *identity);
/* The private key as PEM text (for the TLS server). */
const char *lb_ml_identity_key_pem (LbMlIdentity *identity);
/* The certificate's raw signature bytes (X509_get0_signature): part of the
 * pairing hashes. */
GBytes *lb_ml_identity_cert_signature (LbMlIdentity *identity);
/* RSA-PKCS#1 v1.5 signature over SHA-256(@data) with the host key. */
GBytes *lb_ml_identity_sign (LbMlIdentity *identity, const guint8 *data, gsize len);

/* Helpers on any certificate (the client's). */
/* The raw signature bytes of the PEM certificate @pem (@len bytes, need not be
 * NUL-terminated); NULL if it is not a certificate with an RSA key (the only
 * kind GameStream pairing signs with). */
GBytes *lb_ml_cert_pem_signature (const char *pem, gsize len);
/* Whether @sig is a valid RSA-PKCS#1 v1.5 SHA-256 signature of @data by the
 * public key of the PEM certificate @pem. FALSE for any malformed input. */
gboolean lb_ml_cert_pem_verify (const char *pem, gsize pem_len, const guint8 *data, gsize data_len,
                                const guint8 *sig, gsize sig_len);

/* Upper-case hex of @len bytes. */
char *lb_ml_hex_encode (const guint8 *data, gsize len);
/* Bytes of a hex string (either case, even length, nothing else); NULL for
 * anything else, or for more than @max_bytes bytes. */
GBytes *lb_ml_hex_decode (const char *hex, gsize max_bytes);

G_END_DECLS
