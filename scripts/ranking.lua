-- ranking.lua: the order of search results.
--
-- When a shopper searches (for example for "marley"), the shop first
-- finds the 200 records that match the words best.  It then calls
-- score(row, query, relevance) for each of them and shows the highest
-- scores first.
--   row        the record (row.price_value, row.image_uri, row.genres,
--              ...: see scripts/README.md)
--   query      the words the shopper typed, as typed
--   relevance  how well the words match this record: a number above 0,
--              bigger when the words are in the title or artist, come
--              early in them, or appear more often.  Usually between 1
--              and 40.
--
-- Answer a number: higher comes first.  As shipped, the score is the
-- relevance itself, so results come in the order the words match best.
--
-- If this file has a mistake, or takes too long, the search simply uses
-- the order of the words' match, and the error shows at /api/rules.

function score(row, query, relevance)
	local s = relevance

	-- An example (remove the two dashes at the start of the lines below
	-- to use it): records with a picture come a little earlier.
	--
	-- if row.image_uri ~= nil then
	-- 	s = s + 2
	-- end

	return s
end
