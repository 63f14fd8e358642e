#include "core/python/options.h"

#include <algorithm>
#include <cctype>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include "core/oci/reference.h"

namespace ocifs {
namespace {

std::string Where(std::string_view file, const toml::node& n) {
  const auto& b = n.source().begin;
  return fmt::format("{}:{}:{}", file, b.line, b.column);
}

Status TypeError(std::string_view file, const toml::node& n, std::string_view key,
                 std::string_view want) {
  return InvalidArgument(fmt::format("{}: [tool.ocifs] `{}`: want {}", Where(file, n), key, want));
}

Result<std::string> AsString(std::string_view file, const toml::node& n, std::string_view key) {
  if (auto s = n.value<std::string>(); s && n.is_string()) return *s;
  return TypeError(file, n, key, "a string");
}

Result<std::vector<std::string>> AsStringList(std::string_view file, const toml::node& n,
                                              std::string_view key, bool allow_single) {
  std::vector<std::string> out;
  if (n.is_string() && allow_single) {
    out.push_back(*n.value<std::string>());
    return out;
  }
  if (const toml::array* a = n.as_array()) {
    for (const toml::node& item : *a) {
      if (!item.is_string()) return TypeError(file, item, key, "an array of strings");
      out.push_back(*item.value<std::string>());
    }
    return out;
  }
  return TypeError(file, n, key,
                   allow_single ? "a string or an array of strings" : "an array of strings");
}

Result<KeyValues> AsKeyValues(std::string_view file, const toml::node& n, std::string_view key) {
  KeyValues out;
  if (const toml::table* t = n.as_table()) {
    // toml++ keeps tables sorted by key; that order is deterministic, which is what matters here.
    for (const auto& [k, v] : *t) {
      if (!v.is_string()) return TypeError(file, v, fmt::format("{}.{}", key, k.str()), "a string");
      SetKeyValue(out, std::string(k.str()), *v.value<std::string>());
    }
    return out;
  }
  if (n.is_array()) {
    OCIFS_ASSIGN_OR_RETURN(auto items, AsStringList(file, n, key, false));
    for (const auto& item : items) {
      auto kv = ParseKeyValue(item, fmt::format("{}: [tool.ocifs] `{}`", Where(file, n), key));
      if (!kv.ok()) return kv.status();
      SetKeyValue(out, kv->first, kv->second);
    }
    return out;
  }
  return TypeError(file, n, key, "a table of strings or an array of \"KEY=VALUE\" strings");
}

Result<std::vector<std::string>> AsCommand(std::string_view file, const toml::node& n,
                                           std::string_view key) {
  if (n.is_string())
    return ParseCommand(*n.value<std::string>(),
                        fmt::format("{}: [tool.ocifs] `{}`", Where(file, n), key));
  return AsStringList(file, n, key, false);
}

// `[tool.ocifs.plugins.NAME]` tables: every value as text (see PluginSettings).
Result<PluginSettings> AsPluginSettings(std::string_view file, const toml::node& n) {
  const toml::table* plugins = n.as_table();
  if (!plugins) return TypeError(file, n, "plugins", "a table of [tool.ocifs.plugins.NAME] tables");
  PluginSettings out;
  for (const auto& [name, settings] : *plugins) {
    const toml::table* t = settings.as_table();
    const std::string where = fmt::format("plugins.{}", name.str());
    if (!t) return TypeError(file, settings, where, "a table of settings");
    auto& kv = out[std::string(name.str())];
    for (const auto& [key, value] : *t) {
      std::string text;
      if (auto str = value.value_exact<std::string>()) {
        text = *str;
      } else if (value.is_array() || value.is_table()) {
        std::ostringstream json;
        if (value.is_array()) {
          json << toml::json_formatter{*value.as_array()};
        } else {
          json << toml::json_formatter{*value.as_table()};
        }
        text = nlohmann::json::parse(json.str()).dump();
      } else {
        std::ostringstream os;
        value.visit([&](const auto& v) { os << v; });
        text = os.str();
      }
      kv[std::string(key.str())] = std::move(text);
    }
  }
  return out;
}

bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

}  // namespace

void SetKeyValue(KeyValues& kv, std::string key, std::string value) {
  auto it = std::find_if(kv.begin(), kv.end(), [&](const auto& p) { return p.first == key; });
  if (it != kv.end()) {
    it->second = std::move(value);
  } else {
    kv.emplace_back(std::move(key), std::move(value));
  }
}

ImageOptions Merge(const ImageOptions& low, const ImageOptions& high) {
  ImageOptions out = low;
  auto take = [](auto& dst, const auto& src) {
    if (src) dst = src;
  };
  take(out.tags, high.tags);
  take(out.base, high.base);
  take(out.deps, high.deps);
  take(out.extra_deps, high.extra_deps);
  take(out.python, high.python);
  take(out.platform, high.platform);
  take(out.workdir, high.workdir);
  take(out.user, high.user);
  take(out.entrypoint, high.entrypoint);
  take(out.cmd, high.cmd);
  take(out.strict, high.strict);
  take(out.healthcheck, high.healthcheck);
  for (const auto& [name, kv] : high.plugins) {
    for (const auto& [k, v] : kv) out.plugins[name][k] = v;
  }
  for (const auto& [k, v] : high.env) SetKeyValue(out.env, k, v);
  for (const auto& [k, v] : high.labels) SetKeyValue(out.labels, k, v);
  for (const auto& p : high.expose) {
    if (std::find(out.expose.begin(), out.expose.end(), p) == out.expose.end())
      out.expose.push_back(p);
  }
  for (const auto& p : high.exclude) out.exclude.push_back(p);
  for (const auto& p : high.include) out.include.push_back(p);
  for (const auto& [k, v] : high.platform_deps) SetKeyValue(out.platform_deps, k, v);
  take(out.apt_mirrors, high.apt_mirrors);
  for (auto [to, from] :
       {std::pair{&out.system_packages, &high.system_packages},
        std::pair{&out.apt_keyrings, &high.apt_keyrings}, std::pair{&out.volumes, &high.volumes}}) {
    for (const auto& item : *from) {
      if (std::find(to->begin(), to->end(), item) == to->end()) to->push_back(item);
    }
  }
  out.registry_mirrors = high.registry_mirrors;
  for (const auto& m : low.registry_mirrors) {
    if (std::find(out.registry_mirrors.begin(), out.registry_mirrors.end(), m) ==
        out.registry_mirrors.end())
      out.registry_mirrors.push_back(m);
  }
  return out;
}

namespace {

Result<ImageOptions> ReadOptions(const toml::table& t, std::string_view file, bool top_level) {
  ImageOptions o;
  for (const auto& [key_node, n] : t) {
    const std::string key(key_node.str());
    if (key == (top_level ? "variants" : "dependency-group")) {
      continue;  // VariantsFromToml
    } else if (key == "tag") {
      OCIFS_ASSIGN_OR_RETURN(auto tags, AsStringList(file, n, key, true));
      for (const auto& tag : tags) {
        Status s = ValidateTag(tag);
        if (!s.ok()) return s.WithContext(fmt::format("{}: [tool.ocifs] `tag`", Where(file, n)));
      }
      o.tags = std::move(tags);
    } else if (key == "base") {
      OCIFS_ASSIGN_OR_RETURN(o.base, AsString(file, n, key));
    } else if (key == "deps") {
      // A directory, or the flag's forms: ["DIR", "linux/arm64=DIR", ...].
      if (n.is_string()) {
        o.deps = *n.value<std::string>();
      } else if (const toml::array* a = n.as_array()) {
        for (const toml::node& item : *a) {
          if (!item.is_string())
            return TypeError(file, item, key, "a string or an array of strings");
          OCIFS_RETURN_IF_ERROR(
              AddDepsOption(o, *item.value<std::string>(),
                            fmt::format("{}: [tool.ocifs] `deps`", Where(file, item))));
        }
      } else {
        return TypeError(file, n, key, "a string or an array of strings");
      }
    } else if (key == "extra-deps") {
      OCIFS_ASSIGN_OR_RETURN(o.extra_deps, AsStringList(file, n, key, true));
      for (const auto& dir : *o.extra_deps) {
        if (dir.empty())
          return InvalidArgument(
              fmt::format("{}: [tool.ocifs] `extra-deps`: an empty path", Where(file, n)));
      }
    } else if (key == "registry-mirror") {
      if (const toml::array* a = n.as_array(); a != nullptr || n.is_string()) {
        std::vector<const toml::node*> items;
        if (a != nullptr) {
          for (const toml::node& item : *a) items.push_back(&item);
        } else {
          items.push_back(&n);
        }
        for (const toml::node* item : items) {
          if (!item->is_string()) return TypeError(file, *item, key, "an array of strings");
          const std::string text = *item->value<std::string>();
          Status s = ParseRegistryMirror(text).status();
          if (!s.ok())
            return s.WithContext(
                fmt::format("{}: [tool.ocifs] `registry-mirror`", Where(file, *item)));
          o.registry_mirrors.push_back(text);
        }
      } else {
        return TypeError(file, n, key, "a string or an array of strings");
      }
    } else if (key == "system-packages") {
      OCIFS_ASSIGN_OR_RETURN(o.system_packages, AsStringList(file, n, key, false));
    } else if (key == "apt-mirror") {
      OCIFS_ASSIGN_OR_RETURN(o.apt_mirrors, AsStringList(file, n, key, true));
    } else if (key == "apt-keyring") {
      OCIFS_ASSIGN_OR_RETURN(o.apt_keyrings, AsStringList(file, n, key, true));
    } else if (key == "python") {
      OCIFS_ASSIGN_OR_RETURN(o.python, AsString(file, n, key));
    } else if (key == "platform") {
      OCIFS_ASSIGN_OR_RETURN(o.platform, AsString(file, n, key));
    } else if (key == "workdir") {
      OCIFS_ASSIGN_OR_RETURN(o.workdir, AsString(file, n, key));
    } else if (key == "user") {
      OCIFS_ASSIGN_OR_RETURN(o.user, AsString(file, n, key));
      OCIFS_RETURN_IF_ERROR(ValidateUser(*o.user).WithContext(
          fmt::format("{}: [tool.ocifs] `user`", Where(file, n))));
    } else if (key == "env") {
      OCIFS_ASSIGN_OR_RETURN(o.env, AsKeyValues(file, n, key));
    } else if (key == "label") {
      OCIFS_ASSIGN_OR_RETURN(o.labels, AsKeyValues(file, n, key));
    } else if (key == "expose") {
      std::vector<std::string> ports;
      if (const toml::array* a = n.as_array()) {
        for (const toml::node& item : *a) {
          std::string text;
          if (item.is_integer()) {
            text = std::to_string(*item.value<int64_t>());
          } else if (item.is_string()) {
            text = *item.value<std::string>();
          } else {
            return TypeError(file, item, key, "port numbers or \"PORT/PROTO\" strings");
          }
          auto port = NormalizePort(text);
          if (!port.ok()) return port.status().WithContext(Where(file, item));
          ports.push_back(*port);
        }
      } else {
        return TypeError(file, n, key, "an array of ports");
      }
      o.expose = std::move(ports);
    } else if (key == "volume") {
      OCIFS_ASSIGN_OR_RETURN(o.volumes, AsStringList(file, n, key, true));
      for (const auto& v : o.volumes) {
        OCIFS_RETURN_IF_ERROR(ValidateVolume(v).WithContext(
            fmt::format("{}: [tool.ocifs] `volume`", Where(file, n))));
      }
    } else if (key == "entrypoint") {
      OCIFS_ASSIGN_OR_RETURN(o.entrypoint, AsCommand(file, n, key));
    } else if (key == "cmd") {
      OCIFS_ASSIGN_OR_RETURN(o.cmd, AsCommand(file, n, key));
    } else if (key == "exclude") {
      OCIFS_ASSIGN_OR_RETURN(o.exclude, AsStringList(file, n, key, true));
    } else if (key == "include") {
      OCIFS_ASSIGN_OR_RETURN(o.include, AsStringList(file, n, key, true));
    } else if (key == "healthcheck") {
      if (n.is_string()) {
        OCIFS_ASSIGN_OR_RETURN(
            o.healthcheck,
            ParseHealthcheck(*n.value<std::string>(),
                             fmt::format("{}: [tool.ocifs] `healthcheck`", Where(file, n))));
      } else {
        OCIFS_ASSIGN_OR_RETURN(auto test, AsStringList(file, n, key, false));
        if (test.empty()) return TypeError(file, n, key, "a command or \"NONE\"");
        o.healthcheck = Healthcheck{.test = std::move(test)};
      }
    } else if (key == "plugins") {
      OCIFS_ASSIGN_OR_RETURN(o.plugins, AsPluginSettings(file, n));
    } else if (key == "strict") {
      if (!n.is_boolean()) return TypeError(file, n, key, "true or false");
      o.strict = *n.value<bool>();
    } else {
      return InvalidArgument(fmt::format(
          "{}: {} has no key `{}` (known: tag, base, deps, extra-deps, python, platform, "
          "registry-mirror, workdir, env, label, expose, volume, user, entrypoint, cmd, "
          "exclude, include, healthcheck, strict, plugins, system-packages, apt-mirror, "
          "apt-keyring{})",
          Where(file, n), top_level ? "[tool.ocifs]" : "a variant", key,
          top_level ? ", variants" : ", dependency-group"));
    }
  }
  return o;
}

}  // namespace

Result<ImageOptions> OptionsFromToml(const toml::table& t, std::string_view file) {
  return ReadOptions(t, file, /*top_level=*/true);
}

Status ValidateVariantName(std::string_view name) {
  static const std::regex kName(R"([a-z0-9]+(?:[._-][a-z0-9]+)*)");
  auto bad = [&](std::string_view why) {
    return InvalidArgument(fmt::format(
        "variant `{}`: {} (a name is lower-case letters and digits joined by single `-`, `.` or "
        "`_`, e.g. `dev` or `ci`)",
        name, why));
  };
  if (name.empty()) return bad("empty");
  if (name.size() > 64) return bad("longer than 64 characters");
  if (name == kDefaultVariant) return bad("`default` is what --variant calls the unnamed image");
  if (!std::regex_match(name.begin(), name.end(), kName)) return bad("not a valid name");
  return Status::Ok();
}

Result<std::vector<Variant>> VariantsFromToml(const toml::table& t, std::string_view file) {
  std::vector<Variant> out;
  const toml::node* variants = t.get("variants");
  if (variants == nullptr) return out;
  const toml::table* table = variants->as_table();
  if (table == nullptr) {
    return InvalidArgument(fmt::format(
        "{}: [tool.ocifs] `variants`: want a table of variants ([tool.ocifs.variants.NAME])",
        Where(file, *variants)));
  }
  for (const auto& [name_node, n] : *table) {
    Variant v;
    v.name = std::string(name_node.str());
    OCIFS_RETURN_IF_ERROR(ValidateVariantName(v.name).WithContext(
        fmt::format("{}: [tool.ocifs.variants]", Where(file, n))));
    const toml::table* body = n.as_table();
    if (body == nullptr) {
      return InvalidArgument(fmt::format("{}: [tool.ocifs.variants.{}]: want a table of settings",
                                         Where(file, n), v.name));
    }
    if (const toml::node* group = body->get("dependency-group")) {
      if (!group->is_string()) {
        return InvalidArgument(fmt::format(
            "{}: [tool.ocifs.variants.{}] `dependency-group`: want the name of a group of "
            "[dependency-groups]",
            Where(file, *group), v.name));
      }
      v.dependency_group = *group->value<std::string>();
    }
    auto options = ReadOptions(*body, file, /*top_level=*/false);
    if (!options.ok()) return options.status().WithContext("variant `" + v.name + "`");
    v.options = *std::move(options);
    out.push_back(std::move(v));
  }
  return out;
}

Status AddDepsOption(ImageOptions& o, std::string_view text, std::string_view what) {
  // PLATFORM=DIR when the text starts with OS/ARCH[/VARIANT]= (a directory may contain '=' too).
  static const std::regex kPlatformDeps(R"(([a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?)=(.*))");
  std::match_results<std::string_view::const_iterator> m;
  if (std::regex_match(text.begin(), text.end(), m, kPlatformDeps)) {
    if (m[2].length() == 0)
      return InvalidArgument(fmt::format("{}: `{}` names no directory after `=`", what, text));
    SetKeyValue(o.platform_deps, m[1].str(), m[2].str());
    return Status::Ok();
  }
  if (text.empty()) return InvalidArgument(fmt::format("{}: the directory is empty", what));
  o.deps = std::string(text);
  return Status::Ok();
}

Result<std::pair<std::string, std::string>> ParseKeyValue(std::string_view text,
                                                          std::string_view what) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return InvalidArgument(fmt::format("{}: `{}` is not KEY=VALUE", what, text));
  }
  return std::make_pair(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
}

Result<std::vector<std::string>> ParseCommand(std::string_view text, std::string_view what) {
  size_t first = text.find_first_not_of(" \t\n");
  if (first != std::string_view::npos && text[first] == '[') {
    auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_array())
      return InvalidArgument(fmt::format("{}: `{}` is not a JSON array", what, text));
    std::vector<std::string> out;
    for (const auto& item : j) {
      if (!item.is_string())
        return InvalidArgument(fmt::format("{}: `{}`: every item must be a string", what, text));
      out.push_back(item.get<std::string>());
    }
    return out;
  }
  // Shell-like words: whitespace separates; '...' is literal; "..." allows \" and \\; \x escapes.
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else if (c == '\'') {
      size_t end = text.find('\'', i + 1);
      if (end == std::string_view::npos)
        return InvalidArgument(fmt::format("{}: unclosed ' in `{}`", what, text));
      cur += text.substr(i + 1, end - i - 1);
      i = end;
      in_word = true;
    } else if (c == '"') {
      size_t j = i + 1;
      for (; j < text.size() && text[j] != '"'; ++j) {
        if (text[j] == '\\' && j + 1 < text.size() && (text[j + 1] == '"' || text[j + 1] == '\\'))
          ++j;
        cur += text[j];
      }
      if (j >= text.size())
        return InvalidArgument(fmt::format("{}: unclosed \" in `{}`", what, text));
      i = j;
      in_word = true;
    } else if (c == '\\' && i + 1 < text.size()) {
      cur += text[++i];
      in_word = true;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (in_word) out.push_back(std::move(cur));
  if (out.empty()) return InvalidArgument(fmt::format("{}: the command is empty", what));
  return out;
}

Result<std::string> NormalizePort(std::string_view text) {
  std::string_view num = text, proto = "tcp";
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    num = text.substr(0, slash);
    proto = text.substr(slash + 1);
  }
  bool digits = !num.empty() && num.size() <= 5 && std::all_of(num.begin(), num.end(), ::isdigit);
  int port = digits ? std::stoi(std::string(num)) : 0;
  if (port < 1 || port > 65535 || (proto != "tcp" && proto != "udp" && proto != "sctp")) {
    return InvalidArgument(
        fmt::format("port `{}`: want PORT or PORT/tcp|udp|sctp with 1 <= PORT <= 65535", text));
  }
  return fmt::format("{}/{}", port, proto);
}

Status ValidateVolume(std::string_view path) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument(
        fmt::format("volume `{}`: {} (an absolute path such as `/app/instance`)", path, why));
  };
  if (!path.starts_with('/')) return bad("not an absolute path");
  if (path == "/") return bad("the root cannot be a volume");
  if (path.ends_with('/')) return bad("ends with `/`");
  for (char c : path) {
    if (c == '\0' || c == '\n' || c == ':' || c == ',')
      return bad("has `:`, `,`, a NUL or a newline");
  }
  for (std::string_view rest = path.substr(1); !rest.empty();) {
    const size_t slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    if (part.empty() || part == "." || part == "..")
      return bad("has an empty, `.` or `..` component");
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  return Status::Ok();
}

Status ValidateUser(std::string_view user) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument(
        fmt::format("`{}`: {} (want NAME, UID, NAME:GROUP or UID:GID, e.g. `65532:65532` or `app`)",
                    user, why));
  };
  if (user.empty()) return bad("empty");
  const size_t colon = user.find(':');
  std::vector<std::string_view> parts = {user.substr(0, colon)};
  if (colon != std::string_view::npos) parts.push_back(user.substr(colon + 1));
  for (std::string_view part : parts) {
    if (part.empty()) return bad("a user or group is missing around `:`");
    if (std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      if (part.size() > 10 || std::stoull(std::string(part)) > 0xfffffffeULL)
        return bad(fmt::format("`{}` is larger than the largest id, 4294967294", part));
      continue;
    }
    // A name as useradd allows it (and what runc looks up in the image's /etc/passwd).
    for (size_t i = 0; i < part.size(); ++i) {
      const char c = part[i];
      const bool ok =
          IsAlnum(c) || c == '_' || c == '.' || c == '-' || (c == '$' && i + 1 == part.size());
      if (!ok || (i == 0 && c == '-')) {
        return bad(fmt::format("`{}` cannot be in a user or group name", Utf8CharAt(part, i)));
      }
    }
  }
  return Status::Ok();
}

std::string_view Utf8CharAt(std::string_view text, size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  size_t n = lead < 0x80           ? 1
             : (lead >> 5) == 0x6  ? 2
             : (lead >> 4) == 0xe  ? 3
             : (lead >> 3) == 0x1e ? 4
                                   : 1;
  n = std::min(n, text.size() - i);
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) return text.substr(i, 1);
  }
  return text.substr(i, n);
}

Status ValidateTag(std::string_view tag) {
  // Distribution spec: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}. Image-spec ref.name: alphanumeric
  // components joined by one of - . _ : @ + or "--". A tag must satisfy both.
  auto bad = [&](std::string_view why) {
    return InvalidArgument(
        fmt::format("tag `{}`: {} (a tag is letters and digits, joined by single `.`, `_` or "
                    "`-`, at most 128 characters, e.g. `latest` or `1.2.0`)",
                    tag, why));
  };
  if (tag.empty()) return bad("empty");
  if (tag.size() > 128) return bad("longer than 128 characters");
  for (size_t i = 0; i < tag.size(); ++i) {
    const char c = tag[i];
    if (!IsAlnum(c) && c != '.' && c != '_' && c != '-')
      return bad(fmt::format("`{}` is not allowed", Utf8CharAt(tag, i)));
  }
  if (!IsAlnum(tag.front()) || !IsAlnum(tag.back()))
    return bad("must start and end with a letter or digit");
  for (size_t i = 0; i + 1 < tag.size(); ++i) {
    if (!IsAlnum(tag[i]) && !IsAlnum(tag[i + 1])) {
      bool double_dash = tag[i] == '-' && tag[i + 1] == '-' &&
                         (i + 2 < tag.size() && IsAlnum(tag[i + 2])) &&
                         (i == 0 || IsAlnum(tag[i - 1]));
      if (!double_dash) return bad("separators cannot follow each other");
    }
  }
  return Status::Ok();
}

Result<Healthcheck> ParseHealthcheck(std::string_view text, std::string_view what) {
  if (text == "NONE") return Healthcheck{};
  OCIFS_ASSIGN_OR_RETURN(auto test, ParseCommand(text, what));
  if (test.empty())
    return InvalidArgument(fmt::format("{}: empty (want a command, or NONE to disable)", what));
  return Healthcheck{.test = std::move(test)};
}

Status AddPluginOption(PluginSettings& settings, std::string_view text) {
  const size_t dot = text.find('.');
  const size_t eq = text.find('=');
  if (dot == std::string_view::npos || eq == std::string_view::npos || dot > eq || dot == 0 ||
      eq == dot + 1) {
    return InvalidArgument(
        fmt::format("--plugin-opt `{}`: want NAME.KEY=VALUE (e.g. frameworks.port=8080)", text));
  }
  settings[std::string(text.substr(0, dot))][std::string(text.substr(dot + 1, eq - dot - 1))] =
      std::string(text.substr(eq + 1));
  return Status::Ok();
}

}  // namespace ocifs
