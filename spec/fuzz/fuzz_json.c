/* fuzz_json.c - libFuzzer target for core.json_decode (src/ljson.c), run inside an embedded
 * Lua 5.4 and checked against lua-cjson, the decoder it replaced:
 *   make build/fuzz_json && build/fuzz_json -max_total_time=30 spec/fuzz/json
 * For any input:
 *  - decode returns a value, or nil and "unexpected ... at byte N (expected ...)" / "more than
 *    200 nested arrays and objects at byte N", with N inside the text (or one past its end);
 *  - when it returns a value, lua-cjson decodes the same text too, and after the library's old
 *    normalisation (null members removed, whole floats in the 64-bit range made integers) the
 *    two values are equal: same types, same integers and floats, same strings, same keys
 *    (except that a whole number beyond 2^53 stays an exact integer here, where lua-cjson
 *    rounds it through a double first, and that a number whose written value is not a whole
 *    number in the 64-bit range stays a float though its double is whole: -9223372036854775809,
 *    1.0000000000000000001, 1e-400);
 *  - each number's type follows its written digits, as a second reading here works it out
 *    (Lua's own tonumber on the digits with the exponent applied): a float decoded where the
 *    text has no such number that is not a whole 64-bit one fails, and so does an integer;
 *  - when lua-cjson refuses a text, decode refuses it too (lua-cjson is laxer, never stricter:
 *    it reads numbers with strtod, so 0x10, 012 or inf pass there and fail here);
 *  - core.json_encode (src/ljsonenc.c) writes every decoded value back as a text that decodes to
 *    the same value (a whole float may come back as that integer), unless the value holds an array with more holes (nulls) than values or an
 *    infinity (1e400), which it refuses with its message for those;
 *  - ae_json_push_inplace (the engine's t:decoded(): strings unescaped in place, in the answer's
 *    buffer) gives the same value, or the same message, as core.json_decode. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ae_json_decode(lua_State *L);
int ae_json_encode(lua_State *L);
int ae_json_push_inplace(lua_State *L, char *s, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *CHECK =
    "local cjson = require('cjson').new()\n"
    "cjson.decode_max_depth(200)\n"
    "local null = cjson.null\n"
    "local function normalize(v)\n"
    "  if type(v) == 'number' and v % 1 == 0 and v >= -0x1p63 and v < 0x1p63 then return v | 0 end\n"
    "  if v == null then return nil end\n"
    "  if type(v) ~= 'table' then return v end\n"
    "  for k, x in next, v do\n"
    "    v[k] = normalize(x)\n"
    "  end\n"
    "  return v\n"
    "end\n"
    "-- the type each written number should read as, by its digits: integer when its exact value\n"
    "-- is whole and in the 64-bit range (Lua's tonumber reads such digits as an integer)\n"
    "local function kind(tok)\n"
    "  local sign, int, frac, exp = tok:match('^(%-?)(%d+)%.?(%d*)[eE]?([-+]?%d*)$')\n"
    "  local digits = (int .. frac):gsub('^0+', '')\n"
    "  if digits == '' then return 'integer' end\n"
    "  local e = exp == '' and 0 or (#exp:gsub('^[-+]?0*', '') > 9 and (exp:find('-') and -1e9 or 1e9))\n"
    "    or math.tointeger(tonumber(exp))\n"
    "  local scale = e - #frac\n"
    "  local stripped = digits:gsub('0+$', '')\n"
    "  scale = scale + #digits - #stripped\n"
    "  if scale < 0 or #stripped + scale > 25 then return 'float' end\n"
    "  return math.type(tonumber(sign .. stripped .. string.rep('0', scale)))\n"
    "end\n"
    "-- the kinds of the text's numbers, by their values as doubles (strings skipped)\n"
    "local function kinds(s)\n"
    "  local by, i = {}, 1\n"
    "  while i <= #s do\n"
    "    local c = s:sub(i, i)\n"
    "    if c == '\"' then\n"
    "      i = i + 1\n"
    "      while s:sub(i, i) ~= '\"' do i = i + (s:sub(i, i) == '\\\\' and 2 or 1) end\n"
    "      i = i + 1\n"
    "    elseif c:find('[-%d]') then\n"
    "      local tok = s:match('^-?%d+%.?%d*[eE]?[-+]?%d*', i)\n"
    "      local v = tonumber(tok) + 0.0\n"
    "      by[v] = by[v] or {}\n"
    "      by[v][kind(tok)] = true\n"
    "      i = i + #tok\n"
    "    else\n"
    "      i = i + 1\n"
    "    end\n"
    "  end\n"
    "  return by\n"
    "end\n"
    "local written\n"
    "local function same(a, b, path)\n"
    "  if type(a) ~= type(b) then error(path .. ': ' .. type(a) .. ' vs cjson ' .. type(b)) end\n"
    "  if type(a) == 'number' then\n"
    "    local k = written and (written[a + 0.0] or error(path .. ': ' .. a .. ' is not in the text'))\n"
    "    if k and not k[math.type(a)] then\n"
    "      error(string.format('%s: %s %s, but the text has it only as %s', path, math.type(a), a, next(k)))\n"
    "    end\n"
    "    -- integers past 2^53 stay exact here; lua-cjson rounds them through a double\n"
    "    local exact = math.type(a) == 'integer' and (a > 2^53 or a < -2^53) and a + 0.0 == b + 0.0\n"
    "    -- a number not whole in 64 bits, though its double is, stays a float here (and the\n"
    "    -- encoder writes that float as digits that read back as an integer: 1.0 as 1)\n"
    "    exact = exact or (math.type(a) ~= math.type(b) and a == b)\n"
    "    if not exact and (math.type(a) ~= math.type(b) or a ~= b) then\n"
    "      error(string.format('%s: %s %s vs cjson %s %s', path, math.type(a), a, math.type(b), b))\n"
    "    end\n"
    "  elseif type(a) == 'table' then\n"
    "    for k, x in pairs(a) do same(x, b[k], path .. '.' .. tostring(k)) end\n"
    "    for k in pairs(b) do if a[k] == nil then error(path .. '.' .. tostring(k) .. ': missing') end end\n"
    "  elseif a ~= b then error(path .. ': ' .. tostring(a) .. ' vs cjson ' .. tostring(b)) end\n"
    "end\n"
    "return function(s)\n"
    "  local v, msg = decode(s)\n"
    "  -- the engine's way (strings unescaped in place, in a copy): the same value or message\n"
    "  local v2, msg2 = decode_inplace(s)\n"
    "  if msg2 ~= msg then error('in place: ' .. tostring(msg2) .. ' vs ' .. tostring(msg)) end\n"
    "  if not msg then same(v2, v, '$') end\n"
    "  local ok, c = pcall(cjson.decode, s)\n"
    "  if msg then\n"
    "    local at = tonumber(msg:match('^unexpected .- at byte (%d+) %(expected .+%)$')\n"
    "      or msg:match('^more than 200 nested arrays and objects at byte (%d+)$'))\n"
    "    if not at or at < 1 or at > #s + 1 then error('bad message: ' .. msg) end\n"
    "    if v ~= nil then error('a value with a message') end\n"
    "    return\n"
    "  end\n"
    "  if not ok then error('decoded what lua-cjson refuses (' .. tostring(c) .. ')') end\n"
    "  written = kinds(s)\n"
    "  same(v, normalize(c), '$')\n"
    "  written = nil -- the text written back below may say 1.0 where the input said 1\n"
    "  local text, emsg = encode(v)\n"
    "  if not text then\n"
    "    if not (emsg:find('^cannot encode a sparse array') or emsg:find('^cannot encode NaN or infinity')) then\n"
    "      error('encode: ' .. emsg)\n"
    "    end\n"
    "    return\n"
    "  end\n"
    "  local back, dmsg = decode(text)\n"
    "  if dmsg then error('encoded text does not decode: ' .. dmsg) end\n"
    "  same(back, v, '$')\n"
    "end\n";

static lua_State *L;

/* decode_inplace(s): ae_json_push_inplace on a copy of s sized exactly (ASan sees overreads). */
static int decode_inplace(lua_State *T) {
  size_t len;
  const char *s = luaL_checklstring(T, 1, &len);
  char *copy = lua_newuserdatauv(T, len, 0); /* stays below the results */
  memcpy(copy, s, len);
  return ae_json_push_inplace(T, copy, len);
}

static void init(void) {
  L = luaL_newstate();
  luaL_openlibs(L);
  lua_pushcfunction(L, ae_json_decode);
  lua_setglobal(L, "decode");
  lua_pushcfunction(L, ae_json_encode);
  lua_setglobal(L, "encode");
  lua_pushcfunction(L, decode_inplace);
  lua_setglobal(L, "decode_inplace");
  if (luaL_dostring(L, CHECK)) {
    fprintf(stderr, "fuzz_json: %s\n", lua_tostring(L, -1));
    abort();
  }
  lua_setglobal(L, "check");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!L) init();
  lua_getglobal(L, "check");
  lua_pushlstring(L, (const char *)data, size);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_json: %s\n", lua_tostring(L, -1));
    abort();
  }
  lua_settop(L, 0);
  return 0;
}
