// Small text helpers for the line-oriented files ocifs reads (.gitignore, setup.cfg,
// .python-version, entry_points.txt, .env).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ocifs {

// The lines of `text`, without their '\n' and a '\r' before it; a last line without '\n' counts.
// The views borrow `text`.
std::vector<std::string_view> SplitLines(std::string_view text);

// `s` without leading and trailing spaces, tabs, '\r' and '\n'.
std::string_view TrimSpace(std::string_view s);

// The words of `args` split further at any of `separators` (a `sh -c` script's words), empty
// ones dropped.
std::vector<std::string> SplitWords(const std::vector<std::string>& args,
                                    std::string_view separators = " \t\n");

// The value `key` has in a dotenv file (`.env`, `.flaskenv`: `[export ]KEY=VALUE` lines, the
// value optionally quoted, `#` comments), as python-dotenv reads it; the last assignment wins.
// Variable references (${X}) are left as written. nullopt when the file does not set it.
std::optional<std::string> DotenvValue(std::string_view text, std::string_view key);

// Standard base64 (RFC 4648, padded), as Basic authentication, auth files and OpenPGP armor use
// it. Decoding refuses text whose length is not a multiple of 4 or that holds other characters.
std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace ocifs
