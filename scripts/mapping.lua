-- mapping.lua: how a record you sell on Discogs becomes a record in
-- your own shop.
--
-- Every time the shop fetches your inventory from Discogs, it calls
-- map(listing) once for each record for sale.  "listing" is what Discogs
-- says about that record (see scripts/README.md for everything in it).
-- map gives back the shop's fields for it: the name on the left is the
-- shop's field, the value on the right comes from Discogs.
--
-- A field you leave out stays empty.  A name that is not one of the
-- shop's fields is kept too, under custom_metadata.  Prices are plain
-- numbers such as 12.5; the shop stores them exactly, to the cent.
--
-- Genres, styles, country and barcode are not here on purpose: Discogs
-- does not send them with your inventory.  The shop fetches them from
-- each record's own page later and fills them in by itself.
--
-- After a change, save the file: the shop uses it within two seconds.
-- If the new version has a mistake, the shop keeps the previous one and
-- shows the error (with its line number) at /api/rules.  To try it out
-- first, run:  build/freakinbeats rules check


-- A number from Discogs, or nothing when there is none.
local function number(value)
	if value == nil then
		return nil
	end
	return tonumber(value)
end

-- The first part of a text such as 'Vinyl, 12", 33 ⅓ RPM', here "Vinyl".
local function first_part(text)
	if text == nil then
		return nil
	end
	return text:match("^%s*([^,]-)%s*,") or text
end

function map(listing)
	-- Parts of the listing that may be missing; {} stands for "nothing".
	local release = listing.release or {}
	local price = listing.price or {}
	local shipping = listing.shipping_price or {}
	local image = (release.images or {})[1] or {}
	local community = (release.stats or {}).community or {}

	-- Discogs says year 0 when it does not know the year.
	local year = release.year
	if year == 0 then
		year = nil
	end

	return {
		-- The listing itself
		listing_id = listing.id,
		status = listing.status,
		condition = listing.condition,
		sleeve_condition = listing.sleeve_condition,
		posted = listing.posted,
		uri = listing.uri,
		resource_url = listing.resource_url,
		price_value = price.value,
		price_currency = price.currency,
		shipping_price = shipping.value,
		shipping_currency = shipping.currency,
		weight = number(listing.weight),
		format_quantity = number(listing.format_quantity),
		external_id = listing.external_id,
		location = listing.location,
		comments = listing.comments,

		-- The record (Discogs calls it the release)
		release_id = release.id,
		release_title = release.title,
		release_year = year,
		release_resource_url = release.resource_url,
		release_uri = release.uri,
		artist_names = release.artist,
		primary_artist = release.artist,
		label_names = release.label,
		primary_label = release.label,
		format_names = release.format,
		primary_format = first_part(release.format),
		catalog_number = release.catalog_number,

		-- The first picture, and how many Discogs users have or want it
		image_uri = image.uri,
		image_resource_url = image.resource_url,
		release_community_have = community.in_collection,
		release_community_want = community.in_wantlist,
	}
end
