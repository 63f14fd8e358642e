// Debian control files (deb822): paragraphs of "Field: value" lines, continuation lines that
// start with a space or tab, paragraphs separated by blank lines. The format of Packages,
// Release, dpkg's status, a .deb's control file and apt's .sources files.
//
//   OCIFS_ASSIGN_OR_RETURN(auto paragraphs, ParseControl(text, "`Packages` of bookworm/main"));
//   std::optional<std::string_view> v = paragraphs[0].Get("version");  // names ignore case
//
// Values; thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/support/status.h"

namespace ocifs::debian {

class Paragraph {
 public:
  // A field's value: the text after "Name:" on its first line, trimmed, then for each
  // continuation line '\n' and the line as written (its leading space kept), so that
  // "Name: " + value is the field again.
  std::optional<std::string_view> Get(std::string_view name) const;
  // The value's lines, each trimmed, empty ones (and " ." lines) dropped: for SHA256 lists and
  // the like.
  std::vector<std::string_view> Lines(std::string_view name) const;

  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }
  size_t line() const { return line_; }  // 1-based line of the first field

  // The paragraph as control-file text, its fields in their order, ending in '\n'.
  std::string Text() const;

  void Add(std::string name, std::string value) {
    fields_.emplace_back(std::move(name), std::move(value));
  }

 private:
  friend Result<std::vector<Paragraph>> ParseControl(std::string_view text, std::string_view what);
  std::vector<std::pair<std::string, std::string>> fields_;
  size_t line_ = 0;
};

// Every paragraph of `text`. Lines starting with '#' are comments (deb822 files allow them).
// A line that is neither a field, a continuation nor blank is kInvalidArgument naming `what`
// and the line number, as is a field repeated within a paragraph.
Result<std::vector<Paragraph>> ParseControl(std::string_view text, std::string_view what);

}  // namespace ocifs::debian
