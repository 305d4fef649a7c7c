/* lb-ml-host.h — the Moonlight (GameStream) host glue (issue 13): owns the
 * host identity (<state_dir>/moonlight/), the paired clients (SQLite), the
 * launch table and the HTTP/HTTPS servers (lb-ml-nvhttp), and maps lobbies
 * to apps. Created by main after the registry is restored, freed before it.
 * Main loop only. */
#pragma once

#include "lb-ml-launches.h"
#include "lb-types.h"

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _LbMlHost LbMlHost;

/* NULL + @error when a port is busy or the identity cannot be written: the
 * caller logs it (g_warning) and lobbyd runs without Moonlight. All
 * arguments are borrowed and must outlive the host. */
LbMlHost *lb_ml_host_new (const LbConfig *config, LbRegistry *registry, LbStore *store,
                          const char *state_dir, GError **error);
void lb_ml_host_free (LbMlHost *host);
/* Where pair_pending / paired / unpaired events go (NULL = nowhere). */
void lb_ml_host_set_events (LbMlHost *host, LbEvents *events);

LbMlLaunchTable *lb_ml_host_get_launches (LbMlHost *host);
/* One launch was added to the table (/launch or /resume): start what it
 * needs. For now it only records the launch; admission and the session are
 * wired here later. FALSE + @error refuses the launch (the message reaches
 * the client) and the caller removes it from the table. */
gboolean lb_ml_host_start_launch (LbMlHost *host, const char *ml_id, GError **error);
/* Ends @client_id's launches (/cancel, unpairing). How many. */
guint lb_ml_host_cancel (LbMlHost *host, const char *client_id);

/* API: the operator's PIN for the client waiting in getservercert. */
gboolean lb_ml_host_submit_pin (LbMlHost *host, const char *pin, GError **error);
/* {"clients":[{"id","name","paired_at"(unix s),"cert_sha256"}…]} */
JsonNode *lb_ml_host_clients_to_json (LbMlHost *host);
gboolean lb_ml_host_remove_client (LbMlHost *host, const char *client_id, GError **error);
/* {"enabled","running","http_port",…,"pairing_pending","pending_client",…};
 * @host may be NULL (not running). */
JsonNode *lb_ml_host_status_to_json (LbMlHost *host, const LbConfig *config);
guint16 lb_ml_host_get_http_port (LbMlHost *host);
guint16 lb_ml_host_get_https_port (LbMlHost *host);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbMlHost, lb_ml_host_free)

G_END_DECLS
