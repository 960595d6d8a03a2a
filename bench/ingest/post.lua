-- wrk script: durable report creates. Each request POSTs a new report at one
-- of the points listed (lon,lat per line) in the file named by POINTS_FILE
-- (facility positions of the sample city, so every point is inside a
-- district), each thread from a different offset. Anything but 201 counts as
-- an error in the summary.
local points = {}
local counter = 0
local errors = 0

function setup(thread)
  thread:set("offset", math.random(1, 100000))
end

function init(args)
  for line in io.lines(os.getenv("POINTS_FILE")) do
    local lon, lat = line:match("([%d.]+),([%d.]+)")
    if lon then points[#points + 1] = { lon, lat } end
  end
  counter = offset or 0
end

function request()
  counter = counter + 1
  local p = points[(counter % #points) + 1]
  local body = string.format(
    '{"category":"200104","lon":%s,"lat":%s,"description":"bench report %d","contact":{"phone":"13800000000"}}',
    p[1], p[2], counter)
  return wrk.format("POST", "/api/v1/reports", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  if status ~= 201 then errors = errors + 1 end
end
