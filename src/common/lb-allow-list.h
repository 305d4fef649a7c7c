/* lb-allow-list.h — which addresses lobbyd may send media to.
 *
 * Without it any API caller could point RTP at a third party and turn lobbyd
 * into a UDP reflector; the default is loopback only. */
#pragma once

#include <gio/gio.h>
#include "lb-types.h"

G_BEGIN_DECLS

/* @cidrs: NULL-terminated "addr/prefix" strings (a bare address means /32 or /128). */
LbAllowList *lb_allow_list_new (const char *const *cidrs, GError **error);
gboolean lb_allow_list_contains (const LbAllowList *list, const char *ip_literal);
/* Does the list hold 0.0.0.0/0 and ::/0, i.e. every address? */
gboolean lb_allow_list_allows_all (const LbAllowList *list);
void lb_allow_list_free (LbAllowList *list);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbAllowList, lb_allow_list_free)

G_END_DECLS
