/* lb-ml-launches.c — Moonlight launches matched to RTSP requests (see
 * lb-ml-launches.h). A handful of launches at most: a list is enough. */
#define G_LOG_DOMAIN "lobbyd-moonlight"

#include "lb-ml-launches.h"

#include "lb-ml-rtsp.h"

#include <string.h>

typedef struct
{
  char session_id[33];
  char *address;
  guint32 rikeyid;
  gint64 created_us;
  gboolean claimed;
  gpointer data;
} Launch;

struct _LbMlLaunchTable
{
  GPtrArray *launches; /* Launch*, owned */
  GDestroyNotify data_free;
};

static void
launch_free (LbMlLaunchTable *t, Launch *l)
{
  if (t->data_free && l->data)
    t->data_free (l->data);
  g_free (l->address);
  g_free (l);
}

LbMlLaunchTable *
lb_ml_launch_table_new (GDestroyNotify data_free)
{
  LbMlLaunchTable *t = g_new0 (LbMlLaunchTable, 1);
  t->launches = g_ptr_array_new ();
  t->data_free = data_free;
  return t;
}

void
lb_ml_launch_table_free (LbMlLaunchTable *table)
{
  if (table == NULL)
    return;
  for (guint i = 0; i < table->launches->len; i++)
    launch_free (table, table->launches->pdata[i]);
  g_ptr_array_free (table->launches, TRUE);
  g_free (table);
}

static void
remove_at (LbMlLaunchTable *t, guint i)
{
  Launch *l = g_ptr_array_steal_index (t->launches, i);
  launch_free (t, l);
}

const char *
lb_ml_launch_table_add (LbMlLaunchTable *table, const char *address, guint32 rikeyid, gpointer data,
                        gint64 now_us)
{
  gsize n = address ? strlen (address) : 0;
  if (n == 0 || n > 64)
    return NULL;
  for (guint i = 0; i < table->launches->len; i++)
    {
      Launch *l = table->launches->pdata[i];
      if (l->rikeyid == rikeyid && strcmp (l->address, address) == 0)
        {
          remove_at (table, i);
          break;
        }
    }
  Launch *l = g_new0 (Launch, 1);
  /* 128 random bits, unique in the table: the id names the launch in every
   * RTSP request after the first SETUP. */
  do
    {
      for (guint i = 0; i < 4; i++)
        g_snprintf (l->session_id + 8 * i, 9, "%08x", g_random_int ());
    }
  while (lb_ml_launch_table_lookup (table, l->session_id) != NULL);
  l->address = g_strdup (address);
  l->rikeyid = rikeyid;
  l->created_us = now_us;
  l->data = data;
  g_ptr_array_add (table->launches, l);
  return l->session_id;
}

static gint
find (LbMlLaunchTable *t, const char *session_id)
{
  for (guint i = 0; session_id && i < t->launches->len; i++)
    if (strcmp (((Launch *)t->launches->pdata[i])->session_id, session_id) == 0)
      return (gint)i;
  return -1;
}

gpointer
lb_ml_launch_table_lookup (LbMlLaunchTable *table, const char *session_id)
{
  gint i = find (table, session_id);
  return i < 0 ? NULL : ((Launch *)table->launches->pdata[i])->data;
}

gpointer
lb_ml_launch_table_match_address (LbMlLaunchTable *table, const char *address, gboolean claim,
                                  const char **session_id, GError **error)
{
  Launch *found = NULL;
  guint count = 0;
  for (guint i = 0; address && i < table->launches->len; i++)
    {
      Launch *l = table->launches->pdata[i];
      if (!l->claimed && strcmp (l->address, address) == 0)
        {
          found = l;
          count++;
        }
    }
  if (count == 0)
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_SESSION_MISMATCH,
                   "no pending launch from this address");
      return NULL;
    }
  if (count > 1)
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_AMBIGUOUS_LAUNCH,
                   "%u launches from this address are waiting for RTSP; retry when one started",
                   count);
      return NULL;
    }
  if (claim)
    found->claimed = TRUE;
  if (session_id)
    *session_id = found->session_id;
  return found->data;
}

gboolean
lb_ml_launch_table_remove (LbMlLaunchTable *table, const char *session_id)
{
  gint i = find (table, session_id);
  if (i < 0)
    return FALSE;
  remove_at (table, i);
  return TRUE;
}

guint
lb_ml_launch_table_expire (LbMlLaunchTable *table, gint64 now_us, gint64 max_pending_us)
{
  guint removed = 0;
  for (guint i = table->launches->len; i-- > 0;)
    {
      Launch *l = table->launches->pdata[i];
      if (!l->claimed && l->created_us < now_us - max_pending_us)
        {
          remove_at (table, i);
          removed++;
        }
    }
  return removed;
}

guint
lb_ml_launch_table_size (LbMlLaunchTable *table)
{
  return table->launches->len;
}
