-- mix.lua: the "mix" mode of make bench; a different URL on every request.
--
--   wrk ... -s tests/bench/mix.lua http://HOST:PORT -- \
--       TEMPLATE IDS_FILE MAX_OFFSET
--
-- TEMPLATE is a path whose placeholders are filled per request:
--   {id}      a listing id drawn from IDS_FILE (gen_listings' DBPATH.ids)
--   {offset}  an integer in [0, MAX_OFFSET]
--   {word}    a search word found in the generated data, percent-encoded
-- Each wrk thread has its own Lua state and its own random sequence.

local template
local ids = {}
local max_offset = 0
local words = {
	"silent", "electric", "gardens", "machines", "echoes", "neon",
	"bjork", "björk", "sigur", "ros", "motorhead", "坂本龍一", "heroes",
	"blue", "love", "shoegaze", "ambient", "krautrock", "warp", "ecm",
	"vinyl", "cassette", "mint", "sleeve", "promo", "obi",
}

local counter = 0

-- Runs in the main state once per thread: give each a distinct seed.
function setup(thread)
	counter = counter + 1
	thread:set("thread_no", counter)
end

function init(args)
	template = args[1] or error("mix.lua: no TEMPLATE argument")
	if args[2] and args[2] ~= "" then
		for line in io.lines(args[2]) do
			if line ~= "" then ids[#ids + 1] = line end
		end
	end
	max_offset = tonumber(args[3]) or 0
	if template:find("{id}", 1, true) and #ids == 0 then
		error("mix.lua: {id} needs a non-empty IDS_FILE")
	end
	math.randomseed(os.time() * 1000 + (thread_no or 0))
end

-- Percent-encodes everything but RFC 3986's unreserved characters.
local function encode(s)
	return (s:gsub("[^%w%-%._~]", function(c)
		return string.format("%%%02X", c:byte())
	end))
end

local function fill(name)
	if name == "id" then
		return ids[math.random(#ids)]
	elseif name == "offset" then
		return tostring(math.random(0, max_offset))
	elseif name == "word" then
		return encode(words[math.random(#words)])
	end
	return nil
end

function request()
	local path = template:gsub("{(%a+)}", fill)
	return wrk.format(nil, path)
end
