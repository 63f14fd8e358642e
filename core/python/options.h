// ImageOptions: every setting a user can give, from `[tool.ocifs]` in pyproject.toml or from the
// command line. The keys of `[tool.ocifs]` are the long flag names (`--tag` is `tag`, ...).
//
// Precedence, lowest first: detection (project.h, plugins) < `[tool.ocifs]` < flags. Merge()
// implements the last two: a scalar (or tags, extra-deps) set in `high` replaces `low`; env,
// labels, per-platform deps and plugin settings merge key by key (high wins); expose, exclude,
// system packages and apt keyrings and volumes are unions; registry mirrors too, high's first; apt
// mirrors set in `high` replace `low`'s. Relative paths from pyproject.toml are relative to the
// project directory, those from flags to the working directory; callers make them absolute before
// merging.
//
// Values; thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/support/status.h"

namespace toml {
inline namespace v3 {
class table;
}
}  // namespace toml

namespace ocifs {

using KeyValues = std::vector<std::pair<std::string, std::string>>;  // ordered; a later key wins

// A Docker-compatible health check (the config's Healthcheck). An empty `test` disables the base's
// ("NONE"). Durations in nanoseconds; 0 leaves the runtime's default.
struct Healthcheck {
  std::vector<std::string> test;  // exec words
  int64_t interval_ns = 0;
  int64_t timeout_ns = 0;
  int64_t start_period_ns = 0;
  int32_t retries = 0;
  bool operator==(const Healthcheck&) const = default;
};

// Settings of plugins, by plugin name, then key: `[tool.ocifs.plugins.NAME]` and
// `--plugin-opt NAME.KEY=VALUE`. Values are text: TOML strings as they are, numbers and booleans
// as TOML writes them, arrays and tables as JSON.
using PluginSettings = std::map<std::string, std::map<std::string, std::string>>;

struct ImageOptions {
  std::optional<std::vector<std::string>> tags;
  std::optional<std::string> base;
  std::optional<std::string> deps;  // for every platform without a directory of its own
  KeyValues platform_deps;          // `--deps PLATFORM=DIR`: "linux/arm64" -> DIR
  // More dependency trees (virtualenvs or site-packages directories), each its own layer above
  // the dependencies layer, in order, under the same prefix: a variant's dev tools. Set in
  // `high`, they replace `low`'s (a variant's list replaces [tool.ocifs]'s).
  std::optional<std::vector<std::string>> extra_deps;
  std::optional<std::string> python;
  std::optional<std::string> platform;        // "linux/amd64" or a comma-separated list
  std::vector<std::string> registry_mirrors;  // `[REGISTRY=]MIRROR`, tried in order
  std::optional<std::string> workdir;
  KeyValues env;
  KeyValues labels;
  std::vector<std::string> expose;
  // Writable places beside /tmp and the user's HOME: the config's Volumes (see image.h).
  std::vector<std::string> volumes;
  std::optional<std::string> user;
  std::optional<std::vector<std::string>> entrypoint;
  std::optional<std::vector<std::string>> cmd;
  std::vector<std::string> exclude;
  // Patterns re-included after every exclusion (the defaults that keep secrets out among them):
  // a file shipped on purpose, e.g. ".env.production".
  std::vector<std::string> include;
  std::optional<bool> strict;
  std::optional<Healthcheck> healthcheck;
  PluginSettings plugins;
  // Debian packages for a layer above the base: "libpq5", "ffmpeg=7:5.1.*" (checked when the
  // system layer is planned, core/system/system_packages.h).
  std::vector<std::string> system_packages;
  // apt archives that replace the base's sources: "URL" or "URL SUITE COMPONENT...".
  std::optional<std::vector<std::string>> apt_mirrors;
  std::vector<std::string> apt_keyrings;  // keyring files trusted beside the base's
};

ImageOptions Merge(const ImageOptions& low, const ImageOptions& high);

// Reads `[tool.ocifs]`. `file` names pyproject.toml in messages; errors carry "file:line:col".
// Unknown keys are errors (a typo must not be silently ignored). Its `variants` table is read by
// VariantsFromToml, not here.
Result<ImageOptions> OptionsFromToml(const toml::table& tool_ocifs, std::string_view file);

// A variant of the image, `[tool.ocifs.variants.NAME]`: the same keys as `[tool.ocifs]`, which
// override it (and flags override them), plus `dependency-group`. Its tags are its own `tag`, else
// each tag of the unnamed image with `-NAME` appended (`latest-dev`).
struct Variant {
  std::string name;  // kVariantNamePattern; never kDefaultVariant
  ImageOptions options;
  // A PEP 735 group of `[dependency-groups]` the variant's dependencies must satisfy; empty:
  // none.
  std::string dependency_group;
};

// What `--variant` calls the unnamed image.
inline constexpr char kDefaultVariant[] = "default";

// The variants `[tool.ocifs]` declares, in file order; errors carry "file:line:col".
Result<std::vector<Variant>> VariantsFromToml(const toml::table& tool_ocifs, std::string_view file);

// A variant's name: lower-case letters and digits, with single `-`, `.` or `_` between them, at
// most 64 characters (it ends tags: `latest-NAME`); not `default`.
Status ValidateVariantName(std::string_view name);

// A user as the config's User takes it: NAME, UID, NAME:GROUP or UID:GID (ids at most
// 4294967294, names of letters, digits, `_`, `.`, `-`); an error quotes it and says why.
Status ValidateUser(std::string_view user);

// The whole UTF-8 character that starts at byte `i` of `text` (one byte when it is not a valid
// sequence's start), so that a message quotes `ä`, not half of it. REQUIRES: i < text.size().
std::string_view Utf8CharAt(std::string_view text, size_t i);

// Helpers shared by the flag parser and the TOML reader.
Result<std::pair<std::string, std::string>> ParseKeyValue(std::string_view text,
                                                          std::string_view what);
// "python3 -m app" (shell-like words, quotes allowed) or a JSON array ["python3", "-m", "app"].
Result<std::vector<std::string>> ParseCommand(std::string_view text, std::string_view what);
// `--healthcheck`/`healthcheck`: a command (as ParseCommand takes it) run with exec, or "NONE" to
// disable the base's health check.
Result<Healthcheck> ParseHealthcheck(std::string_view text, std::string_view what);
// `--deps DIR` or `--deps PLATFORM=DIR` (PLATFORM as `--platform` names one, e.g. linux/arm64)
// into `o`, DIR as given.
Status AddDepsOption(ImageOptions& o, std::string_view text, std::string_view what);
// `--plugin-opt NAME.KEY=VALUE` into `settings`.
Status AddPluginOption(PluginSettings& settings, std::string_view text);
// "8000", "8000/tcp", "53/udp" -> "8000/tcp" form.
Result<std::string> NormalizePort(std::string_view text);
// A volume: an absolute, normalized path other than `/` (no `.`, `..` or empty components, no
// trailing `/`); the error quotes it and says why.
Status ValidateVolume(std::string_view path);
// A tag as image-spec's ref.name grammar and the distribution spec's tag rule both accept.
Status ValidateTag(std::string_view tag);

// Sets a value in KeyValues, replacing an earlier one with the same key in place.
void SetKeyValue(KeyValues& kv, std::string key, std::string value);

}  // namespace ocifs
