/* lb-soup-compat.h — work-arounds for bugs of the libsoup we run on. */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* Applies them to @server; call right after creating it. */
void lb_soup_compat_apply (SoupServer *server);

G_END_DECLS
