-- filter.lua: which of your Discogs records the shop shows.
--
-- Every time the shop fetches your inventory from Discogs, it calls
-- keep(row, listing) once for each record, after mapping.lua.
--   row      the record as the shop stores it (row.price_value,
--            row.condition, row.primary_artist, ...: see scripts/README.md)
--   listing  what Discogs sent for it, in case you need more
--
-- Answer true to show the record in the shop.  Answer false, and a short
-- reason, to leave it out; the reason appears in the sync report.
--
-- As shipped, the shop shows every record you have for sale, as before.
-- scripts/README.md has examples: hide cheap records, leave out records
-- in poor condition.  If this file has a mistake, the shop keeps the
-- previous version; a record that makes keep() fail is shown anyway.

function keep(row, listing)
	-- An example (remove the two dashes at the start of the lines below
	-- to use it): leave out records under 2 of your currency.
	--
	-- if row.price_value ~= nil and row.price_value < 2 then
	-- 	return false, "cheaper than 2"
	-- end

	return true
end
