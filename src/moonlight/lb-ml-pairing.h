/* lb-ml-pairing.h — one GameStream PIN pairing attempt, as a state machine
 * over the four phrases a client sends to /pair (docs/moonlight.md,
 * "Pairing and host identity"). Pure: hex strings in, the reply field's hex
 * out; no HTTP, no storage. The HTTP layer feeds it the query parameters and
 * the operator's PIN, writes each result into the XML reply, and persists the
 * client certificate once lb_ml_pairing_client_pairing_secret () succeeds.
 *
 *   lb_ml_pairing_new          phrase=getservercert&salt=…&clientcert=…   → WAITING_PIN
 *   lb_ml_pairing_set_pin      the operator's PIN          → plaincert    → CERT_SENT
 *   lb_ml_pairing_client_challenge      clientchallenge    → challengeresponse
 *   lb_ml_pairing_server_challenge_resp serverchallengeresp → pairingsecret
 *   lb_ml_pairing_client_pairing_secret clientpairingsecret → PAIRED
 *
 * Any error ends the attempt (state FAILED; every later call fails with
 * LB_ML_PAIRING_ERROR_ABORTED): the client must start over, as with
 * Sunshine, so a wrong guess cannot be retried on the same key. */
#pragma once

#include "lb-ml-identity.h"

#include <glib.h>

G_BEGIN_DECLS

#define LB_ML_PAIRING_ERROR (lb_ml_pairing_error_quark ())
GQuark lb_ml_pairing_error_quark (void);

/* Why an attempt was refused. Stable: lb_ml_pairing_error_reason () names
 * each for logs, status_message and the API. */
typedef enum
{
  LB_ML_PAIRING_ERROR_BAD_HEX,    /* "bad_hex": a parameter is not hex */
  LB_ML_PAIRING_ERROR_BAD_LENGTH, /* "bad_length": salt, challenge, hash or secret of the wrong size
                                   */
  LB_ML_PAIRING_ERROR_BAD_CERT,   /* "bad_certificate": clientcert is not a PEM RSA certificate */
  LB_ML_PAIRING_ERROR_BAD_PIN,    /* "bad_pin": the operator's PIN is not 4 digits */
  LB_ML_PAIRING_ERROR_OUT_OF_ORDER,  /* "out_of_order": a phrase before its predecessor */
  LB_ML_PAIRING_ERROR_HASH_MISMATCH, /* "hash_mismatch": the client's hash is wrong — wrong PIN */
  LB_ML_PAIRING_ERROR_BAD_SIGNATURE, /* "bad_signature": clientpairingsecret's signature does not
                                        verify */
  LB_ML_PAIRING_ERROR_ABORTED,       /* "aborted": the attempt already failed */
  LB_ML_PAIRING_ERROR_INTERNAL,      /* "internal": a crypto call failed */
} LbMlPairingError;

const char *lb_ml_pairing_error_reason (LbMlPairingError code);

typedef enum
{
  LB_ML_PAIRING_WAITING_PIN, /* getservercert received; its reply waits for the PIN */
  LB_ML_PAIRING_CERT_SENT,   /* plaincert sent; expecting clientchallenge */
  LB_ML_PAIRING_CHALLENGED,  /* challengeresponse sent; expecting serverchallengeresp */
  LB_ML_PAIRING_SECRET_SENT, /* pairingsecret sent; expecting clientpairingsecret */
  LB_ML_PAIRING_PAIRED,      /* done: the client certificate may be stored */
  LB_ML_PAIRING_FAILED,
} LbMlPairingState;

const char *lb_ml_pairing_state_name (LbMlPairingState state);

typedef struct _LbMlPairing LbMlPairing;

/* Starts an attempt from getservercert's @salt_hex (16 bytes) and
 * @clientcert_hex (hex of the client's PEM certificate). NULL with @error if
 * either is malformed. Holds a reference on @identity. */
LbMlPairing *lb_ml_pairing_new (LbMlIdentity *identity, const char *salt_hex,
                                const char *clientcert_hex, GError **error);
void lb_ml_pairing_free (LbMlPairing *pairing);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbMlPairing, lb_ml_pairing_free)

LbMlPairingState lb_ml_pairing_get_state (LbMlPairing *pairing);

/* The operator's PIN (4 ASCII digits): derives the AES key and returns
 * getservercert's plaincert (hex of the host certificate's PEM). A malformed
 * PIN does not end the attempt (the operator may type it again). */
char *lb_ml_pairing_set_pin (LbMlPairing *pairing, const char *pin, GError **error);
/* clientchallenge (16 encrypted bytes) → challengeresponse (48 encrypted bytes). */
char *lb_ml_pairing_client_challenge (LbMlPairing *pairing, const char *hex, GError **error);
/* serverchallengeresp (the client's 32-byte hash, encrypted) → pairingsecret
 * (server secret ‖ its signature). */
char *lb_ml_pairing_server_challenge_resp (LbMlPairing *pairing, const char *hex, GError **error);
/* clientpairingsecret (client secret ‖ its signature): TRUE if the client
 * knew the PIN and holds its certificate's key — the attempt is PAIRED. */
gboolean lb_ml_pairing_client_pairing_secret (LbMlPairing *pairing, const char *hex,
                                              GError **error);

/* The client certificate (PEM) to persist; NULL unless PAIRED. */
const char *lb_ml_pairing_client_cert_pem (LbMlPairing *pairing);

G_END_DECLS
