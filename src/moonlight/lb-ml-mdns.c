#define G_LOG_DOMAIN "lobbyd-moonlight"
#include "lb-ml-mdns.h"
struct _LbMlMdns { int x; };
LbMlMdns *lb_ml_mdns_new (const char *name, guint16 http_port) { return g_new0 (LbMlMdns, 1); }
void lb_ml_mdns_free (LbMlMdns *m) { g_free (m); }
