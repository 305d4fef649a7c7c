/* lb-ml-mdns.h — announces the Moonlight host on the local network:
 * `_nvstream._tcp` on the HTTP port (47989 by default), as Sunshine does,
 * so that clients list the host without being told its address.
 *
 * Published through Avahi's D-Bus API on the system bus (GDBus; no Avahi
 * library). Everything is asynchronous on the main context that is
 * thread-default when the object is created; nothing blocks it. When
 * Avahi (or the system bus) is not there, one g_message says so and
 * nothing else happens; when avahi-daemon starts or restarts later the
 * service is published again. A name collision on the network renames the
 * service the way Avahi suggests ("name #2"). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _LbMlMdns LbMlMdns;

/* Starts announcing @name (the service instance name, e.g. the host name;
 * UTF-8, at most 63 bytes are used) on @http_port. Never fails: problems
 * are logged. */
LbMlMdns *lb_ml_mdns_new (const char *name, guint16 http_port);
/* Withdraws the announcement (asynchronously; Avahi also withdraws it when
 * the process's bus connection closes) and frees. NULL is ignored. */
void lb_ml_mdns_free (LbMlMdns *mdns);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbMlMdns, lb_ml_mdns_free)

G_END_DECLS
