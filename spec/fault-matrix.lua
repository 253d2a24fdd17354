-- make fault-matrix: writes the fault matrix observed by spec/fault_matrix_spec.lua (the file it
-- wrote with ANTHROPIC_WRITE_MATRIX) into docs/errors-and-retries.md, between the markers.
--   lua5.4 spec/fault-matrix.lua OBSERVED [DOC]
package.path = "./spec/?.lua;" .. package.path
local matrix = require "helpers.fault_matrix"

local observed, doc_path = arg[1], arg[2] or matrix.DOC
local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local obs = matrix.decode(read(observed))
assert(#obs.rows > 0 and #obs.columns > 0, observed .. ": no matrix in it")
local doc = read(doc_path)
local new = assert(matrix.splice(doc, matrix.render(obs)))
if new == doc then
  print(doc_path .. ": the fault matrix is up to date")
else
  local f = assert(io.open(doc_path, "wb"))
  f:write(new)
  f:close()
  print(doc_path .. ": fault matrix written (" .. #obs.rows .. " faults x " .. #obs.columns .. " call styles)")
end
