/*
 * The built-in rules: what the server runs when a script in SCRIPTS_DIR
 * is missing or broken at start-up, and the sample listing every new
 * version must pass before it goes live.
 *
 * The defaults behave exactly like the shipped scripts (the unit
 * test test_hook checks it on several listings); they are just the code,
 * without the owner's comments.  Change both together.
 */
#include "app.h"

static const char	default_mapping[] =
	"local function number(v)\n"
	"	if v == nil then return nil end\n"
	"	return tonumber(v)\n"
	"end\n"
	"local function first_part(text)\n"
	"	if text == nil then return nil end\n"
	"	return text:match(\"^%s*([^,]-)%s*,\") or text\n"
	"end\n"
	"function map(listing)\n"
	"	local release = listing.release or {}\n"
	"	local price = listing.price or {}\n"
	"	local shipping = listing.shipping_price or {}\n"
	"	local image = (release.images or {})[1] or {}\n"
	"	local community = (release.stats or {}).community or {}\n"
	"	local year = release.year\n"
	"	if year == 0 then year = nil end\n"
	"	return {\n"
	"		listing_id = listing.id, status = listing.status,\n"
	"		condition = listing.condition,\n"
	"		sleeve_condition = listing.sleeve_condition,\n"
	"		posted = listing.posted, uri = listing.uri,\n"
	"		resource_url = listing.resource_url,\n"
	"		price_value = price.value,\n"
	"		price_currency = price.currency,\n"
	"		shipping_price = shipping.value,\n"
	"		shipping_currency = shipping.currency,\n"
	"		weight = number(listing.weight),\n"
	"		format_quantity = number(listing.format_quantity),\n"
	"		external_id = listing.external_id,\n"
	"		location = listing.location,\n"
	"		comments = listing.comments,\n"
	"		release_id = release.id,\n"
	"		release_title = release.title,\n"
	"		release_year = year,\n"
	"		release_resource_url = release.resource_url,\n"
	"		release_uri = release.uri,\n"
	"		artist_names = release.artist,\n"
	"		primary_artist = release.artist,\n"
	"		label_names = release.label,\n"
	"		primary_label = release.label,\n"
	"		format_names = release.format,\n"
	"		primary_format = first_part(release.format),\n"
	"		catalog_number = release.catalog_number,\n"
	"		image_uri = image.uri,\n"
	"		image_resource_url = image.resource_url,\n"
	"		release_community_have = community.in_collection,\n"
	"		release_community_want = community.in_wantlist,\n"
	"	}\n"
	"end\n";

static const char	default_filter[] =
	"function keep(row, listing)\n"
	"	return true\n"
	"end\n";

static const char	default_ranking[] =
	"function score(row, query, relevance)\n"
	"	return relevance\n"
	"end\n";

const char *const	fb_rules_defaults[FB_SCRIPT_N] = {
	default_mapping, default_filter, default_ranking
};

/* One listing as Discogs' inventory sends it (trimmed to what we use). */
const char	fb_rules_sample_listing[] =
	"{\"id\": 3639550236, \"status\": \"For Sale\","
	" \"condition\": \"Very Good Plus (VG+)\","
	" \"sleeve_condition\": \"Generic\","
	" \"posted\": \"2025-06-27T15:36:31-07:00\","
	" \"uri\": \"https://www.discogs.com/sell/item/3639550236\","
	" \"resource_url\":"
	" \"https://api.discogs.com/marketplace/listings/3639550236\","
	" \"price\": {\"value\": 12.5, \"currency\": \"USD\"},"
	" \"shipping_price\": {\"value\": 4.0, \"currency\": \"USD\"},"
	" \"allow_offers\": false, \"weight\": 230, \"format_quantity\": 1,"
	" \"external_id\": \"A-17\", \"location\": \"crate 4\","
	" \"comments\": \"light scuffs, plays fine\","
	" \"seller\": {\"id\": 1, \"username\": \"sample-shop\"},"
	" \"release\": {\"id\": 11693605,"
	"  \"title\": \"Stop The Killing / I Don\xc2\xb4t Want You Back\","
	"  \"artist\": \"Anthony B / Heather Cummings\","
	"  \"label\": \"Colomino Records\","
	"  \"format\": \"Vinyl, 12\\\", 33 \xe2\x85\x93 RPM\","
	"  \"catalog_number\": \"CR-001\", \"year\": 1998,"
	"  \"resource_url\": \"https://api.discogs.com/releases/11693605\","
	"  \"thumbnail\": \"https://i.discogs.com/sample-150.jpeg\","
	"  \"description\": \"Anthony B / Heather Cummings - Stop The Killing"
	" (Vinyl, 12\\\")\","
	"  \"images\": [{\"type\": \"primary\","
	"   \"uri\": \"https://i.discogs.com/sample-600.jpeg\","
	"   \"resource_url\": \"https://i.discogs.com/sample-600.jpeg\"}],"
	"  \"stats\": {\"community\": {\"in_collection\": 57,"
	" \"in_wantlist\": 112}}}}";
