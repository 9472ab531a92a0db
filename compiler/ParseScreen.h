//===- ParseScreen.h - Text MLIR 19's parser misreads, caught before it ---===//
//
// MLIR 19's parser accepts a few spellings that it then stores wrongly, so
// that printing the attribute (in the output, or in any diagnostic that
// shows the operation) reads memory it does not own:
//
//   array<i1: 0, 1>     integer literals in an i1 dense array: no bytes are
//                       stored for them (true and false are stored right);
//   array<index: 2>     an index dense array: its width is taken as if index
//                       were an integer type.
//
// The tools screen their input text for these before parsing and reject it
// with an error located like the parser's own. The screen is lexical: it
// skips comments and string literals, looks for the `array` keyword
// standing alone, and follows type aliases (`!b = i1`, defined before
// use as MLIR requires).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_PARSESCREEN_H
#define KILN_COMPILER_PARSESCREEN_H

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cctype>
#include <cstddef>
#include <optional>
#include <string>

namespace kiln {

/// A spelling the parser would misread: where it starts and what is wrong.
struct ParseHazard {
  size_t offset = 0;
  std::string message;
};

namespace detail {

inline bool isIdentifierChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ||
         c == '.' || c == '-';
}

/// Skips whitespace and `//` comments from `i`.
inline size_t skipBlank(llvm::StringRef text, size_t i) {
  while (i < text.size()) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
    } else if (text.substr(i).starts_with("//")) {
      i = text.find('\n', i);
      if (i == llvm::StringRef::npos)
        return text.size();
    } else {
      break;
    }
  }
  return i;
}

/// The token at `i`: up to blank, a comma, '>' or a comment.
inline llvm::StringRef tokenAt(llvm::StringRef text, size_t i) {
  size_t end = i;
  while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end])) &&
         text[end] != ',' && text[end] != '>' && text[end] != '<' &&
         text[end] != ':' && text[end] != '=' &&
         !text.substr(end).starts_with("//"))
    ++end;
  return text.slice(i, end);
}

/// i1, si1, ui1, with any leading zeros in the width.
inline bool isOneBitInteger(llvm::StringRef type) {
  type.consume_front("s") || type.consume_front("u");
  if (!type.consume_front("i"))
    return false;
  type = type.ltrim('0');
  return type == "1";
}

/// The type aliases (`!name = type`) seen so far that name index or a
/// one-bit integer, directly or through another such alias: by name, the
/// type they stand for.
using HazardAliases = llvm::StringMap<std::string>;

/// The type `type` stands for: itself, or what the alias it names does.
inline llvm::StringRef resolveType(llvm::StringRef type,
                                   const HazardAliases &aliases) {
  auto found = aliases.find(type);
  return found == aliases.end() ? type : llvm::StringRef(found->second);
}

/// The hazard, if any, in the dense array whose element type starts at `i`.
inline std::optional<ParseHazard>
screenDenseArray(llvm::StringRef text, size_t i, const HazardAliases &aliases) {
  llvm::StringRef token = tokenAt(text, i);
  llvm::StringRef type = resolveType(token, aliases);
  if (type == "index")
    return ParseHazard{i, "a dense array of index (array<index: ...>) is not "
                          "supported: MLIR 19 misreads it; use i64"};
  if (!isOneBitInteger(type))
    return std::nullopt;
  i = skipBlank(text, i + token.size());
  if (i >= text.size() || text[i] != ':')
    return std::nullopt;
  for (i = skipBlank(text, i + 1); i < text.size();) {
    llvm::StringRef element = tokenAt(text, i);
    if (element.empty())
      return std::nullopt; // Malformed: the parser reports it.
    if (element != "true" && element != "false")
      return ParseHazard{i, "a dense array of " + type.str() +
                                " takes true or false, not '" + element.str() +
                                "' (MLIR 19 misreads integer literals here)"};
    i = skipBlank(text, i + element.size());
    if (i >= text.size() || text[i] != ',')
      return std::nullopt;
    i = skipBlank(text, i + 1);
  }
  return std::nullopt;
}

} // namespace detail

/// The first spelling in `text` that MLIR 19's parser would misread, if any.
inline std::optional<ParseHazard> findParseHazard(llvm::StringRef text) {
  detail::HazardAliases aliases;
  for (size_t i = 0; i < text.size();) {
    char c = text[i];
    if (c == '"') { // A string literal, with backslash escapes, ending at
                    // the line's end as MLIR's lexer ends it.
      for (++i; i < text.size() && text[i] != '"' && text[i] != '\n'; ++i)
        if (text[i] == '\\')
          ++i;
      ++i;
      continue;
    }
    if (c == '!' && (i == 0 || !detail::isIdentifierChar(text[i - 1]))) {
      // A type alias's definition, `!name = type`: remember the ones that
      // stand for index or a one-bit integer.
      llvm::StringRef name = detail::tokenAt(text, i);
      size_t equals = detail::skipBlank(text, i + name.size());
      if (name.size() > 1 && equals < text.size() && text[equals] == '=') {
        size_t typeAt = detail::skipBlank(text, equals + 1);
        llvm::StringRef type =
            detail::resolveType(detail::tokenAt(text, typeAt), aliases);
        if (type == "index" || detail::isOneBitInteger(type))
          aliases[name] = type.str();
        else
          aliases.erase(name);
      }
      i += name.size() ? name.size() : 1;
      continue;
    }
    if (text.substr(i).starts_with("//")) {
      i = detail::skipBlank(text, i);
      continue;
    }
    bool standsAlone = i == 0 || !(detail::isIdentifierChar(text[i - 1]) ||
                                   llvm::StringRef("@%#!^").contains(text[i - 1]));
    if (standsAlone && text.substr(i).starts_with("array")) {
      size_t open = detail::skipBlank(text, i + 5);
      if (open < text.size() && text[open] == '<' &&
          (i + 5 == text.size() || !detail::isIdentifierChar(text[i + 5])))
        if (std::optional<ParseHazard> hazard = detail::screenDenseArray(
                text, detail::skipBlank(text, open + 1), aliases))
          return hazard;
    }
    ++i;
  }
  return std::nullopt;
}

/// Screens the buffer `mgr` holds first: prints a hazard as the parser
/// prints its errors (file:line:column, the line, a caret) to `os` and
/// returns true, or returns false when the text is clear.
inline bool reportParseHazard(const llvm::SourceMgr &mgr, llvm::raw_ostream &os) {
  const llvm::MemoryBuffer *buffer = mgr.getMemoryBuffer(mgr.getMainFileID());
  std::optional<ParseHazard> hazard = findParseHazard(buffer->getBuffer());
  if (!hazard)
    return false;
  mgr.PrintMessage(os,
                   llvm::SMLoc::getFromPointer(buffer->getBufferStart() +
                                               hazard->offset),
                   llvm::SourceMgr::DK_Error, hazard->message);
  return true;
}

} // namespace kiln

#endif // KILN_COMPILER_PARSESCREEN_H
