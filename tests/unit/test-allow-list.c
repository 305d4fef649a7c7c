/* Unit tests for the media destination allow-list. */
#include "lb-allow-list.h"
#include "lb-error.h"

static void
test_loopback_default (void)
{
  const char *const cidrs[] = { "127.0.0.0/8", "::1/128", NULL };
  g_autoptr (LbAllowList) list = lb_allow_list_new (cidrs, NULL);
  g_assert_nonnull (list);
  g_assert_true (lb_allow_list_contains (list, "127.0.0.1"));
  g_assert_true (lb_allow_list_contains (list, "127.255.0.9"));
  g_assert_true (lb_allow_list_contains (list, "::1"));
  g_assert_false (lb_allow_list_contains (list, "128.0.0.1"));
  g_assert_false (lb_allow_list_contains (list, "8.8.8.8"));
  g_assert_false (lb_allow_list_contains (list, "::2"));
  g_assert_false (lb_allow_list_contains (list, "::ffff:8.8.8.8"));
  g_assert_false (lb_allow_list_contains (list, "localhost"));
  g_assert_false (lb_allow_list_contains (list, ""));
}

static void
test_lan_and_bare_address (void)
{
  const char *const cidrs[] = { " 192.168.0.0/16 ", "10.1.2.3", "", NULL };
  g_autoptr (LbAllowList) list = lb_allow_list_new (cidrs, NULL);
  g_assert_true (lb_allow_list_contains (list, "192.168.44.5"));
  g_assert_true (lb_allow_list_contains (list, "10.1.2.3"));
  g_assert_false (lb_allow_list_contains (list, "10.1.2.4"));
  g_assert_false (lb_allow_list_contains (list, "127.0.0.1"));
}

static void
test_empty_refuses_all (void)
{
  g_autoptr (LbAllowList) list = lb_allow_list_new (NULL, NULL);
  g_assert_false (lb_allow_list_contains (list, "127.0.0.1"));
}

static void
test_allows_all (void)
{
  const char *const all[] = { "0.0.0.0/0", "::/0", NULL };
  const char *const v4[] = { "0.0.0.0/0", "::1/128", NULL };
  g_autoptr (LbAllowList) a = lb_allow_list_new (all, NULL);
  g_autoptr (LbAllowList) b = lb_allow_list_new (v4, NULL);
  g_autoptr (LbAllowList) c = lb_allow_list_new (NULL, NULL);
  g_assert_true (lb_allow_list_allows_all (a));
  g_assert_false (lb_allow_list_allows_all (b));
  g_assert_false (lb_allow_list_allows_all (c));
  g_assert_true (lb_allow_list_contains (a, "203.0.113.7"));
}

static void
test_bad_entry (void)
{
  const char *const cidrs[] = { "127.0.0.0/33", NULL };
  g_autoptr (GError) error = NULL;
  g_assert_null (lb_allow_list_new (cidrs, &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_CONFIG);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/allow-list/loopback-default", test_loopback_default);
  g_test_add_func ("/allow-list/lan-and-bare-address", test_lan_and_bare_address);
  g_test_add_func ("/allow-list/empty-refuses-all", test_empty_refuses_all);
  g_test_add_func ("/allow-list/allows-all", test_allows_all);
  g_test_add_func ("/allow-list/bad-entry", test_bad_entry);
  return g_test_run ();
}
