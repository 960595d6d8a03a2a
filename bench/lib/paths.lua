-- wrk script: cycle through the request paths listed (one per line) in the
-- file named by the PATHS_FILE environment variable, each thread from a
-- different offset.
local paths = {}
local counter = 0

function setup(thread)
  thread:set("offset", math.random(1, 1000))
end

function init(args)
  for line in io.lines(os.getenv("PATHS_FILE")) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  counter = offset or 0
end

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
