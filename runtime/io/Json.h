//===- Json.h - A small strict JSON parser for file headers ---------------===//
//
// Safetensors headers are JSON. This parser accepts only what they need:
// objects, arrays, strings (with every escape, checked UTF-8) and integers
// that fit in int64_t. Floats, true/false/null, trailing commas, comments
// and nesting deeper than 64 levels are rejected, with the byte offset.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_IO_JSON_H
#define KILN_RUNTIME_IO_JSON_H

#include "kiln/runtime/Status.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kiln::rt::json {

/// A parsed JSON value.
struct Value {
  enum class Kind { Object, Array, String, Integer };

  Kind kind = Kind::Integer;
  int64_t integer = 0;
  std::string string;
  std::vector<Value> elements;
  /// Object members in their order in the text; duplicate keys are kept so
  /// that the caller can report them in its own terms.
  std::vector<std::pair<std::string, Value>> members;
  /// Byte offset in the text where the value starts.
  size_t offset = 0;

  /// "object", "array", "string" or "integer".
  const char *kindName() const;
};

/// Parses `text` as exactly one JSON value, surrounded by optional
/// whitespace. Errors read "at byte N: <what was wrong>".
StatusOr<Value> parse(std::string_view text);

/// `text` as a JSON string literal: quoted, with '"', '\\' and control
/// characters escaped. `text` is expected to be UTF-8 and is kept as is.
std::string quote(std::string_view text);

} // namespace kiln::rt::json

#endif // KILN_RUNTIME_IO_JSON_H
