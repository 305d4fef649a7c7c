/* lb-allow-list.c — CIDR allow-list for media destinations. */
#include "lb-allow-list.h"
#include "lb-error.h"

struct _LbAllowList
{
  GPtrArray *masks; /* GInetAddressMask */
};

LbAllowList *
lb_allow_list_new (const char *const *cidrs, GError **error)
{
  g_autoptr (GPtrArray) masks = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; cidrs != NULL && cidrs[i] != NULL; i++)
    {
      g_autofree char *entry = g_strstrip (g_strdup (cidrs[i]));
      if (*entry == '\0')
        continue;
      g_autoptr (GError) local_error = NULL;
      GInetAddressMask *mask = g_inet_address_mask_new_from_string (entry, &local_error);
      if (mask == NULL)
        {
          g_set_error (error, LB_ERROR, LB_ERROR_CONFIG, "invalid allow-list entry '%s': %s", entry,
                       local_error->message);
          return NULL;
        }
      g_ptr_array_add (masks, mask);
    }

  LbAllowList *list = g_new0 (LbAllowList, 1);
  list->masks = g_steal_pointer (&masks);
  return list;
}

gboolean
lb_allow_list_contains (const LbAllowList *list, const char *ip_literal)
{
  g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (ip_literal);

  if (addr == NULL)
    return FALSE;
  for (guint i = 0; i < list->masks->len; i++)
    if (g_inet_address_mask_matches (g_ptr_array_index (list->masks, i), addr))
      return TRUE;
  return FALSE;
}

gboolean
lb_allow_list_allows_all (const LbAllowList *list)
{
  gboolean v4 = FALSE, v6 = FALSE;
  for (guint i = 0; i < list->masks->len; i++)
    {
      GInetAddressMask *mask = g_ptr_array_index (list->masks, i);
      if (g_inet_address_mask_get_length (mask) != 0)
        continue;
      if (g_inet_address_mask_get_family (mask) == G_SOCKET_FAMILY_IPV4)
        v4 = TRUE;
      else
        v6 = TRUE;
    }
  return v4 && v6;
}

void
lb_allow_list_free (LbAllowList *list)
{
  if (list == NULL)
    return;
  g_ptr_array_unref (list->masks);
  g_free (list);
}
