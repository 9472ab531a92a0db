//===- Json.cpp - A small strict JSON parser for file headers -------------===//

#include "Json.h"

#include <cstdio>
#include <limits>

namespace kiln::rt::json {

namespace {

constexpr int maxDepth = 64;

class Parser {
public:
  explicit Parser(std::string_view text) : text(text) {}

  StatusOr<Value> parseDocument() {
    Value value;
    skipWhitespace();
    if (!parseValue(value, 0))
      return failure;
    skipWhitespace();
    if (pos != text.size()) {
      fail("unexpected data after the JSON value");
      return failure;
    }
    return value;
  }

private:
  bool fail(const std::string &what) {
    failure = Status::error("at byte " + std::to_string(pos) + ": " + what);
    return false;
  }

  bool atEnd() const { return pos >= text.size(); }
  char peek() const { return text[pos]; }

  void skipWhitespace() {
    while (!atEnd() && (peek() == ' ' || peek() == '\t' || peek() == '\n' ||
                        peek() == '\r'))
      ++pos;
  }

  bool expect(char c) {
    if (atEnd())
      return fail(std::string("expected '") + c + "' but the text ended");
    if (peek() != c)
      return fail(std::string("expected '") + c + "'");
    ++pos;
    return true;
  }

  bool parseValue(Value &value, int depth) {
    if (depth > maxDepth)
      return fail("nesting deeper than " + std::to_string(maxDepth) +
                  " levels");
    if (atEnd())
      return fail("expected a value but the text ended");
    value.offset = pos;
    char c = peek();
    if (c == '{')
      return parseObject(value, depth);
    if (c == '[')
      return parseArray(value, depth);
    if (c == '"') {
      value.kind = Value::Kind::String;
      return parseString(value.string);
    }
    if (c == '-' || (c >= '0' && c <= '9'))
      return parseInteger(value);
    return fail("expected an object, array, string or integer");
  }

  bool parseObject(Value &value, int depth) {
    value.kind = Value::Kind::Object;
    ++pos; // '{'
    skipWhitespace();
    if (!atEnd() && peek() == '}') {
      ++pos;
      return true;
    }
    while (true) {
      skipWhitespace();
      if (atEnd() || peek() != '"')
        return fail("expected a string key");
      std::string key;
      if (!parseString(key))
        return false;
      skipWhitespace();
      if (!expect(':'))
        return false;
      skipWhitespace();
      Value member;
      if (!parseValue(member, depth + 1))
        return false;
      value.members.emplace_back(std::move(key), std::move(member));
      skipWhitespace();
      if (!atEnd() && peek() == ',') {
        ++pos;
        continue;
      }
      return expect('}');
    }
  }

  bool parseArray(Value &value, int depth) {
    value.kind = Value::Kind::Array;
    ++pos; // '['
    skipWhitespace();
    if (!atEnd() && peek() == ']') {
      ++pos;
      return true;
    }
    while (true) {
      skipWhitespace();
      Value element;
      if (!parseValue(element, depth + 1))
        return false;
      value.elements.push_back(std::move(element));
      skipWhitespace();
      if (!atEnd() && peek() == ',') {
        ++pos;
        continue;
      }
      return expect(']');
    }
  }

  bool parseInteger(Value &value) {
    value.kind = Value::Kind::Integer;
    bool negative = peek() == '-';
    if (negative)
      ++pos;
    if (atEnd() || peek() < '0' || peek() > '9')
      return fail("expected a digit");
    if (peek() == '0' && pos + 1 < text.size() && text[pos + 1] >= '0' &&
        text[pos + 1] <= '9')
      return fail("leading zeros are not allowed");
    uint64_t limit = negative ? uint64_t(1) << 63
                              : uint64_t(std::numeric_limits<int64_t>::max());
    uint64_t magnitude = 0;
    while (!atEnd() && peek() >= '0' && peek() <= '9') {
      uint64_t digit = static_cast<uint64_t>(peek() - '0');
      if (magnitude > (limit - digit) / 10)
        return fail("integer out of the range of int64");
      magnitude = magnitude * 10 + digit;
      ++pos;
    }
    if (!atEnd() && (peek() == '.' || peek() == 'e' || peek() == 'E'))
      return fail("only integers are supported, not floating-point numbers");
    value.integer = negative ? static_cast<int64_t>(0 - magnitude)
                             : static_cast<int64_t>(magnitude);
    return true;
  }

  bool parseHex4(uint32_t &code) {
    if (text.size() - pos < 4)
      return fail("truncated \\u escape");
    code = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text[pos];
      code <<= 4;
      if (c >= '0' && c <= '9')
        code |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        code |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        code |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return fail("invalid hex digit in \\u escape");
      ++pos;
    }
    return true;
  }

  static void appendUtf8(std::string &out, uint32_t code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xc0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xe0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (code & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (code & 0x3f));
    }
  }

  /// Parses the escape after a backslash (at `pos`), appending its text.
  bool parseEscape(std::string &out) {
    if (atEnd())
      return fail("unterminated string");
    char c = peek();
    const char *simple = "\"\\/bfnrt";
    const char *meaning = "\"\\/\b\f\n\r\t";
    for (int i = 0; simple[i] != '\0'; ++i) {
      if (c == simple[i]) {
        out += meaning[i];
        ++pos;
        return true;
      }
    }
    if (c != 'u')
      return fail(std::string("invalid escape '\\") + c + "'");
    ++pos;
    uint32_t code = 0;
    if (!parseHex4(code))
      return false;
    if (code >= 0xdc00 && code <= 0xdfff)
      return fail("unpaired low surrogate in \\u escape");
    if (code >= 0xd800 && code <= 0xdbff) {
      uint32_t low = 0;
      if (text.substr(pos, 2) != "\\u")
        return fail("high surrogate not followed by a \\u escape");
      pos += 2;
      if (!parseHex4(low))
        return false;
      if (low < 0xdc00 || low > 0xdfff)
        return fail("high surrogate not followed by a low surrogate");
      code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
    }
    appendUtf8(out, code);
    return true;
  }

  /// Copies one UTF-8 encoded character, rejecting overlong forms,
  /// surrogates and code points past U+10FFFF.
  bool copyUtf8(std::string &out) {
    auto lead = static_cast<unsigned char>(text[pos]);
    int length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 0;
    if (length == 0 || lead > 0xf4 || text.size() - pos < size_t(length))
      return fail("invalid UTF-8 in string");
    uint32_t code = lead & (0x7f >> length);
    for (int i = 1; i < length; ++i) {
      auto next = static_cast<unsigned char>(text[pos + i]);
      if ((next & 0xc0) != 0x80)
        return fail("invalid UTF-8 in string");
      code = (code << 6) | (next & 0x3f);
    }
    uint32_t minimum = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
    if (code < minimum || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
      return fail("invalid UTF-8 in string");
    out.append(text.substr(pos, length));
    pos += length;
    return true;
  }

  bool parseString(std::string &out) {
    ++pos; // '"'
    while (true) {
      if (atEnd())
        return fail("unterminated string");
      auto c = static_cast<unsigned char>(peek());
      if (c == '"') {
        ++pos;
        return true;
      }
      if (c == '\\') {
        ++pos;
        if (!parseEscape(out))
          return false;
      } else if (c < 0x20) {
        return fail("unescaped control character in string");
      } else if (c >= 0x80) {
        if (!copyUtf8(out))
          return false;
      } else {
        out += static_cast<char>(c);
        ++pos;
      }
    }
  }

  std::string_view text;
  size_t pos = 0;
  Status failure;
};

} // namespace

const char *Value::kindName() const {
  switch (kind) {
  case Kind::Object:
    return "object";
  case Kind::Array:
    return "array";
  case Kind::String:
    return "string";
  case Kind::Integer:
    return "integer";
  }
  return "value";
}

StatusOr<Value> parse(std::string_view text) {
  return Parser(text).parseDocument();
}

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        char escape[8];
        std::snprintf(escape, sizeof(escape), "\\u%04x",
                      static_cast<unsigned>(static_cast<unsigned char>(c)));
        out += escape;
      } else {
        out += c;
      }
    }
  }
  return out + "\"";
}

} // namespace kiln::rt::json
