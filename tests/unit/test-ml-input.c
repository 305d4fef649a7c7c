/* test-ml-input.c — lb_ml_input_decode: Moonlight input packets (the
 * payload of a 0x0206 control message) built by hand from the layouts of
 * moonlight-common-c's Input.h / InputStream.c (BE32 size of what follows,
 * LE32 magic, then the fields) into LbInputEvents; bounds errors; text
 * split at character boundaries. */
#include "lb-ml-control.h"

#include <gio/gio.h>
#include <string.h>

/* A packet: BE32 size (everything after the size field), LE32 magic, @body. */
static GByteArray *
packet (guint32 magic, const guint8 *body, gsize body_len)
{
  GByteArray *p = g_byte_array_new ();
  guint32 size = 4 + (guint32)body_len;
  guint8 head[8]
      = { size >> 24, size >> 16, size >> 8, size, magic, magic >> 8, magic >> 16, magic >> 24 };
  g_byte_array_append (p, head, 8);
  if (body_len)
    g_byte_array_append (p, body, (guint)body_len);
  return p;
}

static GArray *
decode_ok (GByteArray *p, guint w, guint h)
{
  GArray *ev = g_array_new (FALSE, TRUE, sizeof (LbInputEvent));
  g_autoptr (GError) error = NULL;
  g_assert_true (lb_ml_input_decode (p->data, p->len, w, h, ev, &error));
  g_assert_no_error (error);
  g_byte_array_unref (p);
  return ev;
}

static void
decode_fails (GByteArray *p)
{
  g_autoptr (GArray) ev = g_array_new (FALSE, TRUE, sizeof (LbInputEvent));
  g_autoptr (GError) error = NULL;
  g_assert_false (lb_ml_input_decode (p->data, p->len, 640, 480, ev, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_cmpuint (ev->len, ==, 0);
  g_byte_array_unref (p);
}

static GByteArray *
key_packet (gboolean down, guint16 vk, guint8 modifiers)
{
  /* flags, LE16 keyCode, modifiers, LE16 zero */
  guint8 b[6] = { 0, vk & 0xFF, vk >> 8, modifiers, 0, 0 };
  return packet (down ? 3 : 4, b, sizeof b);
}

static guint32
key_of (guint16 vk)
{
  g_autoptr (GArray) ev = decode_ok (key_packet (TRUE, vk, 0), 0, 0);
  g_assert_cmpuint (ev->len, ==, 1);
  LbInputEvent *e = &g_array_index (ev, LbInputEvent, 0);
  g_assert_cmpint (e->type, ==, LB_INPUT_KEY);
  g_assert_true (e->key.pressed);
  return e->key.keysym;
}

static void
test_keys (void)
{
  /* letters → lower-case keysyms (shift is its own key), digits */
  g_assert_cmphex (key_of (0x41), ==, 0x61);
  g_assert_cmphex (key_of (0x5A), ==, 0x7A);
  g_assert_cmphex (key_of (0x30), ==, 0x30);
  g_assert_cmphex (key_of (0x39), ==, 0x39);
  /* F-keys, arrows */
  g_assert_cmphex (key_of (0x70), ==, 0xFFBE); /* F1 */
  g_assert_cmphex (key_of (0x7B), ==, 0xFFC9); /* F12 */
  g_assert_cmphex (key_of (0x25), ==, 0xFF51); /* Left */
  g_assert_cmphex (key_of (0x26), ==, 0xFF52); /* Up */
  g_assert_cmphex (key_of (0x27), ==, 0xFF53); /* Right */
  g_assert_cmphex (key_of (0x28), ==, 0xFF54); /* Down */
  /* modifiers, generic and sided */
  g_assert_cmphex (key_of (0x10), ==, 0xFFE1); /* VK_SHIFT → Shift_L */
  g_assert_cmphex (key_of (0xA1), ==, 0xFFE2); /* VK_RSHIFT */
  g_assert_cmphex (key_of (0x11), ==, 0xFFE3); /* VK_CONTROL */
  g_assert_cmphex (key_of (0xA3), ==, 0xFFE4); /* VK_RCONTROL */
  g_assert_cmphex (key_of (0x12), ==, 0xFFE9); /* VK_MENU → Alt_L */
  g_assert_cmphex (key_of (0x5B), ==, 0xFFEB); /* VK_LWIN → Super_L */
  /* editing keys */
  g_assert_cmphex (key_of (0x0D), ==, 0xFF0D); /* Return */
  g_assert_cmphex (key_of (0x1B), ==, 0xFF1B); /* Escape */
  g_assert_cmphex (key_of (0x09), ==, 0xFF09); /* Tab */
  g_assert_cmphex (key_of (0x08), ==, 0xFF08); /* BackSpace */
  g_assert_cmphex (key_of (0x20), ==, 0x20);   /* space */
  g_assert_cmphex (key_of (0x2E), ==, 0xFFFF); /* Delete */
  /* US punctuation (VK_OEM_*) */
  g_assert_cmphex (key_of (0xBA), ==, 0x3B); /* ; */
  g_assert_cmphex (key_of (0xBB), ==, 0x3D); /* = */
  g_assert_cmphex (key_of (0xBC), ==, 0x2C); /* , */
  g_assert_cmphex (key_of (0xBD), ==, 0x2D); /* - */
  g_assert_cmphex (key_of (0xBE), ==, 0x2E); /* . */
  g_assert_cmphex (key_of (0xBF), ==, 0x2F); /* / */
  g_assert_cmphex (key_of (0xC0), ==, 0x60); /* ` */
  g_assert_cmphex (key_of (0xDB), ==, 0x5B); /* [ */
  g_assert_cmphex (key_of (0xDC), ==, 0x5C); /* \ */
  g_assert_cmphex (key_of (0xDD), ==, 0x5D); /* ] */
  g_assert_cmphex (key_of (0xDE), ==, 0x27); /* ' */
  /* moonlight-qt sets 0x80 in the high byte: only the low byte is the VK */
  g_assert_cmphex (key_of (0x8041), ==, 0x61);

  /* release */
  g_autoptr (GArray) up = decode_ok (key_packet (FALSE, 0x41, 0), 0, 0);
  g_assert_cmpuint (up->len, ==, 1);
  g_assert_false (g_array_index (up, LbInputEvent, 0).key.pressed);
  g_assert_cmphex (g_array_index (up, LbInputEvent, 0).key.keysym, ==, 0x61);

  /* an unknown VK: an error, no event */
  decode_fails (key_packet (TRUE, 0x07, 0));
  decode_fails (key_packet (TRUE, 0xFF, 0));
}

static void
test_mouse_relative (void)
{
  /* magic 7 (GEN5), BE16 dx, BE16 dy */
  guint8 b[4] = { 0x00, 0x0A, 0xFF, 0xFB }; /* +10, -5 */
  g_autoptr (GArray) ev = decode_ok (packet (7, b, 4), 0, 0);
  g_assert_cmpuint (ev->len, ==, 1);
  LbInputEvent *e = &g_array_index (ev, LbInputEvent, 0);
  g_assert_cmpint (e->type, ==, LB_INPUT_MOTION_RELATIVE);
  g_assert_cmpint (e->relative.dx, ==, 10);
  g_assert_cmpint (e->relative.dy, ==, -5);
  guint8 big[4] = { 0x80, 0x00, 0x7F, 0xFF };
  g_autoptr (GArray) ev2 = decode_ok (packet (7, big, 4), 0, 0);
  g_assert_cmpint (g_array_index (ev2, LbInputEvent, 0).relative.dx, ==, -32768);
  g_assert_cmpint (g_array_index (ev2, LbInputEvent, 0).relative.dy, ==, 32767);
}

static GByteArray *
abs_packet (gint16 x, gint16 y, gint16 refw, gint16 refh)
{
  /* BE16 x, y, unused, width, height: width/height are the client's
   * reference size minus one (InputStream.c) */
  guint8 b[10] = { x >> 8, x, y >> 8, y, 0, 0, refw >> 8, refw, refh >> 8, refh };
  return packet (5, b, 10);
}

static void
test_mouse_absolute (void)
{
  /* reference 1280x720 (sent as 1279, 719) onto a 640x360 screen */
  g_autoptr (GArray) ev = decode_ok (abs_packet (1279, 719, 1279, 719), 640, 360);
  g_assert_cmpuint (ev->len, ==, 1);
  LbInputEvent *e = &g_array_index (ev, LbInputEvent, 0);
  g_assert_cmpint (e->type, ==, LB_INPUT_MOTION);
  g_assert_cmpuint (e->motion.x, ==, 639);
  g_assert_cmpuint (e->motion.y, ==, 359);
  g_assert_cmpuint (e->motion.width, ==, 640);
  g_assert_cmpuint (e->motion.height, ==, 360);
  g_autoptr (GArray) mid = decode_ok (abs_packet (640, 0, 1279, 719), 640, 360);
  g_assert_cmpuint (g_array_index (mid, LbInputEvent, 0).motion.x, ==, 320);
  g_assert_cmpuint (g_array_index (mid, LbInputEvent, 0).motion.y, ==, 0);
  /* no screen size: the client's reference size */
  g_autoptr (GArray) raw = decode_ok (abs_packet (100, 200, 1279, 719), 0, 0);
  e = &g_array_index (raw, LbInputEvent, 0);
  g_assert_cmpuint (e->motion.x, ==, 100);
  g_assert_cmpuint (e->motion.y, ==, 200);
  g_assert_cmpuint (e->motion.width, ==, 1280);
  g_assert_cmpuint (e->motion.height, ==, 720);
  /* outside the reference: clamped to the edge, never out of the picture */
  g_autoptr (GArray) out = decode_ok (abs_packet (-5, 3000, 1279, 719), 640, 360);
  e = &g_array_index (out, LbInputEvent, 0);
  g_assert_cmpuint (e->motion.x, ==, 0);
  g_assert_cmpuint (e->motion.y, ==, 359);
  /* a zero or negative reference size is malformed */
  decode_fails (abs_packet (1, 1, 0, 719));
  decode_fails (abs_packet (1, 1, 1279, -1));
}

static void
test_buttons (void)
{
  /* magic 8 down, 9 up (GEN5); 1 left, 2 middle, 3 right, 4 X1, 5 X2 */
  const guint8 ml[] = { 1, 2, 3, 4, 5 };
  const guint x[] = { 1, 2, 3, 8, 9 };
  for (guint i = 0; i < G_N_ELEMENTS (ml); i++)
    for (guint down = 0; down < 2; down++)
      {
        g_autoptr (GArray) ev = decode_ok (packet (down ? 8 : 9, &ml[i], 1), 0, 0);
        g_assert_cmpuint (ev->len, ==, 1);
        LbInputEvent *e = &g_array_index (ev, LbInputEvent, 0);
        g_assert_cmpint (e->type, ==, LB_INPUT_BUTTON);
        g_assert_cmpuint (e->button.button, ==, x[i]);
        g_assert_cmpint (e->button.pressed, ==, down);
      }
  guint8 bad = 6;
  decode_fails (packet (8, &bad, 1));
  bad = 0;
  decode_fails (packet (9, &bad, 1));
}

static LbInputEvent
scroll_of (guint32 magic, const guint8 *b, gsize n)
{
  g_autoptr (GArray) ev = decode_ok (packet (magic, b, n), 0, 0);
  g_assert_cmpuint (ev->len, ==, 1);
  LbInputEvent e = g_array_index (ev, LbInputEvent, 0);
  g_assert_cmpint (e.type, ==, LB_INPUT_SCROLL);
  return e;
}

static void
test_scroll (void)
{
  /* magic 0xA: BE16 amount (×2) + zero; +120 = one notch up → dy -1 */
  guint8 up[6] = { 0x00, 0x78, 0x00, 0x78, 0, 0 };
  LbInputEvent e = scroll_of (0xA, up, 6);
  g_assert_cmpint (e.scroll.dy, ==, -1);
  g_assert_cmpint (e.scroll.dx, ==, 0);
  guint8 down3[6] = { 0xFE, 0x98, 0xFE, 0x98, 0, 0 }; /* -360 */
  e = scroll_of (0xA, down3, 6);
  g_assert_cmpint (e.scroll.dy, ==, 3);
  /* a high-resolution fraction of a notch still scrolls one step */
  guint8 small[6] = { 0x00, 0x0F, 0x00, 0x0F, 0, 0 };
  e = scroll_of (0xA, small, 6);
  g_assert_cmpint (e.scroll.dy, ==, -1);
  /* horizontal (Sunshine extension 0x55000001): BE16, + = right */
  guint8 right[2] = { 0x00, 0xF0 }; /* 240 */
  e = scroll_of (0x55000001, right, 2);
  g_assert_cmpint (e.scroll.dx, ==, 2);
  g_assert_cmpint (e.scroll.dy, ==, 0);
  guint8 left[2] = { 0xFF, 0x88 }; /* -120 */
  e = scroll_of (0x55000001, left, 2);
  g_assert_cmpint (e.scroll.dx, ==, -1);
  /* zero: no event */
  guint8 zero[6] = { 0 };
  g_autoptr (GArray) none = decode_ok (packet (0xA, zero, 6), 0, 0);
  g_assert_cmpuint (none->len, ==, 0);
}

static GArray *
text_events (const char *s)
{
  return decode_ok (packet (0x17, (const guint8 *)s, strlen (s)), 0, 0);
}

static void
test_text (void)
{
  g_autoptr (GArray) ev = text_events ("héllo");
  g_assert_cmpuint (ev->len, ==, 1);
  g_assert_cmpint (g_array_index (ev, LbInputEvent, 0).type, ==, LB_INPUT_TEXT);
  g_assert_cmpstr (g_array_index (ev, LbInputEvent, 0).text.utf8, ==, "héllo");

  /* 40 bytes of two-byte characters: split at a character boundary into
   * events of at most LB_INPUT_TEXT_MAX - 1 bytes, nothing lost */
  GString *long_text = g_string_new (NULL);
  for (int i = 0; i < 20; i++)
    g_string_append (long_text, "é");
  g_autoptr (GArray) split = text_events (long_text->str);
  g_assert_cmpuint (split->len, ==, 2);
  GString *joined = g_string_new (NULL);
  for (guint i = 0; i < split->len; i++)
    {
      const char *t = g_array_index (split, LbInputEvent, i).text.utf8;
      g_assert_cmpuint (strlen (t), <=, LB_INPUT_TEXT_MAX - 1);
      g_assert_cmpuint (strlen (t), >, 0);
      g_assert_true (g_utf8_validate (t, -1, NULL));
      g_string_append (joined, t);
    }
  g_assert_cmpstr (joined->str, ==, long_text->str);
  g_assert_cmpuint (strlen (g_array_index (split, LbInputEvent, 0).text.utf8), ==, 30);
  g_string_free (joined, TRUE);
  g_string_free (long_text, TRUE);

  /* 4-byte characters: 31 is not a multiple of 4, the split still holds */
  g_autoptr (GArray) emoji = text_events ("😀😀😀😀😀😀😀😀😀");
  g_assert_cmpuint (emoji->len, ==, 2);
  g_assert_cmpstr (g_array_index (emoji, LbInputEvent, 0).text.utf8, ==, "😀😀😀😀😀😀😀");
  g_assert_cmpstr (g_array_index (emoji, LbInputEvent, 1).text.utf8, ==, "😀😀");

  /* invalid UTF-8 and embedded NULs are refused; empty text is no event */
  decode_fails (packet (0x17, (const guint8 *)"a\xC3(", 3));
  decode_fails (packet (0x17, (const guint8 *)"a\0b", 3));
  g_autoptr (GArray) empty = decode_ok (packet (0x17, NULL, 0), 0, 0);
  g_assert_cmpuint (empty->len, ==, 0);
}

static void
test_gamepad_ignored (void)
{
  /* multi-controller (0xC), haptics (0xD), Sunshine's controller arrival,
   * touch, motion, battery, touch and pen: no event, no error */
  guint8 body[26] = { 0x1A, 0x00 };
  const guint32 magics[]
      = { 0xC, 0xD, 0x55000002, 0x55000003, 0x55000004, 0x55000005, 0x55000006, 0x55000007 };
  for (guint i = 0; i < G_N_ELEMENTS (magics); i++)
    {
      g_autoptr (GArray) ev = decode_ok (packet (magics[i], body, sizeof body), 0, 0);
      g_assert_cmpuint (ev->len, ==, 0);
    }
}

static void
test_bounds (void)
{
  g_autoptr (GArray) ev = g_array_new (FALSE, TRUE, sizeof (LbInputEvent));
  g_autoptr (GError) error = NULL;
  /* shorter than the header */
  const guint8 tiny[7] = { 0, 0, 0, 6, 7, 0, 0 };
  for (gsize n = 0; n <= sizeof tiny; n++)
    {
      g_assert_false (lb_ml_input_decode (tiny, n, 640, 480, ev, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      g_clear_error (&error);
    }
  g_assert_false (lb_ml_input_decode (NULL, 0, 640, 480, ev, &error));
  g_clear_error (&error);

  /* size field larger than the buffer, smaller, and huge */
  guint8 rel[4] = { 0, 1, 0, 1 };
  GByteArray *p = packet (7, rel, 4);
  p->data[3] += 1;
  decode_fails (p);
  p = packet (7, rel, 4);
  p->data[3] -= 1;
  decode_fails (p);
  p = packet (7, rel, 4);
  p->data[0] = 0xFF;
  decode_fails (p);
  /* size field < 4 (no room for the magic) */
  p = packet (7, NULL, 0);
  p->data[3] = 3;
  decode_fails (p);

  /* each type with one byte less than its fields */
  decode_fails (packet (3, (const guint8 *)"\0\x41", 2)); /* key needs flags, code, mods */
  decode_fails (packet (7, rel, 3));
  guint8 abs[10] = { 0 };
  decode_fails (packet (5, abs, 9));
  decode_fails (packet (8, NULL, 0));
  decode_fails (packet (0xA, abs, 1));
  decode_fails (packet (0x55000001, abs, 1));
  /* an unknown magic */
  decode_fails (packet (0x42, abs, 10));
  g_assert_cmpuint (ev->len, ==, 0);

  /* events append to what is already in the array */
  g_autoptr (GArray) two = g_array_new (FALSE, TRUE, sizeof (LbInputEvent));
  for (int i = 0; i < 2; i++)
    {
      g_autoptr (GByteArray) k = key_packet (TRUE, 0x41, 0);
      g_assert_true (lb_ml_input_decode (k->data, k->len, 0, 0, two, NULL));
    }
  g_assert_cmpuint (two->len, ==, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ml-input/keys", test_keys);
  g_test_add_func ("/ml-input/mouse-relative", test_mouse_relative);
  g_test_add_func ("/ml-input/mouse-absolute", test_mouse_absolute);
  g_test_add_func ("/ml-input/buttons", test_buttons);
  g_test_add_func ("/ml-input/scroll", test_scroll);
  g_test_add_func ("/ml-input/text", test_text);
  g_test_add_func ("/ml-input/gamepad-ignored", test_gamepad_ignored);
  g_test_add_func ("/ml-input/bounds", test_bounds);
  return g_test_run ();
}
