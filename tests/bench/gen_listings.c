/*
 * gen_listings: the synthetic shop that `make bench` measures.
 *
 *   build/tests/gen_listings DBPATH N [SEED]
 *
 * Owns the benchmark data set.  It creates DBPATH with our own schema
 * (fb_db_open + fb_db_migrate), inserts N varied listings in one
 * transaction through one prepared INSERT, and writes DBPATH.ids: a sample
 * of existing listing ids, one a line, for the wrk mix scripts.  The data
 * is a pure function of N and SEED (the clock is never read), with the
 * shapes a real shop has: unicode artists, quotes in titles, ids above
 * 2^32, money in integer hundredths, posted times with zone offsets, a few
 * removed listings.  A rendered row averages about 1.7 KB of JSON (the
 * keys alone take 0.7 KB), so a 50-row page is about 85 KB.
 * Rows and seconds go to stderr; stdout stays empty.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"

#define IDS_SAMPLE	10000
#define ROW_STORE	8192
#define ID_BASE		((int64_t)1 << 32)	/* ids exceed 32 bits */
#define ID_STRIDE	997
#define EPOCH_NOW	((int64_t)1717200000)	/* 2024-06-01, fixed */
#define SPAN_SECS	((int64_t)6 * 365 * 86400)
#define NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))

/* The columns we fill; every column of listing.c must be here. */
#define GEN_COLUMNS(X)							\
	X(listing_id, K_INT) X(status, K_TEXT) X(condition, K_TEXT)	\
	X(sleeve_condition, K_TEXT) X(posted, K_TEXT) X(uri, K_TEXT)	\
	X(resource_url, K_TEXT) X(price_value, K_INT)			\
	X(price_currency, K_TEXT) X(shipping_price, K_INT)		\
	X(shipping_currency, K_TEXT) X(weight, K_REAL)			\
	X(format_quantity, K_INT) X(external_id, K_TEXT)		\
	X(location, K_TEXT) X(comments, K_TEXT) X(release_id, K_INT)	\
	X(release_title, K_TEXT) X(release_year, K_INT)			\
	X(release_resource_url, K_TEXT) X(release_uri, K_TEXT)		\
	X(artist_names, K_TEXT) X(primary_artist, K_TEXT)		\
	X(label_names, K_TEXT) X(primary_label, K_TEXT)			\
	X(format_names, K_TEXT) X(primary_format, K_TEXT)		\
	X(genres, K_TEXT) X(styles, K_TEXT) X(country, K_TEXT)		\
	X(catalog_number, K_TEXT) X(barcode, K_TEXT) X(master_id, K_INT)\
	X(master_url, K_TEXT) X(image_uri, K_TEXT)			\
	X(image_resource_url, K_TEXT) X(release_community_have, K_INT)	\
	X(release_community_want, K_INT) X(export_timestamp, K_TEXT)	\
	X(created_at, K_TEXT) X(updated_at, K_TEXT) X(is_active, K_INT)	\
	X(removed_at, K_TEXT) X(sold_at, K_TEXT) X(custom_metadata, K_TEXT)

enum { K_TEXT, K_INT, K_REAL };

#define GEN_ENUM(n, k)		C_##n,
#define GEN_DESC(n, k)		{ #n, k },

enum gen_col { GEN_COLUMNS(GEN_ENUM) C_MAX };

static const struct {
	const char	*name;
	int		 kind;
} cols[C_MAX] = { GEN_COLUMNS(GEN_DESC) };

/* One row being built: unset columns are bound as NULL. */
struct row {
	int		 set[C_MAX];
	int64_t		 num[C_MAX];
	double		 real[C_MAX];
	const char	*text[C_MAX];
	char		 store[ROW_STORE];
	size_t		 used;
};

/* A picked release, shared by the fill_* steps of one row. */
struct pick {
	const char	*artist;
	const char	*title;
	const char	*label;
	int		 format;
	int64_t		 release_id;
	int64_t		 posted;
	const char	*currency;
};

static const char *const artists[] = {
	"Björk", "Sigur Rós", "坂本龍一", "Motörhead", "Mötley Crüe",
	"Röyksopp", "Jóhann Jóhannsson", "Ólafur Arnalds", "Françoise Hardy",
	"Serge Gainsbourg", "Os Mutantes", "Caetano Veloso", "Fela Kuti",
	"細野晴臣", "Yellow Magic Orchestra", "Кино", "Βαγγέλης",
	"Café Tacvba", "Sonic Youth", "My Bloody Valentine", "Aphex Twin",
	"Boards Of Canada", "Can", "Neu!", "Kraftwerk", "David Bowie",
	"Miles Davis", "John Coltrane", "Nina Simone", "Daft Punk",
	"Portishead", "Massive Attack", "Radiohead", "Joy Division",
	"New Order", "The Cure", "Talking Heads", "Alice Coltrane",
	"Mulatu Astatke", "Various",
};

static const char *const real_titles[] = {
	"\"Heroes\"", "Ágætis byrjun", "( )", "Homogenic", "Ace Of Spades",
	"戦場のメリークリスマス", "Kid A", "Unknown Pleasures", "Blue Train",
	"A Love Supreme", "Selected Ambient Works 85–92", "Loveless",
	"Music Has The Right To Children", "Tago Mago", "Neu! '75",
	"Die Mensch·Maschine", "Remain In Light", "Mezzanine", "Dummy",
	"Kind Of Blue", "Journey In Satchidananda", "Éthiopiques, Vol. 4",
	"Histoire De Melody Nelson", "Group Sounds \\ Tape Edits",
	"Группа крови", "Homework",
};

static const char *const words_a[] = {
	"Silent", "Electric", "Golden", "Broken", "Midnight", "Velvet",
	"Northern", "Hollow", "Crystal", "Wandering", "Frozen", "Burning",
	"Distant", "Paper", "Neon", "Secret", "Lunar", "Wild", "Quiet",
	"Analog",
};

static const char *const words_b[] = {
	"Gardens", "Rivers", "Machines", "Horizons", "Echoes", "Lanterns",
	"Signals", "Tides", "Mirrors", "Highways", "Orchards", "Satellites",
	"Ghosts", "Harbours", "Circuits", "Meadows", "Voices", "Islands",
	"Engines", "Dunes",
};

static const char *const labels[] = {
	"Blue Note", "ECM Records", "Warp Records", "Factory", "4AD",
	"One Little Indian", "Rough Trade", "Sub Pop", "Mute", "Bronze",
	"Virgin", "Columbia", "Impulse!", "Alfa Records", "Smekkleysa",
	"Island Records", "XL Recordings", "Matador", "Domino",
	"Light In The Attic", "Ostinato Records", "Philips", "Мелодия",
	"Sony Records", "Parlophone",
};

static const struct {
	const char	*primary;
	const char	*names;
	double		 weight;
	int		 qty;
} formats[] = {
	{ "Vinyl LP", "Vinyl, LP, Album", 230, 1 },
	{ "Vinyl LP", "Vinyl, LP, Album, Gatefold, 180g", 460, 2 },
	{ "7\"", "Vinyl, 7\", 45 RPM, Single", 60, 1 },
	{ "12\"", "Vinyl, 12\", 33 ⅓ RPM, EP", 180, 1 },
	{ "CD", "CD, Album, Reissue", 100, 1 },
	{ "Cassette", "Cassette, Album", 70, 1 },
};

/* Discogs grading, listed best first; picks lean to the middle. */
static const char *const conditions[] = {
	"Mint (M)", "Near Mint (NM or M-)", "Very Good Plus (VG+)",
	"Very Good (VG)", "Good Plus (G+)", "Good (G)", "Fair (F)",
	"Poor (P)",
};

static const char *const sleeve_extra[] = {
	"Generic", "No Cover", "Not Graded",
};

static const char *const genres[] = {
	"Rock", "Electronic", "Jazz", "Funk / Soul", "Pop", "Classical",
	"Hip Hop", "Folk, World, & Country", "Reggae", "Latin", "Blues",
	"Stage & Screen",
};

static const char *const styles[] = {
	"Shoegaze", "Post-Rock", "Ambient", "IDM", "Krautrock", "Hard Bop",
	"Modal", "Afrobeat", "Synth-pop", "Heavy Metal", "Trip Hop",
	"Chanson", "MPB", "Tropicália", "Experimental", "Downtempo",
	"Free Jazz", "Ethio-jazz", "City Pop", "New Wave",
};

static const char *const countries[] = {
	"US", "UK", "Iceland", "Japan", "Germany", "France", "Brazil",
	"Nigeria", "Ethiopia", "USSR", "Europe", "Unknown",
};

static const char *const zones[] = {
	"-07:00", "-08:00", "-05:00", "+00:00", "+01:00", "+02:00",
	"+09:00", "+05:30",
};

static const char *const phrases[] = {
	"Plays through with light surface noise on quiet passages.",
	"Sleeve has ringwear and a small seam split at the top (see photos).",
	"Original inner sleeve included, a little creased.",
	"Cleaned on a vacuum machine before listing.",
	"Promo stamp on the back cover.",
	"Comes with the obi strip and the lyric insert — both complete.",
	"Price sticker on the shrink: \"£3.99\".",
	"A few hairlines, none of them audible.",
	"Vinyl looks unplayed; the sleeve corners are sharp.",
	"Slight warp that does not affect play.\nShips in a new outer sleeve.",
	"Label has a writing-on-label (WOL) in blue ink.",
	"Gatefold spine is faded from sunlight.",
	"Combined shipping: add more records to the cart, pay once.",
	"First pressing, matrix A1/B1, etched runout.",
	"Tape plays perfectly; J-card has minor wear.",
	"CD has light scuffs; plays without skips. Booklet 12 pages.",
	"Records are graded visually and play-tested where it matters.",
	"Rare copy ✓ — we ship worldwide in sturdy mailers, tracked.",
	"Cut-out notch on the top right corner.",
	"Includes the poster, folded as issued.",
	"Small tear on the back, ½ inch, repaired with archival tape.",
	"Jacket is in great shape for its age.",
};

static uint64_t	rng_state;

static uint64_t	rng_next(void);
static int	rng_below(int);
static double	rng_unit(void);
static void	row_reset(struct row *);
static void	row_int(struct row *, int, int64_t);
static void	row_real(struct row *, int, double);
static void	row_str(struct row *, int, const char *);
static void	row_fmt(struct row *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	iso_time(char *, size_t, int64_t, const char *);
static const char *catno_prefix(const char *);
static const char *pick_title(char *, size_t);
static const char *pick_artist(char *, size_t);
static void	fill_release(struct row *, struct pick *);
static void	fill_formats(struct row *, struct pick *);
static void	fill_money(struct row *, struct pick *);
static void	fill_times(struct row *, struct pick *, int64_t);
static void	fill_comments(struct row *);
static void	fill_urls(struct row *, const struct pick *, int64_t);
static void	fill_image(struct row *);
static void	fill_misc(struct row *, const struct pick *);
static void	fill_row(struct row *, int64_t);
static int	check_columns(void);
static sqlite3_stmt *prepare_insert(struct fb_db *, struct fb_err *);
static int	bind_row(sqlite3_stmt *, const struct row *);
static int	insert_all(struct fb_db *, int64_t *, int, struct fb_err *);
static int	write_ids(const char *, int64_t *, int);
static int	parse_args(int, char **, int *, uint64_t *);
static int	generate(const char *, int, int64_t *);

/* splitmix64: small, fast and the same on every platform. */
static uint64_t
rng_next(void)
{
	uint64_t	z;

	z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31));
}

static int
rng_below(int n)
{
	return ((int)(rng_next() % (uint64_t)n));
}

static double
rng_unit(void)
{
	return ((double)(rng_next() >> 11) / 9007199254740992.0);
}

static void
row_reset(struct row *r)
{
	memset(r->set, 0, sizeof(r->set));
	r->used = 0;
}

static void
row_int(struct row *r, int c, int64_t v)
{
	r->set[c] = 1;
	r->num[c] = v;
}

static void
row_real(struct row *r, int c, double v)
{
	r->set[c] = 1;
	r->real[c] = v;
}

/* s must outlive the row: a literal or a table entry. */
static void
row_str(struct row *r, int c, const char *s)
{
	r->set[c] = 1;
	r->text[c] = s;
}

static void
row_fmt(struct row *r, int c, const char *fmt, ...)
{
	va_list	ap;
	char	*dst = r->store + r->used;
	size_t	 room = sizeof(r->store) - r->used;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		fprintf(stderr, "gen_listings: row store overflow (%s)\n",
		    cols[c].name);
		exit(1);
	}
	r->used += (size_t)n + 1;
	row_str(r, c, dst);
}

/* t is UTC; zone NULL gives "...Z", else local time with that offset. */
static void
iso_time(char *out, size_t len, int64_t t, const char *zone)
{
	struct tm	tm;
	time_t		tt;
	int		sign, hh, mm;

	if (zone == NULL) {
		fb_time_iso(out, len, t);
		return;
	}
	sign = zone[0] == '-' ? -1 : 1;
	hh = atoi(zone + 1);
	mm = atoi(zone + 4);
	tt = (time_t)(t + sign * (hh * 3600 + mm * 60));
	(void)gmtime_r(&tt, &tm);
	(void)snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d%s",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, zone);
}

/* Up to three ASCII letters of the label, upper-cased: "WAR", "ECM". */
static const char *
catno_prefix(const char *label)
{
	static char		 out[4];
	const unsigned char	*s = (const unsigned char *)label;
	size_t			 o = 0;

	for (; *s != '\0' && o < 3; s++) {
		if (*s < 0x80 && isalnum(*s))
			out[o++] = (char)toupper(*s);
	}
	out[o] = '\0';
	return (o > 0 ? out : "CAT");
}

static const char *
pick_title(char *tmp, size_t len)
{
	if (rng_below(10) < 3)
		return (real_titles[rng_below(NELEM(real_titles))]);
	(void)snprintf(tmp, len, "%s %s", words_a[rng_below(NELEM(words_a))],
	    words_b[rng_below(NELEM(words_b))]);
	return (tmp);
}

/* A known name, or one of 1,600 made-up bands for the long tail. */
static const char *
pick_artist(char *tmp, size_t len)
{
	if (rng_below(10) < 6)
		return (artists[rng_below(NELEM(artists))]);
	(void)snprintf(tmp, len, "The %s %s %d",
	    words_a[rng_below(NELEM(words_a))],
	    words_b[rng_below(NELEM(words_b))], 1 + rng_below(4));
	return (tmp);
}

static void
fill_release(struct row *r, struct pick *p)
{
	char	title[128], artist[128], second[128];

	p->title = pick_title(title, sizeof(title));
	p->artist = pick_artist(artist, sizeof(artist));
	p->label = labels[rng_below(NELEM(labels))];
	row_fmt(r, C_release_title, "%s", p->title);
	row_fmt(r, C_primary_artist, "%s", p->artist);
	p->title = r->text[C_release_title];
	p->artist = r->text[C_primary_artist];
	if (rng_below(10) == 0)
		row_fmt(r, C_artist_names, "%s, %s", p->artist,
		    pick_artist(second, sizeof(second)));
	else
		row_str(r, C_artist_names, p->artist);
	row_str(r, C_primary_label, p->label);
	if (rng_below(8) == 0)
		row_fmt(r, C_label_names, "%s, %s", p->label,
		    labels[rng_below(NELEM(labels))]);
	else
		row_str(r, C_label_names, p->label);
	row_fmt(r, C_catalog_number, "%s-%d%s", catno_prefix(p->label),
	    100 + rng_below(9900), rng_below(4) ? "" : " LP");
	if (rng_below(20) > 0)
		row_int(r, C_release_year, 1955 + rng_below(70));
	row_str(r, C_country, countries[rng_below(NELEM(countries))]);
}

static void
fill_formats(struct row *r, struct pick *p)
{
	int	g = rng_below(NELEM(genres)), s = rng_below(NELEM(styles));
	int	c = rng_below(100);

	p->format = rng_below(NELEM(formats));
	row_str(r, C_primary_format, formats[p->format].primary);
	row_str(r, C_format_names, formats[p->format].names);
	row_real(r, C_weight, formats[p->format].weight);
	row_int(r, C_format_quantity, formats[p->format].qty);
	if (rng_below(3) == 0)
		row_fmt(r, C_genres, "%s, %s", genres[g],
		    genres[(g + 1 + rng_below(3)) % NELEM(genres)]);
	else
		row_str(r, C_genres, genres[g]);
	row_fmt(r, C_styles, "%s, %s, %s", styles[s],
	    styles[(s + 3) % NELEM(styles)], styles[(s + 7) % NELEM(styles)]);
	/* M 5%, NM 25%, VG+ 35%, VG 20%, then the tail. */
	c = c < 5 ? 0 : c < 30 ? 1 : c < 65 ? 2 : c < 85 ? 3 :
	    4 + (c - 85) / 4;
	row_str(r, C_condition, conditions[c]);
	if (rng_below(12) == 0)
		row_str(r, C_sleeve_condition,
		    sleeve_extra[rng_below(NELEM(sleeve_extra))]);
	else
		row_str(r, C_sleeve_condition,
		    conditions[c < 7 ? c + rng_below(2) : c]);
}

/* 0.50 to 500.00, log-uniform; yen in whole units of about that value. */
static void
fill_money(struct row *r, struct pick *p)
{
	static const char *const cur[] = { "USD", "USD", "USD", "USD",
	    "EUR", "EUR", "EUR", "GBP", "GBP", "JPY" };
	int64_t	minor = (int64_t)(50.0 * pow(1000.0, rng_unit()));
	int	yen;

	p->currency = cur[rng_below(NELEM(cur))];
	yen = strcmp(p->currency, "JPY") == 0;
	if (yen)
		minor = minor * 150 / 100 * 100;
	else if (rng_below(3) == 0)
		minor = minor / 100 * 100 + 99;
	row_int(r, C_price_value, minor);
	row_str(r, C_price_currency, p->currency);
	minor = rng_below(5) == 0 ? 0 : 300 + rng_below(2200);
	if (yen)
		minor = minor * 150 / 100 * 100;
	row_int(r, C_shipping_price, minor);
	row_str(r, C_shipping_currency, p->currency);
}

static void
fill_times(struct row *r, struct pick *p, int64_t i)
{
	char	buf[40];
	int64_t	created;

	p->posted = EPOCH_NOW - (int64_t)(rng_next() % (uint64_t)SPAN_SECS);
	iso_time(buf, sizeof(buf), p->posted,
	    zones[rng_below(NELEM(zones))]);
	row_fmt(r, C_posted, "%s", buf);
	created = p->posted + 60 + rng_below(86400);
	iso_time(buf, sizeof(buf), created, NULL);
	row_fmt(r, C_created_at, "%s", buf);
	iso_time(buf, sizeof(buf), created + rng_below(3) * rng_below(
	    30 * 86400), NULL);
	row_fmt(r, C_updated_at, "%s", buf);
	row_int(r, C_is_active, rng_below(100) >= 3);
	row_str(r, C_status, r->num[C_is_active] ? "For Sale" : "Sold");
	if (!r->num[C_is_active]) {
		iso_time(buf, sizeof(buf), EPOCH_NOW - i % 86400, NULL);
		row_fmt(r, C_removed_at, "%s", buf);
		if (rng_below(2) == 0)
			row_fmt(r, C_sold_at, "%s", buf);
	}
	if (rng_below(4) == 0) {
		iso_time(buf, sizeof(buf), created, NULL);
		row_fmt(r, C_export_timestamp, "%s", buf);
	}
}

/* NULL (30%), a line, or up to seven sentences; ~90 bytes on average. */
static void
fill_comments(struct row *r)
{
	char	text[1024];
	size_t	off = 0;
	int	n, k;

	k = rng_below(100);
	if (k < 30)
		return;
	n = k < 65 ? 1 : k < 90 ? 2 + rng_below(2) : 4 + rng_below(4);
	text[0] = '\0';
	while (n-- > 0 && off < sizeof(text) - 200)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		    "%s%s", off ? " " : "",
		    phrases[rng_below(NELEM(phrases))]);
	row_fmt(r, C_comments, "%s", text);
}

/* Discogs-shaped URLs; the release URL carries an ASCII slug. */
static void
fill_urls(struct row *r, const struct pick *p, int64_t id)
{
	char		 slug[160];
	const char	*s;
	size_t		 o = 0;

	(void)snprintf(slug, sizeof(slug), "%s-%s", p->artist, p->title);
	for (s = slug; *s != '\0' && o < sizeof(slug) - 1; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9'))
			slug[o++] = *s;
		else if (o > 0 && slug[o - 1] != '-')
			slug[o++] = '-';
	}
	slug[o] = '\0';
	row_fmt(r, C_uri, "https://www.discogs.com/sell/item/%lld",
	    (long long)id);
	row_fmt(r, C_resource_url,
	    "https://api.discogs.com/marketplace/listings/%lld", (long long)id);
	row_int(r, C_release_id, p->release_id);
	row_fmt(r, C_release_resource_url,
	    "https://api.discogs.com/releases/%lld", (long long)p->release_id);
	row_fmt(r, C_release_uri, "https://www.discogs.com/release/%lld-%s",
	    (long long)p->release_id, slug);
}

/* i.discogs.com URLs: a signature and a base64 path, ~155 bytes. */
static void
fill_image(struct row *r)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char	sig[33], path[65];
	size_t	i;

	for (i = 0; i < sizeof(sig) - 1; i++)
		sig[i] = b64[rng_below(64)];
	sig[sizeof(sig) - 1] = '\0';
	for (i = 0; i < sizeof(path) - 1; i++)
		path[i] = b64[rng_below(64)];
	path[sizeof(path) - 1] = '\0';
	if (rng_below(10) == 0)
		return;
	row_fmt(r, C_image_uri, "https://i.discogs.com/%s/rs:fit/g:sm/q:90/"
	    "h:600/w:600/%s.jpeg", sig, path);
	row_str(r, C_image_resource_url, r->text[C_image_uri]);
}

static void
fill_misc(struct row *r, const struct pick *p)
{
	int64_t	m;

	if (rng_below(10) < 7) {
		m = 1000 + (int64_t)(rng_next() % 3000000);
		row_int(r, C_master_id, m);
		row_fmt(r, C_master_url, "https://api.discogs.com/masters/%lld",
		    (long long)m);
	}
	if (rng_below(10) < 6)
		row_fmt(r, C_barcode, "%013llu", (unsigned long long)
		    (rng_next() % 10000000000000ULL));
	if (rng_below(10) < 6)
		row_fmt(r, C_external_id, "FB-%06d", rng_below(1000000));
	if (rng_below(2) == 0)
		row_fmt(r, C_location, "Shelf %c%d", 'A' + rng_below(8),
		    1 + rng_below(12));
	row_int(r, C_release_community_have, rng_below(20000));
	row_int(r, C_release_community_want, rng_below(30000));
	if (rng_below(10) == 0)
		row_fmt(r, C_custom_metadata, "{\"consignor\":\"%s\","
		    "\"bin\":%d,\"staff_pick\":%s}", p->label, rng_below(50),
		    rng_below(2) ? "true" : "false");
}

/* Row i: its id is unique by construction and above 2^32. */
static void
fill_row(struct row *r, int64_t i)
{
	struct pick	p;
	int64_t		id = ID_BASE + i * ID_STRIDE + rng_below(ID_STRIDE);

	row_reset(r);
	memset(&p, 0, sizeof(p));
	p.release_id = 1 + (int64_t)(rng_next() % 30000000);
	row_int(r, C_listing_id, id);
	fill_release(r, &p);
	fill_formats(r, &p);
	fill_money(r, &p);
	fill_times(r, &p, i);
	fill_comments(r);
	fill_urls(r, &p, id);
	fill_image(r);
	fill_misc(r, &p);
}

/* Every column that listing.c renders must be one we fill. */
static int
check_columns(void)
{
	int	i, j;

	for (i = 0; i < fb_listing_ncolumns; i++) {
		for (j = 0; j < C_MAX; j++)
			if (!strcmp(cols[j].name, fb_listing_columns[i].name))
				break;
		if (j == C_MAX) {
			fprintf(stderr, "gen_listings: column '%s' of "
			    "listing.c is not generated; add it to "
			    "GEN_COLUMNS\n", fb_listing_columns[i].name);
			return (FB_ERR);
		}
	}
	return (FB_OK);
}

static sqlite3_stmt *
prepare_insert(struct fb_db *db, struct fb_err *err)
{
	struct fb_buf	 sql;
	sqlite3_stmt	*st;
	int		 i;

	fb_buf_init(&sql, 2048);
	fb_buf_appends(&sql, "INSERT INTO listings (");
	for (i = 0; i < C_MAX; i++)
		fb_buf_appendf(&sql, "%s%s", i ? "," : "", cols[i].name);
	fb_buf_appends(&sql, ") VALUES (");
	for (i = 0; i < C_MAX; i++)
		fb_buf_appends(&sql, i ? ",?" : "?");
	fb_buf_appendc(&sql, ')');
	st = fb_db_prepare(db, fb_buf_cstr(&sql), err);
	fb_buf_cleanup(&sql);
	return (st);
}

static int
bind_row(sqlite3_stmt *st, const struct row *r)
{
	int	i, rc;

	for (i = 0; i < C_MAX; i++) {
		if (!r->set[i])
			rc = sqlite3_bind_null(st, i + 1);
		else if (cols[i].kind == K_INT)
			rc = sqlite3_bind_int64(st, i + 1, r->num[i]);
		else if (cols[i].kind == K_REAL)
			rc = sqlite3_bind_double(st, i + 1, r->real[i]);
		else
			rc = sqlite3_bind_text(st, i + 1, r->text[i], -1,
			    SQLITE_STATIC);
		if (rc != SQLITE_OK)
			return (FB_ERR);
	}
	return (FB_OK);
}

/* Inserts n rows in one transaction; ids[i] gets row i's id. */
static int
insert_all(struct fb_db *db, int64_t *ids, int n, struct fb_err *err)
{
	static struct row	 r;
	sqlite3_stmt		*st;
	int			 i;

	if ((st = prepare_insert(db, err)) == NULL)
		return (FB_ERR);
	if (fb_db_begin(db, err) != FB_OK ||
	    fb_fts_defer_begin(db, err) != FB_OK) {
		sqlite3_finalize(st);
		fb_db_rollback(db);
		return (FB_ERR);
	}
	for (i = 0; i < n; i++) {
		fill_row(&r, i);
		ids[i] = r.num[C_listing_id];
		if (bind_row(st, &r) != FB_OK ||
		    sqlite3_step(st) != SQLITE_DONE) {
			fb_err_set(err, "row %d: %s", i, sqlite3_errmsg(db->h));
			sqlite3_finalize(st);
			fb_db_rollback(db);
			return (FB_ERR);
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (fb_fts_touch_all(db, err) != FB_OK ||
	    fb_fts_defer_end(db, err) != FB_OK) {
		fb_db_rollback(db);
		return (FB_ERR);
	}
	return (fb_db_commit(db, err));
}

/* DBPATH.ids: a shuffled sample of at most IDS_SAMPLE ids. */
static int
write_ids(const char *dbpath, int64_t *ids, int n)
{
	char	 path[1024];
	FILE	*f;
	int	 i, j, k = n < IDS_SAMPLE ? n : IDS_SAMPLE;
	int64_t	 t;

	(void)snprintf(path, sizeof(path), "%s.ids", dbpath);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		return (FB_ERR);
	}
	for (i = 0; i < k; i++) {
		j = i + rng_below(n - i);
		t = ids[i];
		ids[i] = ids[j];
		ids[j] = t;
		fprintf(f, "%lld\n", (long long)ids[i]);
	}
	if (fclose(f) != 0) {
		perror(path);
		return (FB_ERR);
	}
	return (FB_OK);
}

static int
parse_args(int argc, char **argv, int *n, uint64_t *seed)
{
	char	*end;
	long	 v;

	if (argc < 3 || argc > 4)
		return (FB_ERR);
	v = strtol(argv[2], &end, 10);
	if (*end != '\0' || v < 1 || v > 10000000)
		return (FB_ERR);
	*n = (int)v;
	*seed = 1;
	if (argc == 4) {
		*seed = strtoull(argv[3], &end, 10);
		if (*end != '\0' || argv[3][0] == '\0')
			return (FB_ERR);
	}
	return (FB_OK);
}

/* Creates the schema in dbpath and fills it; refuses a non-empty shop. */
static int
generate(const char *dbpath, int n, int64_t *ids)
{
	struct fb_db	 db;
	struct fb_err	 err = { 0, "" };
	sqlite3_stmt	*st;
	int		 rc = FB_ERR, has_rows = 1;

	if (fb_db_open(&db, dbpath, &err) != FB_OK) {
		fprintf(stderr, "gen_listings: %s\n", err.msg);
		return (FB_ERR);
	}
	if (fb_db_migrate(&db, &err) == FB_OK &&
	    (st = fb_db_prepare(&db, "SELECT 1 FROM listings LIMIT 1",
	    &err)) != NULL) {
		has_rows = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
		if (has_rows)
			fb_err_set(&err, "%s already has listings; remove it "
			    "first", dbpath);
		else
			rc = insert_all(&db, ids, n, &err);
	}
	if (rc != FB_OK)
		fprintf(stderr, "gen_listings: %s\n", err.msg);
	fb_db_close(&db);
	return (rc);
}

int
main(int argc, char **argv)
{
	int64_t		*ids;
	uint64_t	 seed, t0;
	int		 n;

	if (parse_args(argc, argv, &n, &seed) != FB_OK) {
		fprintf(stderr, "usage: gen_listings DBPATH N [SEED]\n"
		    "  N: 1 to 10000000 listings; SEED: an unsigned "
		    "integer (default 1)\n");
		return (2);
	}
	if (check_columns() != FB_OK)
		return (1);
	if ((ids = calloc((size_t)n, sizeof(*ids))) == NULL)
		return (1);
	rng_state = seed;
	fb_cfg.log_level = FB_LOG_WARN;
	t0 = fb_time_mono_us();
	if (generate(argv[1], n, ids) != FB_OK ||
	    write_ids(argv[1], ids, n) != FB_OK) {
		free(ids);
		return (1);
	}
	fprintf(stderr, "gen_listings: %d rows in %.2f s (%s)\n", n,
	    (double)(fb_time_mono_us() - t0) / 1e6, argv[1]);
	free(ids);
	return (0);
}
