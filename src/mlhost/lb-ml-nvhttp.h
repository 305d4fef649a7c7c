/* lb-ml-nvhttp.h — the Moonlight (GameStream) host's HTTP (47989) and HTTPS
 * (47984) servers: serverinfo, the PIN pairing sequence, unpair, applist,
 * appasset, launch, resume, cancel (docs/moonlight.md, "HTTP and HTTPS
 * servers"). Every reply, refusals included, is HTTP 200 with
 * `<root status_code=… status_message=…>`, as clients expect.
 *
 * This module speaks HTTP and XML and runs the pairing attempt (the held
 * getservercert reply and its lb-ml-pairing state machine); what clients are
 * paired, which lobbies are apps and what a launch does belong to the host
 * glue, reached through LbMlNvhttpBackend. Main loop only. */
#pragma once

#include "lb-ml-identity.h"

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _LbMlNvhttp LbMlNvhttp;

typedef struct
{
  guint32 id;
  const char *title;
} LbMlApp;

/* What /launch and /resume parsed from the request. */
typedef struct
{
  const char *client_id;    /* the paired client (certificate) that asked */
  const char *address;      /* the client's IP, as text */
  guint32 app_id;           /* /resume: the client's running app */
  guint width, height, fps; /* from `mode` (fps unreliable: RTSP's ANNOUNCE wins) */
  guint8 rikey[16];
  guint32 rikeyid;
  gboolean resume;
} LbMlLaunchRequest;

typedef struct
{
  /* The paired client whose certificate is @der (DER bytes): its id
   * (newly allocated), or NULL if the certificate is not paired. */
  char *(*client_for_cert) (const guint8 *der, gsize len, gpointer user_data);
  /* The app id of @client_id's running launch, 0 if none. */
  guint32 (*current_game) (const char *client_id, gpointer user_data);
  /* A client finished pairing: persist @cert_pem under @name. */
  gboolean (*paired) (const char *name, const char *cert_pem, gpointer user_data, GError **error);
  /* /unpair over HTTPS: forget @client_id. */
  void (*unpair) (const char *client_id, gpointer user_data);
  /* The apps (lobbies) now: an array of LbMlApp, titles owned by the array. */
  GArray *(*apps) (gpointer user_data);
  /* /launch or /resume; FALSE + @error (its message goes to the client). */
  gboolean (*launch) (const LbMlLaunchRequest *req, gpointer user_data, GError **error);
  /* /cancel: ends @client_id's launches; how many. */
  guint (*cancel) (const char *client_id, gpointer user_data);
  /* A client started (@pending) or stopped waiting for the operator's PIN. */
  void (*pair_pending) (gboolean pending, const char *name, const char *address,
                        gpointer user_data);
} LbMlNvhttpBackend;

typedef struct
{
  const char *bind_address;
  guint16 http_port, https_port; /* 0 = ephemeral */
  guint16 rtsp_port;             /* for sessionUrl0 */
  const char *hostname;
  guint pair_timeout_s;
} LbMlNvhttpConfig;

/* Binds both servers; NULL + @error (G_IO_ERROR_ADDRESS_IN_USE, …) if either
 * port cannot be bound. @identity is ref'd. */
LbMlNvhttp *lb_ml_nvhttp_new (const LbMlNvhttpConfig *config, LbMlIdentity *identity,
                              const LbMlNvhttpBackend *backend, gpointer user_data, GError **error);
void lb_ml_nvhttp_free (LbMlNvhttp *nv);
guint16 lb_ml_nvhttp_get_http_port (LbMlNvhttp *nv);
guint16 lb_ml_nvhttp_get_https_port (LbMlNvhttp *nv);

/* The operator's PIN for the client waiting in getservercert: its reply
 * (plaincert) is sent. LB_ERROR_NO_PAIRING_PENDING when none waits,
 * LB_ERROR_INVALID_FIELD for a PIN that is not 4 digits (the client keeps
 * waiting). */
gboolean lb_ml_nvhttp_submit_pin (LbMlNvhttp *nv, const char *pin, GError **error);
/* Whether a client waits for a PIN; its name and address (borrowed). */
gboolean lb_ml_nvhttp_get_pending (LbMlNvhttp *nv, const char **name, const char **address);

G_END_DECLS
