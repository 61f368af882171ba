#include "tests/safetensors_mini.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

namespace gatest {
namespace {

struct Parser {
  const std::string& s;
  size_t i = 0;
  std::string err;

  void ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
  }
  bool fail(const char* what) {
    if (err.empty()) err = std::string(what) + " at offset " + std::to_string(i);
    return false;
  }
  bool lit(const char* w) {
    const size_t n = std::strlen(w);
    if (s.compare(i, n, w) != 0) return fail("bad literal");
    i += n;
    return true;
  }
  static void utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  bool string(std::string& out) {
    if (i >= s.size() || s[i] != '"') return fail("expected string");
    ++i;
    while (i < s.size() && s[i] != '"') {
      char c = s[i++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i >= s.size()) return fail("bad escape");
      c = s[i++];
      switch (c) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          if (i + 4 > s.size()) return fail("bad \\u");
          utf8(out, static_cast<unsigned>(std::strtoul(s.substr(i, 4).c_str(), nullptr, 16)));
          i += 4;
          break;
        }
        default: out += c;  // \" \\ \/
      }
    }
    if (i >= s.size()) return fail("unterminated string");
    ++i;
    return true;
  }
  bool value(Json& v) {
    ws();
    if (i >= s.size()) return fail("unexpected end");
    const char c = s[i];
    if (c == '{') {
      v.kind = Json::Object;
      ++i;
      ws();
      if (i < s.size() && s[i] == '}') return ++i, true;
      for (;;) {
        ws();
        std::string key;
        if (!string(key)) return false;
        ws();
        if (i >= s.size() || s[i] != ':') return fail("expected ':'");
        ++i;
        if (!value(v.obj[key])) return false;
        ws();
        if (i < s.size() && s[i] == ',') {
          ++i;
          continue;
        }
        if (i < s.size() && s[i] == '}') return ++i, true;
        return fail("expected ',' or '}'");
      }
    }
    if (c == '[') {
      v.kind = Json::Array;
      ++i;
      ws();
      if (i < s.size() && s[i] == ']') return ++i, true;
      for (;;) {
        v.arr.emplace_back();
        if (!value(v.arr.back())) return false;
        ws();
        if (i < s.size() && s[i] == ',') {
          ++i;
          continue;
        }
        if (i < s.size() && s[i] == ']') return ++i, true;
        return fail("expected ',' or ']'");
      }
    }
    if (c == '"') {
      v.kind = Json::String;
      return string(v.str);
    }
    if (c == 't') {
      v.kind = Json::Bool;
      v.b = true;
      return lit("true");
    }
    if (c == 'f') {
      v.kind = Json::Bool;
      v.b = false;
      return lit("false");
    }
    if (c == 'n') {
      v.kind = Json::Null;
      return lit("null");
    }
    char* end = nullptr;
    v.kind = Json::Number;
    v.num = std::strtod(s.c_str() + i, &end);
    if (end == s.c_str() + i) return fail("bad number");
    i = static_cast<size_t>(end - s.c_str());
    return true;
  }
};

template <class T>
T read_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // fixtures are little-endian, as are x86-64 and arm64
  return v;
}

}  // namespace

const Json* Json::get(const std::string& key) const {
  if (kind != Object) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &it->second;
}

double Json::number(const std::string& key, double fallback) const {
  const Json* v = get(key);
  return v && v->kind == Number ? v->num : fallback;
}

bool Json::parse(const std::string& text, Json& out, std::string* err) {
  Parser p{text, 0, std::string()};
  out = Json();
  const bool ok = p.value(out);
  if (!ok && err) *err = p.err;
  return ok;
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<float> Tensor::f32() const {
  std::vector<float> out(static_cast<size_t>(numel()));
  for (size_t k = 0; k < out.size(); ++k)
    out[k] = dtype == "F64" ? static_cast<float>(read_le<double>(bytes.data() + 8 * k))
                            : read_le<float>(bytes.data() + 4 * k);
  return out;
}

std::vector<double> Tensor::f64() const {
  std::vector<double> out(static_cast<size_t>(numel()));
  for (size_t k = 0; k < out.size(); ++k)
    out[k] = dtype == "F64" ? read_le<double>(bytes.data() + 8 * k) : read_le<float>(bytes.data() + 4 * k);
  return out;
}

std::vector<int32_t> Tensor::i32() const {
  std::vector<int32_t> out(static_cast<size_t>(numel()));
  for (size_t k = 0; k < out.size(); ++k) out[k] = read_le<int32_t>(bytes.data() + 4 * k);
  return out;
}

bool SafeTensors::load(const std::string& path, std::string* err) {
  auto bad = [&](const std::string& why) {
    if (err) *err = path + ": " + why;
    return false;
  };
  std::ifstream f(path, std::ios::binary);
  if (!f) return bad("cannot open");
  std::vector<uint8_t> all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (all.size() < 8) return bad("short file");
  const uint64_t hlen = read_le<uint64_t>(all.data());
  if (8 + hlen > all.size()) return bad("bad header length");
  const std::string header(reinterpret_cast<const char*>(all.data() + 8), static_cast<size_t>(hlen));
  Json h;
  std::string jerr;
  if (!Json::parse(header, h, &jerr) || h.kind != Json::Object) return bad("bad header JSON: " + jerr);
  const uint8_t* data = all.data() + 8 + hlen;
  const uint64_t dlen = all.size() - 8 - hlen;
  for (const auto& kv : h.obj) {
    if (kv.first == "__metadata__") {
      for (const auto& m : kv.second.obj)
        if (m.second.kind == Json::String) metadata[m.first] = m.second.str;
      continue;
    }
    const Json* dt = kv.second.get("dtype");
    const Json* sh = kv.second.get("shape");
    const Json* off = kv.second.get("data_offsets");
    if (!dt || !sh || !off || off->arr.size() != 2) return bad("tensor " + kv.first + " lacks fields");
    Tensor t;
    t.dtype = dt->str;
    for (const Json& d : sh->arr) t.shape.push_back(static_cast<int64_t>(d.num));
    const uint64_t b0 = static_cast<uint64_t>(off->arr[0].num), b1 = static_cast<uint64_t>(off->arr[1].num);
    const uint64_t esize = t.dtype == "F64" ? 8 : 4;
    if (b1 < b0 || b1 > dlen || (b1 - b0) != static_cast<uint64_t>(t.numel()) * esize)
      return bad("tensor " + kv.first + " has bad offsets");
    t.bytes.assign(data + b0, data + b1);
    tensors[kv.first] = std::move(t);
  }
  auto it = metadata.find("config");
  if (it != metadata.end() && !Json::parse(it->second, config, &jerr)) return bad("bad config JSON: " + jerr);
  return true;
}

const Tensor* SafeTensors::find(const std::string& name) const {
  auto it = tensors.find(name);
  return it == tensors.end() ? nullptr : &it->second;
}

}  // namespace gatest
