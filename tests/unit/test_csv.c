/*
 * csv.c: RFC 4180 records, line numbers for errors, BOM and CRLF, and
 * recovery after a bad record.
 */
#include "app.h"
#include "test.h"

static int
next(struct fb_csv *c, struct fb_err *err)
{
	fb_err_clear(err);
	return (fb_csv_next(c, err));
}

static void
test_basic(void)
{
	static const char	data[] = "\xef\xbb\xbf" "a,b,c\r\n"
				    "1,\"x, \"\"y\"\"\",3\r\n"
				    "\"multi\nline\",,\"\"\r\n"
				    "\n"
				    "last,row,end";
	struct fb_csv		c;
	struct fb_err		err;

	fb_csv_init(&c, data, sizeof(data) - 1);
	EQ_INT(next(&c, &err), 1, "header read");
	EQ_STR(fb_csv_field(&c, 0, NULL), "a", "BOM skipped");
	EQ_INT(c.n_fields, 3, "three fields");
	EQ_INT(next(&c, &err), 1, "record 2");
	EQ_STR(fb_csv_field(&c, 1, NULL), "x, \"y\"", "quotes and commas");
	EQ_INT(c.row_line, 2, "record 2 on line 2");
	EQ_INT(next(&c, &err), 1, "record 3");
	EQ_STR(fb_csv_field(&c, 0, NULL), "multi\nline", "newline in quotes");
	EQ_STR(fb_csv_field(&c, 1, NULL), "", "empty field");
	EQ_STR(fb_csv_field(&c, 2, NULL), "", "empty quoted field");
	EQ_INT(c.n_fields, 3, "three fields after a quoted newline");
	EQ_INT(next(&c, &err), 1, "record after a blank line");
	EQ_INT(c.row_line, 6, "line counted across the quoted newline");
	EQ_STR(fb_csv_field(&c, 2, NULL), "end", "no final newline");
	EQ_INT(next(&c, &err), 0, "end of input");
	fb_csv_cleanup(&c);
}

static void
test_errors(void)
{
	static const char	data[] = "a,b\n"
				    "\"bad\"x,2\n"
				    "ok,3\n"
				    "trailing,\n"
				    "\"never closed,4\n";
	struct fb_csv		c;
	struct fb_err		err;
	size_t			len;

	fb_csv_init(&c, data, sizeof(data) - 1);
	EQ_INT(next(&c, &err), 1, "header");
	EQ_INT(next(&c, &err), -1, "text after a closing quote");
	EQ_STR(err.msg, "line 2: field 1: text after a closing quote",
	    "error names line and field");
	EQ_INT(next(&c, &err), 1, "recovers on the next line");
	EQ_STR(fb_csv_field(&c, 0, NULL), "ok", "next record intact");
	EQ_INT(next(&c, &err), 1, "trailing comma");
	EQ_INT(c.n_fields, 2, "trailing comma makes an empty field");
	(void)fb_csv_field(&c, 1, &len);
	EQ_INT(len, 0, "empty last field");
	EQ_INT(next(&c, &err), -1, "unterminated quote");
	EQ_STR(err.msg, "line 5: field 1: quoted field never closed",
	    "unterminated quote reported");
	EQ_INT(next(&c, &err), 0, "then the end");
	fb_csv_cleanup(&c);
}

/* Quotes at the very edges of the input, and lines inside long fields. */
static void
test_edges(void)
{
	static const char	data[] = "\"a\n\nb\",\"\"\"\"\n"
				    "x,\"\"\"q\"\"\"";
	struct fb_csv		c;
	struct fb_err		err;

	fb_csv_init(&c, data, sizeof(data) - 1);
	EQ_INT(next(&c, &err), 1, "two line breaks in one field");
	EQ_STR(fb_csv_field(&c, 0, NULL), "a\n\nb", "kept");
	EQ_STR(fb_csv_field(&c, 1, NULL), "\"", "a field of one quote");
	EQ_INT(next(&c, &err), 1, "a quoted field closes at the end of input");
	EQ_INT(c.row_line, 4, "its line counts both breaks");
	EQ_STR(fb_csv_field(&c, 1, NULL), "\"q\"", "doubled quotes at its edges");
	EQ_INT(next(&c, &err), 0, "then the end");
	fb_csv_cleanup(&c);
	fb_csv_init(&c, "\"ab\"\"", 5);
	EQ_INT(next(&c, &err), -1, "a doubled quote as the last bytes");
	EQ_STR(err.msg, "line 1: field 1: quoted field never closed",
	    "is not a closing quote");
	fb_csv_cleanup(&c);
}

int
main(void)
{
	test_basic();
	test_errors();
	test_edges();
	return (TEST_DONE());
}
