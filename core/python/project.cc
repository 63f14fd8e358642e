#include "core/python/project.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include "core/python/pep440.h"
#include "core/python/python_versions.h"
#include "core/support/text.h"
#include "ocifs/python_source.hpp"

namespace ocifs {
namespace {

std::string Where(std::string_view file, const toml::node& n) {
  return fmt::format("{}:{}:{}", file, n.source().begin.line, n.source().begin.column);
}

Result<std::string> StringAt(const toml::table& t, std::string_view key, std::string_view file,
                             std::string_view table) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return std::string();
  if (!n->is_string())
    return InvalidArgument(
        fmt::format("{}: [{}] `{}`: want a string", Where(file, *n), table, key));
  return *n->value<std::string>();
}

// A table of console scripts ([project.scripts], [tool.poetry.scripts]) in file order: each
// "module:function", or, for Poetry 1.x (`poetry`), a table whose `callable` or `reference` is.
Result<std::vector<std::pair<std::string, std::string>>> ScriptsTable(const toml::node& n,
                                                                      std::string_view table,
                                                                      std::string_view file,
                                                                      bool poetry) {
  const toml::table* scripts = n.as_table();
  if (scripts == nullptr) {
    return InvalidArgument(fmt::format("{}: [{}] must be a table", Where(file, n), table));
  }
  std::vector<std::tuple<toml::source_index, toml::source_index, std::string, std::string>> ordered;
  for (const auto& [k, v] : *scripts) {
    const toml::node* target = &v;
    if (const toml::table* t = v.as_table(); t != nullptr && poetry) {
      target = t->get("callable") ? t->get("callable") : t->get("reference");
    }
    if (target == nullptr || !target->is_string()) {
      return InvalidArgument(fmt::format("{}: [{}] `{}`: want a string \"module:function\"",
                                         Where(file, v), table, k.str()));
    }
    ordered.emplace_back(v.source().begin.line, v.source().begin.column, std::string(k.str()),
                         *target->value<std::string>());
  }
  std::sort(ordered.begin(), ordered.end());
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& [line, col, name, target] : ordered) out.emplace_back(name, target);
  return out;
}

bool IsStringArray(const toml::node& n) {
  const toml::array* a = n.as_array();
  return a != nullptr &&
         std::all_of(a->begin(), a->end(), [](const auto& i) { return i.is_string(); });
}

bool IsStringTable(const toml::node& n) {
  const toml::table* t = n.as_table();
  return t != nullptr &&
         std::all_of(t->begin(), t->end(), [](const auto& kv) { return kv.second.is_string(); });
}

// The types PEP 621 (and PEP 639) give the [project] fields that ocifs or its plugins read or
// that a build backend would refuse: a wrong one is an error naming file:line:col, not a value
// silently dropped.
Status CheckProjectTypes(const toml::table& project, std::string_view file) {
  auto fail = [&](const toml::node& n, std::string_view key, std::string_view want) {
    return InvalidArgument(fmt::format("{}: [project] `{}`: want {}", Where(file, n), key, want));
  };
  for (const auto& [k, v] : project) {
    const std::string_view key = k.str();
    if (key == "license") {
      if (v.is_string()) continue;
      const toml::table* t = v.as_table();
      const bool one_of = t != nullptr && t->size() == 1 &&
                          ((t->get("text") && t->get("text")->is_string()) ||
                           (t->get("file") && t->get("file")->is_string()));
      if (!one_of) {
        return fail(v, key,
                    "an SPDX expression string such as \"MIT\", or a table with one string, "
                    "`text` or `file`");
      }
    } else if (key == "readme") {
      if (!v.is_string() && !v.is_table()) return fail(v, key, "a file name or a table");
    } else if (key == "urls" || key == "gui-scripts") {  // scripts: read below
      if (!IsStringTable(v)) return fail(v, key, "a table of strings");
    } else if (key == "entry-points") {
      const toml::table* t = v.as_table();
      for (const auto& [group, entries] : t ? *t : toml::table{}) {
        if (!IsStringTable(entries))
          return fail(entries, fmt::format("entry-points.{}", group.str()), "a table of strings");
      }
      if (t == nullptr) return fail(v, key, "a table of tables of strings");
    } else if (key == "dependencies" || key == "keywords" || key == "classifiers" ||
               key == "dynamic" || key == "license-files") {
      if (!IsStringArray(v)) return fail(v, key, "an array of strings");
    } else if (key == "optional-dependencies") {
      const toml::table* t = v.as_table();
      if (t == nullptr) return fail(v, key, "a table of arrays of strings");
      for (const auto& [extra, deps] : *t) {
        if (!IsStringArray(deps))
          return fail(deps, fmt::format("optional-dependencies.{}", extra.str()),
                      "an array of strings");
      }
    } else if (key == "authors" || key == "maintainers") {
      const toml::array* a = v.as_array();
      const bool ok = a != nullptr && std::all_of(a->begin(), a->end(), [](const auto& p) {
                        return p.is_table() && IsStringTable(p);
                      });
      if (!ok) return fail(v, key, "an array of tables with `name` and `email` strings");
    }
  }
  return Status::Ok();
}

bool IsIdentifier(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
           static_cast<unsigned char>(c) >= 0x80;
  });
}

bool IsDottedName(std::string_view s) {
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find('.', i);
    if (j == std::string_view::npos) j = s.size();
    if (!IsIdentifier(s.substr(i, j - i))) return false;
    i = j + 1;
  }
  return true;
}

std::string PyQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string Absolute(const std::string& base_dir, const std::string& p) {
  std::filesystem::path path(p);
  if (path.is_relative()) path = std::filesystem::path(base_dir) / path;
  return path.lexically_normal().string();
}

// Makes paths of options read from pyproject.toml absolute, relative to the project directory.
void AbsolutizeFileOptions(ImageOptions& o, const std::string& dir) {
  if (o.deps) o.deps = Absolute(dir, *o.deps);
  for (auto& [platform, deps] : o.platform_deps) deps = Absolute(dir, deps);
  if (o.extra_deps) {
    for (std::string& extra : *o.extra_deps) extra = Absolute(dir, extra);
  }
  if (o.base) o.base = AbsoluteBase(*o.base, dir);
  for (std::string& keyring : o.apt_keyrings) keyring = Absolute(dir, keyring);
}

// "version = 3.11.4" or "version_info = 3.11.4.final.0" in pyvenv.cfg -> "3.11".
std::string PythonFromPyvenvCfg(std::string_view cfg) {
  static const std::regex kLine(R"((?:^|\n)\s*(?:version|version_info)\s*=\s*(\d+)\.(\d+))");
  std::match_results<std::string_view::const_iterator> m;
  if (std::regex_search(cfg.begin(), cfg.end(), m, kLine))
    return fmt::format("{}.{}", m[1].str(), m[2].str());
  return "";
}

// Finds lib/python3.*/site-packages under a virtualenv root.
Result<std::pair<std::string, std::string>> VenvSitePackages(const std::string& venv) {
  std::error_code ec;
  std::vector<std::pair<std::string, std::string>> found;
  for (const auto& lib : {"lib", "lib64"}) {
    std::filesystem::path dir = std::filesystem::path(venv) / lib;
    if (!std::filesystem::is_directory(dir, ec) || std::filesystem::is_symlink(dir, ec)) continue;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      std::string n = e.path().filename().string();
      static const std::regex kPy(R"(python(3\.\d+))");
      std::smatch m;
      if (std::regex_match(n, m, kPy) &&
          std::filesystem::is_directory(e.path() / "site-packages", ec)) {
        found.emplace_back((e.path() / "site-packages").string(), m[1].str());
      }
    }
  }
  if (found.empty())
    return NotFound(fmt::format("virtualenv `{}` has no lib/python3.*/site-packages", venv));
  if (found.size() > 1) {
    return InvalidArgument(
        fmt::format("virtualenv `{}` has several site-packages directories (`{}`, `{}`)", venv,
                    found[0].first, found[1].first));
  }
  return found[0];
}

Result<DepsSource> OpenDeps(const std::string& path, const std::string& project_dir) {
  DepsSource d;
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) {
    return NotFound(
        fmt::format("dependencies directory `{}` does not exist or is not a directory", path));
  }
  if (std::filesystem::exists(std::filesystem::path(path) / "pyvenv.cfg", ec)) {
    d.venv_path = path;
    OCIFS_ASSIGN_OR_RETURN(auto sp, VenvSitePackages(path));
    d.host_path = sp.first;
    OCIFS_ASSIGN_OR_RETURN(auto venv_tree, OpenPosixTree(path));
    OCIFS_ASSIGN_OR_RETURN(std::string cfg, ReadSmallFile(*venv_tree, "pyvenv.cfg"));
    d.python = PythonFromPyvenvCfg(cfg);
    if (d.python.empty()) d.python = sp.second;
    if (d.python != sp.second) {
      return InvalidArgument(
          fmt::format("virtualenv `{}`: pyvenv.cfg says Python {} but its site-packages is for {}",
                      path, d.python, sp.second));
    }
  } else {
    d.host_path = path;
    static const std::regex kPy(R"(/python(3\.\d+)/site-packages/?$)");
    std::smatch m;
    if (std::regex_search(path, m, kPy)) d.python = m[1].str();
  }
  std::filesystem::path rel = std::filesystem::path(d.venv_path.empty() ? d.host_path : d.venv_path)
                                  .lexically_relative(project_dir);
  if (!rel.empty() && *rel.begin() != "..") d.excluded_from_app = rel.string();
  OCIFS_ASSIGN_OR_RETURN(auto tree, OpenPosixTree(d.host_path));
  d.tree = std::move(tree);
  return d;
}

Result<int64_t> ParseEpoch(std::string_view text) {
  bool digits =
      !text.empty() && text.size() <= 11 && std::all_of(text.begin(), text.end(), ::isdigit);
  if (!digits || std::stoll(std::string(text)) > 077777777777LL) {
    return InvalidArgument(fmt::format(
        "SOURCE_DATE_EPOCH `{}`: want whole seconds since 1970, at most 8589934591", text));
  }
  return std::stoll(std::string(text));
}

Result<std::string> CheckWorkdir(const std::string& w) {
  std::filesystem::path p(w);
  if (!p.is_absolute())
    return InvalidArgument(fmt::format("workdir `{}`: want an absolute path such as /app", w));
  std::string norm = p.lexically_normal().string();
  while (norm.size() > 1 && norm.back() == '/') norm.pop_back();
  if (norm == "/")
    return InvalidArgument("workdir `/`: the project cannot be packed at the root of the image");
  if (norm.find("/..") != std::string::npos)
    return InvalidArgument(fmt::format("workdir `{}`: `..` is not allowed", w));
  return norm;
}

// "1000", "1000:1000" -> numeric owner; names are allowed but do not change file ownership.
std::optional<std::pair<uint32_t, uint32_t>> NumericUser(std::string_view user) {
  static const std::regex kNum(R"((\d{1,9})(?::(\d{1,9}))?)");
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_match(user.begin(), user.end(), m, kNum)) return std::nullopt;
  uint32_t uid = static_cast<uint32_t>(std::stoul(m[1].str()));
  uint32_t gid = m[2].matched ? static_cast<uint32_t>(std::stoul(m[2].str())) : uid;
  return std::make_pair(uid, gid);
}

}  // namespace

const std::vector<std::string>& SecretPatterns() {
  static const std::vector<std::string> kSecrets = {
      "**/.env",    "**/.env.*",  "**/*.pem",     "**/*.key",       "**/*.p12",  "**/*.pfx",
      "**/id_rsa*", "**/id_dsa*", "**/id_ecdsa*", "**/id_ed25519*", "**/.netrc", "**/.pypirc",
  };
  return kSecrets;
}

const IgnoreRules& SecretRules() {
  static const IgnoreRules kRules = [] {
    IgnoreRules r;
    for (const auto& p : SecretPatterns()) {
      if (!r.Add(p, "the secret patterns").ok()) std::abort();  // constant patterns
    }
    return r;
  }();
  return kRules;
}

const std::vector<std::string>& DefaultIgnorePatterns() {
  static const std::vector<std::string> kDefaults = [] {
    std::vector<std::string> d = {
        // version control, virtualenvs, build output, caches
        ".git", "**/.git*", ".hg", ".svn", ".venv", "**/__pycache__", "**/*.pyc", "**/*.pyo",
        "**/.pytest_cache", "**/.mypy_cache", "**/.ruff_cache", ".tox", ".nox", "dist", "build",
        "**/*.egg-info", "**/node_modules", "**/.DS_Store",
        // editors, coverage output
        "**/.idea", "**/.vscode", "**/*.swp", "htmlcov", "**/.coverage", "**/.coverage.*",
        "coverage.xml"};
    for (const auto& p : SecretPatterns()) d.push_back(p);  // secrets, last
    return d;
  }();
  return kDefaults;
}

std::vector<std::string> GitignorePatterns(std::string_view text, std::string_view dir) {
  std::vector<std::string> out;
  const std::string prefix = dir.empty() ? std::string() : std::string(dir) + "/";
  for (std::string_view raw : SplitLines(text)) {
    std::string line(raw);
    // Trailing spaces go unless escaped; a leading '#' is a comment, "\#" a name.
    while (!line.empty() && line.back() == ' ' &&
           !(line.size() > 1 && line[line.size() - 2] == '\\'))
      line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    std::string negate;
    if (line[0] == '!') {
      negate = "!";
      line.erase(0, 1);
    } else if (line.size() > 1 && line[0] == '\\' && (line[1] == '#' || line[1] == '!')) {
      line.erase(0, 1);
    }
    while (line.size() > 1 && line.back() == '/')
      line.pop_back();  // a directory: matched as a name
    if (line.empty() || line == "/") continue;
    // A slash at the start or in the middle anchors the pattern to the .gitignore's directory;
    // without one it matches at any depth below it.
    const bool anchored = line.find('/') != std::string::npos;
    if (line[0] == '/') line.erase(0, 1);
    out.push_back(negate + prefix + (anchored || line.starts_with("**/") ? line : "**/" + line));
  }
  return out;
}

Result<PyProject> ParsePyProject(std::string_view text, std::string_view file) {
  PyProject py;
  py.present = true;
  toml::table root;
  try {
    root = toml::parse(text, std::string(file));
  } catch (const toml::parse_error& e) {
    return InvalidArgument(fmt::format("{}:{}:{}: {}", file, e.source().begin.line,
                                       e.source().begin.column, e.description()));
  }
  if (const toml::node* pn = root.get("project")) {
    const toml::table* project = pn->as_table();
    if (project == nullptr)
      return InvalidArgument(fmt::format("{}: [project] must be a table", Where(file, *pn)));
    OCIFS_RETURN_IF_ERROR(CheckProjectTypes(*project, file));
    OCIFS_ASSIGN_OR_RETURN(py.name, StringAt(*project, "name", file, "project"));
    OCIFS_ASSIGN_OR_RETURN(py.version, StringAt(*project, "version", file, "project"));
    OCIFS_ASSIGN_OR_RETURN(py.requires_python,
                           StringAt(*project, "requires-python", file, "project"));
    OCIFS_ASSIGN_OR_RETURN(py.description, StringAt(*project, "description", file, "project"));
    if (const toml::node* lic = project->get("license")) {
      if (lic->is_string()) {
        py.license = *lic->value<std::string>();
      } else if (const toml::table* lt = lic->as_table();
                 lt && lt->get("text") && lt->get("text")->is_string()) {
        py.license = *lt->get("text")->value<std::string>();
      }
    }
    if (const toml::node* sn = project->get("scripts")) {
      OCIFS_ASSIGN_OR_RETURN(py.scripts, ScriptsTable(*sn, "project.scripts", file, false));
    }
  }
  // Poetry projects (before Poetry 2 read [project]) keep their metadata in [tool.poetry].
  if (const toml::table* poetry = root.at_path("tool.poetry").as_table()) {
    if (py.name.empty()) {
      OCIFS_ASSIGN_OR_RETURN(py.name, StringAt(*poetry, "name", file, "tool.poetry"));
    }
    if (py.version.empty()) {
      OCIFS_ASSIGN_OR_RETURN(py.version, StringAt(*poetry, "version", file, "tool.poetry"));
    }
    if (const toml::node* sn = root.at_path("tool.poetry.scripts").node()) {
      OCIFS_ASSIGN_OR_RETURN(py.poetry_scripts,
                             ScriptsTable(*sn, "tool.poetry.scripts", file, true));
    }
    if (const toml::table* deps = root.at_path("tool.poetry.dependencies").as_table()) {
      OCIFS_ASSIGN_OR_RETURN(py.poetry_python,
                             StringAt(*deps, "python", file, "tool.poetry.dependencies"));
    }
  }
  if (const toml::node* gn = root.get("dependency-groups")) {
    const toml::table* groups = gn->as_table();
    if (groups == nullptr)
      return InvalidArgument(
          fmt::format("{}: [dependency-groups] must be a table", Where(file, *gn)));
    for (const auto& [name, items] : *groups) {
      const toml::array* a = items.as_array();
      if (a == nullptr) {
        return InvalidArgument(fmt::format("{}: [dependency-groups] `{}`: want an array",
                                           Where(file, items), name.str()));
      }
      std::vector<DependencyGroupItem>& out = py.dependency_groups[NormalizeName(name.str())];
      for (const toml::node& item : *a) {
        if (item.is_string()) {
          out.push_back({*item.value<std::string>(), ""});
        } else if (const toml::table* t = item.as_table();
                   t != nullptr && t->size() == 1 && (*t)["include-group"].is_string()) {
          out.push_back({"", *(*t)["include-group"].value<std::string>()});
        } else {
          return InvalidArgument(fmt::format(
              "{}: [dependency-groups] `{}`: want requirement strings or {{include-group = "
              "\"NAME\"}}",
              Where(file, item), name.str()));
        }
      }
    }
  }
  if (const toml::node* tn = root.at_path("tool.ocifs").node()) {
    const toml::table* tool = tn->as_table();
    if (tool == nullptr)
      return InvalidArgument(fmt::format("{}: [tool.ocifs] must be a table", Where(file, *tn)));
    OCIFS_ASSIGN_OR_RETURN(py.tool, OptionsFromToml(*tool, file));
    OCIFS_ASSIGN_OR_RETURN(py.variants, VariantsFromToml(*tool, file));
  }
  return py;
}

Result<std::vector<std::string>> ScriptCommand(std::string_view script_name,
                                               std::string_view target) {
  // "pkg.mod:obj.attr [extra1, extra2]" (the entry-point syntax of the packaging spec).
  std::string t(target);
  if (size_t bracket = t.find('['); bracket != std::string::npos) t = t.substr(0, bracket);
  t.erase(std::remove_if(t.begin(), t.end(), ::isspace), t.end());
  auto bad = [&] {
    return InvalidArgument(
        fmt::format("[project.scripts] `{}` = `{}`: want \"package.module:function\" or "
                    "\"package.module\"",
                    script_name, target));
  };
  size_t colon = t.find(':');
  std::string module = t.substr(0, colon);
  if (!IsDottedName(module)) return bad();
  if (colon == std::string::npos) return std::vector<std::string>{"python3", "-m", module};
  std::string attr = t.substr(colon + 1);
  if (!IsDottedName(attr)) return bad();
  std::string head = attr.substr(0, attr.find('.'));
  // What pip's console-script wrapper does: import the object, call it, exit with its result.
  std::string code = fmt::format("import sys; from {} import {}; sys.argv[0] = {}; sys.exit({}())",
                                 module, head, PyQuote(script_name), attr);
  return std::vector<std::string>{"python3", "-c", code};
}

ResolvedProject ForPlatform(const ResolvedProject& p, const Platform& platform) {
  ResolvedProject view = p;
  view.platform = platform;
  if (auto it = p.platform_deps.find(platform.str()); it != p.platform_deps.end())
    view.deps = it->second;
  return view;
}

namespace {

// The value of `key` in `[section]` of an INI file (setup.cfg) as its lines: the text after `=`
// (when not empty) and each indented continuation line, trimmed; empty when absent. `;`/`#` lines
// are comments.
std::vector<std::string> IniLines(std::string_view text, std::string_view section,
                                  std::string_view key) {
  std::string current;
  std::vector<std::string> value;
  bool in_value = false;
  for (std::string_view line : SplitLines(text)) {
    const bool indented = !line.empty() && (line[0] == ' ' || line[0] == '\t');
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos) continue;
    std::string_view body = TrimSpace(line.substr(first));
    if (body[0] == '#' || body[0] == ';') continue;
    if (in_value && indented) {
      value.emplace_back(body);
      continue;
    }
    if (in_value) break;
    if (body[0] == '[') {
      current = std::string(body.substr(1, body.find(']') - 1));
      continue;
    }
    const size_t eq = body.find_first_of("=:");
    if (current != section || eq == std::string_view::npos) continue;
    std::string_view k = body.substr(0, eq);
    while (!k.empty() && (k.back() == ' ' || k.back() == '\t')) k.remove_suffix(1);
    if (k != key) continue;
    std::string_view v = TrimSpace(body.substr(eq + 1));
    if (!v.empty()) value.emplace_back(v);
    in_value = true;
  }
  return value;
}

// The console scripts a project declares, from the first of: [project.scripts], Poetry's
// [tool.poetry.scripts], setup.cfg's [options.entry_points] console_scripts, setup.py's
// entry_points (read, never run).
struct DeclaredScripts {
  std::vector<std::pair<std::string, std::string>> scripts;
  std::string table;              // "[project.scripts]"
  std::string file;               // the file that declares them (for messages)
  std::string name_hint;          // setup.cfg's [metadata] name, for a project without [project]
  std::vector<std::string> also;  // the other places that declare scripts too
};

std::vector<std::pair<std::string, std::string>> SetupCfgScripts(std::string_view text);

DeclaredScripts FindDeclaredScripts(const std::string& dir, const PyProject& py,
                                    std::string_view setup_cfg, const SetupPy& setup_py) {
  std::vector<DeclaredScripts> found;
  const std::string pyproject = dir + "/pyproject.toml";
  if (!py.scripts.empty()) found.push_back({py.scripts, "[project.scripts]", pyproject, "", {}});
  if (!py.poetry_scripts.empty()) {
    found.push_back({py.poetry_scripts, "[tool.poetry.scripts]", pyproject, "", {}});
  }
  if (!setup_cfg.empty()) {
    auto scripts = SetupCfgScripts(setup_cfg);
    if (!scripts.empty()) {
      const auto name = IniLines(setup_cfg, "metadata", "name");
      found.push_back({std::move(scripts),
                       "setup.cfg [options.entry_points] console_scripts",
                       dir + "/setup.cfg",
                       name.empty() ? "" : name.front(),
                       {}});
    }
  }
  if (!setup_py.scripts.empty()) {
    found.push_back({setup_py.scripts,
                     "setup.py entry_points console_scripts",
                     dir + "/setup.py",
                     setup_py.name,
                     {}});
  }
  if (found.empty()) return {};
  DeclaredScripts first = std::move(found.front());
  for (size_t i = 1; i < found.size(); ++i) first.also.push_back(found[i].table);
  return first;
}

// The packages with a __main__.py at the top of the project or of its src/ (not ignored), as
// "pkg" or "src/pkg", sorted.
std::vector<std::string> RunnablePackages(const Tree& t, const IgnoreRules& ignore) {
  std::vector<std::string> out;
  for (const std::string base : {"", "src"}) {
    auto children = t.ReadDir(base);
    if (!children.ok()) continue;
    for (const DirEntry& c : *children) {
      if (c.info.type != FileType::kDirectory) continue;
      const std::string dir = base.empty() ? c.name : base + "/" + c.name;
      if (ignore.Excluded(dir) || !IsIdentifier(c.name)) continue;
      auto init = t.Lstat(dir + "/__init__.py");
      auto main = t.Lstat(dir + "/__main__.py");
      if (init.ok() && main.ok() && main->type == FileType::kRegular) out.push_back(dir);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// An entry point line, `name = module:function`, as (name, target); nullopt without a `=`.
std::optional<std::pair<std::string, std::string>> ScriptLine(std::string_view line) {
  const size_t eq = line.find('=');
  if (eq == std::string_view::npos) return std::nullopt;
  return std::make_pair(std::string(TrimSpace(line.substr(0, eq))),
                        std::string(TrimSpace(line.substr(eq + 1))));
}

// The top-level modules (not ignored; not packaging, test or task files) that run as scripts: an
// `if __name__ == "__main__":` block, read with the Python tokenizer. Sorted.
std::vector<std::string> ScriptModules(const Tree& t, const IgnoreRules& ignore) {
  static const std::set<std::string, std::less<>> kNotTheApp = {
      "setup.py", "manage.py", "conftest.py", "noxfile.py", "fabfile.py",
      "tasks.py", "dodo.py",   "docs.py",     "version.py", "_version.py"};
  std::vector<std::string> out;
  auto children = t.ReadDir("");
  if (!children.ok()) return out;
  for (const DirEntry& c : *children) {
    if (c.info.type != FileType::kRegular || !c.name.ends_with(".py") || ignore.Excluded(c.name) ||
        kNotTheApp.contains(c.name) || c.name.starts_with("test_") || c.name.ends_with("_test.py"))
      continue;
    auto text = ReadSmallFile(t, c.name, 1 << 20);
    if (!text.ok()) continue;
    const sdk::python::Module m(*text);
    const auto& tok = m.tokens();
    auto is = [&](size_t i, std::string_view what) {
      return i < tok.size() && (tok[i].text == what || sdk::python::StringValue(tok[i]) == what);
    };
    for (size_t i = 0; i + 2 < tok.size(); ++i) {
      if ((is(i, "__name__") && is(i + 1, "==") && is(i + 2, "__main__")) ||
          (is(i, "__main__") && tok[i].kind == sdk::python::Kind::kString && is(i + 1, "==") &&
           is(i + 2, "__name__"))) {
        out.push_back(c.name);
        break;
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// setup.cfg's `[options.entry_points] console_scripts` as (name, target) pairs, in file order.
std::vector<std::pair<std::string, std::string>> SetupCfgScripts(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& line : IniLines(text, "options.entry_points", "console_scripts")) {
    if (auto script = ScriptLine(line)) out.push_back(*std::move(script));
  }
  return out;
}

// Files that make a folder a Python project of its own.
constexpr const char* kProjectMarkers[] = {"pyproject.toml",   "setup.py", "setup.cfg",
                                           "requirements.txt", "Pipfile",  "manage.py"};

// The members a uv workspace root names ([tool.uv.workspace] members, a `*` expanded one level)
// when the root has no [project] of its own; empty otherwise.
std::vector<std::string> WorkspaceMembers(const Tree& t, std::string_view pyproject) {
  toml::table root;
  try {
    root = toml::parse(pyproject);
  } catch (const toml::parse_error&) {
    return {};  // ParsePyProject says where
  }
  const toml::array* members = root.at_path("tool.uv.workspace.members").as_array();
  if (members == nullptr || root.contains("project") || root.at_path("tool.poetry")) return {};
  std::vector<std::string> out;
  for (const auto& m : *members) {
    const std::string pattern = m.value_or(std::string());
    const size_t star = pattern.find('*');
    if (star == std::string::npos) {
      if (t.Lstat(pattern + "/pyproject.toml").ok()) out.push_back(pattern);
      continue;
    }
    const std::string parent = pattern.substr(
        0, pattern.rfind('/', star) == std::string::npos ? 0 : pattern.rfind('/', star));
    auto children = t.ReadDir(parent);
    if (!children.ok()) continue;
    for (const DirEntry& c : *children) {
      const std::string path = parent.empty() ? c.name : parent + "/" + c.name;
      if (c.info.type == FileType::kDirectory &&
          GlobMatchSegment(pattern.substr(pattern.rfind('/') + 1), c.name) &&
          t.Lstat(path + "/pyproject.toml").ok())
        out.push_back(path);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The folder of a repository that holds its Python application when the top holds none (a
// monorepo's backend/, a uv workspace's one member): "" when the top is the project (or nothing
// tells), the folder when exactly one could be it, an error naming them when several could.
Result<std::string> ApplicationFolder(const Tree& t, const std::string& dir) {
  std::vector<std::string> candidates;
  if (auto text = ReadSmallFile(t, "pyproject.toml", 1 << 20); text.ok()) {
    candidates = WorkspaceMembers(t, *text);
    if (candidates.empty()) return std::string();
  } else {
    for (const char* marker : kProjectMarkers) {
      if (t.Lstat(marker).ok()) return std::string();
    }
    for (const char* other : {"Procfile", ".ocifsignore", "__main__.py"}) {
      if (t.Lstat(other).ok()) return std::string();
    }
    auto children = t.ReadDir("");
    if (!children.ok()) return std::string();
    std::sort(children->begin(), children->end(),
              [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
    for (const DirEntry& c : *children) {
      if (c.info.type == FileType::kRegular && c.name.ends_with(".py")) return std::string();
      // Folders whose requirements.txt is not an application's (docs/requirements.txt for
      // Read the Docs, tests', examples').
      static const std::set<std::string, std::less<>> kNotTheApp = {
          "docs",  "doc",   "tests",      "test", "examples",     "example",      "scripts",
          "tools", "bench", "benchmarks", "ci",   "requirements", "node_modules", "venv"};
      if (c.info.type != FileType::kDirectory || c.name.starts_with('.') ||
          kNotTheApp.contains(c.name))
        continue;
      if (c.name == "src") return std::string();                        // a src layout
      if (t.Lstat(c.name + "/__init__.py").ok()) return std::string();  // a package at the top
      for (const char* marker : kProjectMarkers) {
        if (t.Lstat(c.name + "/" + marker).ok()) {
          candidates.push_back(c.name);
          break;
        }
      }
    }
  }
  if (candidates.size() == 1) return candidates.front();
  if (candidates.empty()) return std::string();
  return InvalidArgument(fmt::format(
      "project `{}` holds no Python application at its top, and several folders hold one: `{}`; "
      "give the one to run as the project (e.g. `ocifs mount {}/{} MOUNTPOINT`)",
      dir, fmt::join(candidates, "`, `"), dir, candidates.front()));
}

// The patterns of the repository's top .gitignore that apply inside its `folder`, relative to
// it: unanchored ones, and those anchored below the folder.
std::vector<std::string> PatternsInside(const std::vector<std::string>& patterns,
                                        const std::string& folder) {
  std::vector<std::string> out;
  for (const std::string& p : patterns) {
    const bool negate = p.starts_with('!');
    const std::string body = p.substr(negate ? 1 : 0);
    if (body.starts_with("**/")) {
      out.push_back(p);
    } else if (body.starts_with(folder + "/")) {
      out.push_back((negate ? "!" : "") + body.substr(folder.size() + 1));
    }
  }
  return out;
}

// Pipenv's `[requires] python_version` (or python_full_version) in the Pipfile; "" when it has
// none or there is no Pipfile; an error naming the file when it is not TOML.
Result<std::string> PipfilePython(const Tree& t, const std::string& dir) {
  auto text = ReadSmallFile(t, "Pipfile", 1 << 20);
  if (!text.ok()) return std::string();
  try {
    const toml::table pipfile = toml::parse(*text, dir + "/Pipfile");
    for (const char* key : {"requires.python_full_version", "requires.python_version"}) {
      if (auto v = pipfile.at_path(key).value<std::string>()) return *v;
    }
  } catch (const toml::parse_error& e) {
    return InvalidArgument(fmt::format("{}/Pipfile:{}:{}: {}", dir, e.source().begin.line,
                                       e.source().begin.column, e.description()));
  }
  return std::string();
}

// Adds the rules of `dir`/.gitignore, then of the .gitignore files below it, in a walk that skips
// what the rules so far exclude.
Status AddGitignores(const Tree& t, const std::string& root, const std::string& dir,
                     IgnoreRules& rules) {
  const std::string file = dir.empty() ? ".gitignore" : dir + "/.gitignore";
  if (auto st = t.Lstat(file); st.ok() && st->type == FileType::kRegular) {
    OCIFS_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(t, file));
    for (const auto& p : GitignorePatterns(text, dir)) {
      Status s = rules.Add(p, fmt::format("`{}/{}`", root, file));
      if (!s.ok()) return s;
    }
  }
  auto children = t.ReadDir(dir);
  if (!children.ok()) return Status::Ok();  // the walk that packs says why
  std::sort(children->begin(), children->end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  for (const DirEntry& child : *children) {
    if (child.info.type != FileType::kDirectory) continue;
    const std::string rel = dir.empty() ? child.name : dir + "/" + child.name;
    if (rules.Excluded(rel) && rules.CanSkipDirectory(rel)) continue;
    OCIFS_RETURN_IF_ERROR(AddGitignores(t, root, rel, rules));
  }
  return Status::Ok();
}

// `rel` as an ignore pattern that matches just that path: glob characters escaped.
std::string LiteralPattern(std::string_view rel) {
  std::string out = "/";
  for (char c : rel) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// `inner` relative to `outer` when it is `outer` or below it (both canonical); nullopt otherwise.
std::optional<std::filesystem::path> Below(const std::filesystem::path& inner,
                                           const std::filesystem::path& outer) {
  auto rel = inner.lexically_relative(outer);
  if (rel.empty() || *rel.begin() == "..") return std::nullopt;
  return rel == "." ? std::filesystem::path() : rel;
}

// The mountpoint and the project's trees must not contain each other, except that the
// mountpoint may sit inside the project, which then leaves it out (ProjectInputs::mountpoint).
// An extra dependencies tree is a layer above the dependencies (and earlier extra trees): it
// cannot take a lower layer's distribution away, so one distribution in two versions would leave
// both in the image's site-packages. That is an error; the same version twice is a warning (its
// files are in the image twice).
Status CheckExtraDistributions(ResolvedProject& r) {
  if (r.extra_deps.empty()) return Status::Ok();
  struct Seen {
    InstalledDistribution distribution;
    std::string dir;
  };
  std::map<std::string, Seen> below;  // normalized name -> the lowest layer's
  for (const DepsSource* d : DependencyTrees(r)) {
    OCIFS_ASSIGN_OR_RETURN(auto distributions, InstalledDistributions(*d->tree));
    std::vector<std::string> twice;
    for (const auto& [name, dist] : distributions) {
      auto it = below.find(name);
      if (it == below.end()) {
        below.emplace(name, Seen{dist, d->host_path});
        continue;
      }
      if (it->second.distribution.version != dist.version) {
        return InvalidArgument(fmt::format(
            "extra-deps `{}` has {} {} ({}), and `{}` has {} {}: the image would hold both in "
            "one site-packages (a layer cannot remove a lower layer's files); install one "
            "version, or leave it out of the extra tree",
            d->host_path, dist.name, dist.version, dist.entry, it->second.dir,
            it->second.distribution.name, it->second.distribution.version));
      }
      twice.push_back(fmt::format("{} {}", dist.name, dist.version));
    }
    if (!twice.empty()) {
      const size_t shown = std::min<size_t>(twice.size(), 5);
      r.warnings.push_back(fmt::format(
          "extra-deps `{}` repeats {} distribution(s) of the layers below it ({}{}): their files "
          "are in the image twice; install only what the dependencies lack there, or name the "
          "tree as the variant's `deps`",
          d->host_path, twice.size(), fmt::join(twice.begin(), twice.begin() + shown, ", "),
          shown < twice.size() ? ", ..." : ""));
    }
  }
  return Status::Ok();
}

Status KeepMountsOut(const ProjectInputs& in, ResolvedProject& r) {
  std::error_code ec;
  const auto project = std::filesystem::weakly_canonical(r.dir, ec);
  auto leave_out = [&](const std::string& mount, std::string_view why) -> Result<bool> {
    auto rel = Below(mount, project);
    if (!rel) return false;
    if (rel->empty()) return false;  // the project itself: refused by the caller
    OCIFS_RETURN_IF_ERROR(r.ignore.Add(LiteralPattern(rel->string()), why));
    return true;
  };
  if (!in.mountpoint.empty()) {
    if (auto rel = Below(project, in.mountpoint)) {
      return InvalidArgument(fmt::format(
          "project `{}` is {}the mountpoint `{}`: mount on an empty directory outside the "
          "project",
          r.dir, rel->empty() ? "" : "inside ", in.mountpoint));
    }
    std::vector<std::pair<std::string, const DepsSource*>> deps;
    if (r.deps) deps.emplace_back("dependencies", &*r.deps);
    for (const auto& [platform, d] : r.platform_deps) {
      deps.emplace_back(fmt::format("{} dependencies", platform), &d);
    }
    for (const DepsSource& d : r.extra_deps) deps.emplace_back("extra dependencies", &d);
    for (const auto& [what, d] : deps) {
      for (const std::string& dir : {d->host_path, d->venv_path}) {
        if (dir.empty()) continue;
        const auto real = std::filesystem::weakly_canonical(dir, ec);
        if (Below(real, in.mountpoint) || Below(in.mountpoint, real)) {
          return InvalidArgument(fmt::format(
              "the {} directory `{}` and the mountpoint `{}` overlap: mount on an empty "
              "directory outside the dependencies",
              what, dir, in.mountpoint));
        }
      }
    }
    OCIFS_ASSIGN_OR_RETURN(bool inside, leave_out(in.mountpoint, "the mountpoint"));
    (void)inside;
  }
  for (const auto& mount : in.other_mounts) {
    if (mount == in.mountpoint) continue;
    OCIFS_ASSIGN_OR_RETURN(bool inside, leave_out(mount, "a mount point"));
    if (inside) {
      r.warnings.push_back(
          fmt::format("left out `{}`: another file system is mounted there",
                      std::filesystem::path(mount).lexically_relative(project).string()));
    }
  }
  return Status::Ok();
}

}  // namespace

std::optional<std::vector<std::string>> ProcfileWebCommand(std::string_view procfile) {
  for (std::string_view line : SplitLines(procfile)) {
    line = TrimSpace(line);
    if (!line.starts_with("web:")) continue;
    const std::string command(TrimSpace(line.substr(4)));
    if (command.empty()) return std::nullopt;
    if (command.find_first_of("$'\"\\;&|<>()`*?~#{}") == std::string::npos)
      return SplitWords({command});
    const bool single = command.find_first_of(";&|") == std::string::npos;
    return std::vector<std::string>{"/bin/sh", "-c", single ? "exec " + command : command};
  }
  return std::nullopt;
}

std::optional<std::string> LoopbackOnly(const std::vector<std::string>& argv,
                                        const KeyValues& env) {
  // The words, a `sh -c` script's split on blanks, `--bind=X` as two.
  const std::vector<std::string> words = SplitWords(argv, " \t\n=");
  auto has = [&](std::initializer_list<std::string_view> any) {
    return std::any_of(words.begin(), words.end(), [&](const std::string& w) {
      return std::find(any.begin(), any.end(), w) != any.end();
    });
  };
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w.starts_with("127.") || w.starts_with("localhost") || w == "[::1]" || w == "::1") {
      return fmt::format(
          "`{}` binds `{}`: only the container itself can reach the server (bind "
          "0.0.0.0)",
          i > 0 ? words[i - 1] : w, w);
    }
  }
  auto server = [&](std::string_view name) {
    return std::any_of(words.begin(), words.end(), [&](const std::string& w) {
      return w == name || w.ends_with("/" + std::string(name));
    });
  };
  auto port_set =
      std::any_of(env.begin(), env.end(), [](const auto& kv) { return kv.first == "PORT"; });
  if (server("uvicorn") && !has({"--host", "--uds", "--fd"}))
    return std::string("uvicorn without --host listens on 127.0.0.1 only (add --host 0.0.0.0)");
  if (server("flask") && has({"run"}) && !has({"--host", "-h"}))
    return std::string("`flask run` without --host listens on 127.0.0.1 only (add --host 0.0.0.0)");
  if (has({"runserver"})) {
    auto it = std::find(words.begin(), words.end(), "runserver");
    if (it + 1 == words.end() || (*(it + 1)).starts_with('-') ||
        std::all_of((it + 1)->begin(), (it + 1)->end(), ::isdigit))
      return std::string(
          "`runserver` without an address listens on 127.0.0.1 only (add 0.0.0.0:8000)");
  }
  if (server("gunicorn") && !port_set && !has({"--bind", "-b", "-c", "--config"}))
    return std::string(
        "gunicorn without --bind (and no PORT) listens on 127.0.0.1:8000 only (add "
        "--bind 0.0.0.0:8000)");
  return std::nullopt;
}

SetupPy ReadSetupPy(std::string_view text) {
  namespace py = sdk::python;
  SetupPy out;
  const py::Module m(text);
  for (const auto& call : m.calls()) {
    if (call.callee != "setup" && call.callee != "setuptools.setup" &&
        call.callee != "distutils.core.setup")
      continue;
    for (const auto& [key, value] : m.Arguments(call)) {
      const bool text_value = value.type == py::Literal::Type::kString;
      if (key == "name" && text_value) out.name = value.text;
      if (key == "version" && text_value) out.version = value.text;
      if (key == "python_requires" && text_value) out.python_requires = value.text;
      if (key != "entry_points") continue;
      // {"console_scripts": ["app = app.cli:main", ...]}, or the same as INI text.
      if (const py::Literal* scripts = value.Get("console_scripts")) {
        for (const auto& item : scripts->items) {
          if (item.type != py::Literal::Type::kString) continue;
          if (auto script = ScriptLine(item.text)) out.scripts.push_back(*std::move(script));
        }
      } else if (text_value) {
        std::string_view section;
        for (std::string_view line : SplitLines(value.text)) {
          line = TrimSpace(line);
          if (line.starts_with('[')) section = line;
          if (section != "[console_scripts]" || line.starts_with('#')) continue;
          if (auto script = ScriptLine(line)) out.scripts.push_back(*std::move(script));
        }
      }
    }
    break;
  }
  return out;
}

Result<ResolvedProject> ResolveProject(const ProjectInputs& in) {
  ResolvedProject r;
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::absolute(in.project_dir, ec).lexically_normal();
  r.dir = dir.string();
  while (r.dir.size() > 1 && r.dir.back() == '/') r.dir.pop_back();
  if (!std::filesystem::exists(dir, ec))
    return NotFound(fmt::format("project directory `{}` does not exist", in.project_dir));
  if (!std::filesystem::is_directory(dir, ec)) {
    return InvalidArgument(fmt::format("project `{}` is not a directory", in.project_dir));
  }
  OCIFS_ASSIGN_OR_RETURN(std::shared_ptr<const Tree> tree, OpenPosixTree(r.dir));
  const std::shared_ptr<const Tree> repository_tree = tree;
  // A repository whose application sits in one folder: that folder is the project, the rest
  // (frontend/, docs/) stays out. Not when the user set the command: they know what runs.
  const std::string repository = r.dir;
  std::string app_folder;
  if (!in.flags.entrypoint && !in.flags.cmd) {
    OCIFS_ASSIGN_OR_RETURN(app_folder, ApplicationFolder(*tree, r.dir));
  }
  if (!app_folder.empty()) {
    r.dir += "/" + app_folder;
    dir /= app_folder;
    OCIFS_ASSIGN_OR_RETURN(tree, OpenPosixTree(r.dir));
    r.warnings.push_back(fmt::format(
        "`{}` holds no Python application at its top; packing its `{}/`, which does, and "
        "leaving out the rest (give `{}` as the project to say so yourself)",
        repository, app_folder, r.dir));
  }
  r.tree = std::move(tree);
  const Tree& t = *r.tree;

  // pyproject.toml and [tool.ocifs]
  const std::string pyproject_name = r.dir + "/pyproject.toml";
  if (auto st = t.Lstat("pyproject.toml"); st.ok()) {
    OCIFS_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(t, "pyproject.toml"));
    OCIFS_ASSIGN_OR_RETURN(r.pyproject, ParsePyProject(text, pyproject_name));
    AbsolutizeFileOptions(r.pyproject.tool, r.dir);
    for (Variant& v : r.pyproject.variants) AbsolutizeFileOptions(v.options, r.dir);
  }
  // Projects without [project] keep their metadata in [tool.poetry] (read with pyproject.toml),
  // setup.cfg's [metadata] or setup.py's setup() call (read, never run).
  std::string setup_cfg;
  if (auto cfg = ReadSmallFile(t, "setup.cfg", 1 << 20); cfg.ok()) setup_cfg = *std::move(cfg);
  SetupPy setup_py;
  if (auto text = ReadSmallFile(t, "setup.py", 1 << 20); text.ok()) setup_py = ReadSetupPy(*text);
  for (auto [field, key, from_setup_py] :
       {std::tuple{&r.pyproject.name, "name", &setup_py.name},
        std::tuple{&r.pyproject.version, "version", &setup_py.version}}) {
    const auto cfg_value = IniLines(setup_cfg, "metadata", key);
    // "attr: pkg.__version__" and "file: VERSION" need the package: left out.
    if (field->empty() && !cfg_value.empty() && cfg_value.front().find(':') == std::string::npos)
      *field = cfg_value.front();
    if (field->empty()) *field = *from_setup_py;
  }
  // A variant's settings override [tool.ocifs], and flags override both.
  const Variant* variant = nullptr;
  if (!in.variant.empty()) {
    std::vector<std::string> declared;
    for (const Variant& v : r.pyproject.variants) {
      if (v.name == in.variant) variant = &v;
      declared.push_back(v.name);
    }
    if (variant == nullptr) {
      return NotFound(fmt::format(
          "variant `{}` is not declared in `{}` ([tool.ocifs.variants.{}]); declared: {}",
          in.variant, pyproject_name, in.variant,
          declared.empty() ? "none" : fmt::format("{}", fmt::join(declared, ", "))));
    }
    r.variant = variant->name;
    r.dependency_group = variant->dependency_group;
  }
  r.options = variant ? Merge(Merge(r.pyproject.tool, variant->options), in.flags)
                      : Merge(r.pyproject.tool, in.flags);
  if (variant) {
    // Its own tags, else the unnamed image's, each with `-NAME`.
    if (variant->options.tags) {
      r.options.tags = variant->options.tags;
    } else {
      std::vector<std::string> tags;
      for (const std::string& tag :
           Merge(r.pyproject.tool, in.flags).tags.value_or(std::vector<std::string>{"latest"}))
        tags.push_back(tag + "-" + variant->name);
      r.options.tags = std::move(tags);
    }
  }
  const ImageOptions& o = r.options;
  r.strict = o.strict.value_or(false);

  // Timestamps
  if (in.source_date_epoch && !in.source_date_epoch->empty()) {
    OCIFS_ASSIGN_OR_RETURN(r.epoch, ParseEpoch(*in.source_date_epoch));
  }

  // Tags, platform, workdir
  for (const auto& tag : o.tags.value_or(std::vector<std::string>{"latest"})) {
    OCIFS_RETURN_IF_ERROR(ValidateTag(tag));
    if (std::find(r.tags.begin(), r.tags.end(), tag) != r.tags.end()) {
      r.warnings.push_back(fmt::format("tag `{}` is given twice; index.json lists it once", tag));
      continue;
    }
    r.tags.push_back(tag);
  }
  if (r.tags.empty()) return InvalidArgument("at least one tag is needed");
  if (o.platform) {
    OCIFS_ASSIGN_OR_RETURN(r.platforms, ParsePlatforms(*o.platform));
  } else {
    r.platforms = {HostPlatform()};
  }
  r.platform = r.platforms.front();
  OCIFS_ASSIGN_OR_RETURN(r.workdir, CheckWorkdir(o.workdir.value_or("/app")));

  // Dependencies
  if (o.deps) {
    OCIFS_ASSIGN_OR_RETURN(r.deps, OpenDeps(*o.deps, r.dir));
  } else {
    // The application folder's own virtualenv, else the repository's.
    std::vector<std::filesystem::path> venvs;
    for (const std::filesystem::path& top : {dir, std::filesystem::path(repository)}) {
      for (const char* name : {".venv", "venv"}) venvs.push_back(top / name);
    }
    for (const std::filesystem::path& venv : venvs) {
      const std::string name = venv.lexically_relative(dir).string();
      if (std::filesystem::is_directory(venv, ec) && !std::filesystem::is_symlink(venv, ec) &&
          std::filesystem::exists(venv / "pyvenv.cfg", ec)) {
        auto deps = OpenDeps(venv.string(), r.dir);
        if (!deps.ok())
          return deps.status().WithContext(fmt::format("the project's virtualenv `{}`", name));
        r.deps = std::move(deps).value();
        break;
      }
    }
  }

  for (const auto& [name, dir_of_platform] : o.platform_deps) {
    auto platform = ParsePlatform(name);
    if (!platform.ok() ||
        std::find(r.platforms.begin(), r.platforms.end(), *platform) == r.platforms.end()) {
      std::vector<std::string> names;
      for (const auto& p : r.platforms) names.push_back(p.str());
      return InvalidArgument(
          fmt::format("deps `{}={}`: `{}` is not a platform of the image (--platform: {})", name,
                      dir_of_platform, name, fmt::join(names, ",")));
    }
    auto deps = OpenDeps(dir_of_platform, r.dir);
    if (!deps.ok()) return deps.status().WithContext(fmt::format("deps for {}", name));
    r.platform_deps.emplace(platform->str(), std::move(deps).value());
  }

  for (const std::string& extra : o.extra_deps.value_or(std::vector<std::string>{})) {
    auto deps = OpenDeps(extra, r.dir);
    if (!deps.ok()) return deps.status().WithContext("extra-deps");
    r.extra_deps.push_back(std::move(deps).value());
  }

  // Python version
  static const std::regex kMinor(R"(3\.\d{1,2})");
  if (o.python) {
    if (!std::regex_match(*o.python, kMinor)) {
      return InvalidArgument(
          fmt::format("python `{}`: want a CPython minor version such as 3.12", *o.python));
    }
    r.python = *o.python;
    r.python_reason = "the python setting";
  } else if (r.deps && !r.deps->python.empty()) {
    r.python = r.deps->python;
    r.python_reason =
        fmt::format("the dependencies in `{}`",
                    r.deps->venv_path.empty() ? r.deps->host_path : r.deps->venv_path);
  } else if (t.Lstat(".python-version").ok()) {
    // The interpreter the developers run (pyenv, uv): a choice within requires-python, which
    // is checked below.
    OCIFS_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(t, ".python-version", 1 << 16));
    OCIFS_ASSIGN_OR_RETURN(r.python, PythonMinorFromPin(text, r.dir + "/.python-version"));
    r.python_reason = "`.python-version`";
  } else {
    // A range, from the first place the project declares one; the newest known minor in it.
    std::string spec_text, from;
    if (!r.pyproject.requires_python.empty()) {
      spec_text = r.pyproject.requires_python;
      from = fmt::format("{}: requires-python", pyproject_name);
    } else if (!r.pyproject.poetry_python.empty()) {
      auto converted = PoetryPythonSpecifier(r.pyproject.poetry_python);
      if (!converted.ok()) return converted.status().WithContext(pyproject_name);
      spec_text = *converted;
      from = fmt::format("{}: [tool.poetry.dependencies] python `{}`", pyproject_name,
                         r.pyproject.poetry_python);
    } else if (auto cfg = IniLines(setup_cfg, "options", "python_requires"); !cfg.empty()) {
      spec_text = fmt::format("{}", fmt::join(cfg, " "));
      from = fmt::format("{}/setup.cfg: [options] python_requires", r.dir);
    } else if (!setup_py.python_requires.empty()) {
      spec_text = setup_py.python_requires;
      from = fmt::format("{}/setup.py: python_requires", r.dir);
    }
    if (!spec_text.empty()) {
      auto spec = SpecifierSet::Parse(spec_text);
      if (!spec.ok()) return spec.status().WithContext(from);
      auto minor = NewestPythonMinor(*spec);
      if (!minor.ok()) return minor.status().WithContext(from);
      r.python = *minor;
      r.python_reason = fmt::format("`{}` in {}", spec_text, from);
    } else if (t.Lstat("runtime.txt").ok()) {
      OCIFS_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(t, "runtime.txt", 1 << 16));
      OCIFS_ASSIGN_OR_RETURN(r.python, PythonMinorFromPin(text, r.dir + "/runtime.txt"));
      r.python_reason = "`runtime.txt`";
    } else if (auto pin = PipfilePython(t, r.dir); !pin.ok() || !pin->empty()) {
      if (!pin.ok()) return pin.status();
      OCIFS_ASSIGN_OR_RETURN(r.python, PythonMinorFromPin(*pin, r.dir + "/Pipfile"));
      r.python_reason = "`Pipfile` [requires]";
    } else {
      r.python = std::string(NewestPython().minor);
      r.python_reason = "the newest CPython ocifs knows (no requires-python)";
    }
  }
  if (FindPython(r.python) == nullptr) {
    r.warnings.push_back(fmt::format(
        "Python {} ({}) is not one ocifs knows ({} to {}): its default base `python:{}-slim` may "
        "not exist; name a base with --base",
        r.python, r.python_reason, KnownPythons().front().minor, NewestPython().minor, r.python));
  }
  if (r.deps && !r.deps->python.empty() && r.deps->python != r.python) {
    return InvalidArgument(
        fmt::format("the dependencies in `{}` are for Python {}, but the image uses Python {} ({})",
                    r.deps->venv_path.empty() ? r.deps->host_path : r.deps->venv_path,
                    r.deps->python, r.python, r.python_reason));
  }
  for (const auto& [platform, deps] : r.platform_deps) {
    if (!deps.python.empty() && deps.python != r.python) {
      return InvalidArgument(fmt::format(
          "the {} dependencies in `{}` are for Python {}, but the image uses Python {} ({})",
          platform, deps.venv_path.empty() ? deps.host_path : deps.venv_path, deps.python, r.python,
          r.python_reason));
    }
  }
  for (const DepsSource& extra : r.extra_deps) {
    if (!extra.python.empty() && extra.python != r.python) {
      return InvalidArgument(fmt::format(
          "the extra dependencies in `{}` are for Python {}, but the image uses Python {} ({})",
          extra.venv_path.empty() ? extra.host_path : extra.venv_path, extra.python, r.python,
          r.python_reason));
    }
  }
  OCIFS_RETURN_IF_ERROR(CheckExtraDistributions(r));
  if (!r.pyproject.requires_python.empty()) {
    auto spec = SpecifierSet::Parse(r.pyproject.requires_python);
    if (!spec.ok())
      return spec.status().WithContext(fmt::format("{}: requires-python", pyproject_name));
    auto v = Version::Parse(r.python);
    bool any = false;
    for (int patch = 0; v.ok() && patch < 100 && !any; ++patch) {
      any = spec->Contains(*Version::Parse(fmt::format("{}.{}", r.python, patch)));
    }
    if (!any) {
      std::string msg =
          fmt::format("Python {} ({}) does not satisfy requires-python `{}` in {}", r.python,
                      r.python_reason, r.pyproject.requires_python, pyproject_name);
      if (r.strict) return InvalidArgument(msg + " (an error with --strict)");
      r.warnings.push_back(msg);
    }
  }
  r.base = o.base.value_or(fmt::format("python:{}-slim", r.python));
  for (const auto& text : o.registry_mirrors) {
    OCIFS_ASSIGN_OR_RETURN(RegistryMirror m, ParseRegistryMirror(text));
    if (std::find(r.registry_mirrors.begin(), r.registry_mirrors.end(), m) ==
        r.registry_mirrors.end())
      r.registry_mirrors.push_back(std::move(m));
  }

  // Files: ignore rules in order of rising priority.
  for (const auto& p : DefaultIgnorePatterns())
    OCIFS_RETURN_IF_ERROR(r.ignore.Add(p, "the default ignore list"));
  if (std::filesystem::is_directory(dir / "venv", ec) &&
      std::filesystem::exists(dir / "venv" / "pyvenv.cfg", ec)) {
    OCIFS_RETURN_IF_ERROR(r.ignore.Add("venv", "the default ignore list"));
  }
  bool own_ignore_file = false;
  for (const char* name : {".dockerignore", ".ocifsignore"}) {
    if (!t.Lstat(name).ok()) continue;
    own_ignore_file = true;
    OCIFS_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(t, name));
    OCIFS_RETURN_IF_ERROR(r.ignore.AddFile(text, fmt::format("`{}/{}`", r.dir, name)));
  }
  // Without an ignore file of its own, a project is packed as git sees it: every .gitignore,
  // nested ones too, read in the directories the walk would pack; in an application folder,
  // the repository's top .gitignore too.
  if (!own_ignore_file && !app_folder.empty()) {
    if (auto text = ReadSmallFile(*repository_tree, ".gitignore"); text.ok()) {
      for (const auto& p : PatternsInside(GitignorePatterns(*text, ""), app_folder))
        OCIFS_RETURN_IF_ERROR(r.ignore.Add(p, fmt::format("`{}/.gitignore`", repository)));
    }
  }
  if (!own_ignore_file) OCIFS_RETURN_IF_ERROR(AddGitignores(t, r.dir, "", r.ignore));
  for (const auto& p : o.exclude) OCIFS_RETURN_IF_ERROR(r.ignore.Add(p, "exclude"));
  for (const auto& p : o.include) {
    if (p.empty() || p[0] == '!') {
      return InvalidArgument(fmt::format("include `{}`: want a pattern of what to ship", p));
    }
    OCIFS_RETURN_IF_ERROR(r.ignore.Add("!" + p, "include"));
  }
  if (r.deps && !r.deps->excluded_from_app.empty()) {
    OCIFS_RETURN_IF_ERROR(
        r.ignore.Add("/" + r.deps->excluded_from_app, "the dependencies directory"));
  }
  for (const auto& [platform, deps] : r.platform_deps) {
    if (deps.excluded_from_app.empty()) continue;
    OCIFS_RETURN_IF_ERROR(r.ignore.Add("/" + deps.excluded_from_app,
                                       fmt::format("the {} dependencies directory", platform)));
  }
  for (const DepsSource& extra : r.extra_deps) {
    if (extra.excluded_from_app.empty()) continue;
    OCIFS_RETURN_IF_ERROR(
        r.ignore.Add("/" + extra.excluded_from_app, "an extra dependencies directory"));
  }
  OCIFS_RETURN_IF_ERROR(KeepMountsOut(in, r));

  // Entrypoint
  std::vector<std::string> pythonpath;
  std::string procfile;
  if (auto st = t.Lstat("Procfile"); st.ok() && st->type == FileType::kRegular) {
    OCIFS_ASSIGN_OR_RETURN(procfile, ReadSmallFile(t, "Procfile", 1 << 20));
  }
  if (o.entrypoint || o.cmd) {
    r.entrypoint = o.entrypoint;
    r.cmd = o.cmd;
    r.entrypoint_reason = "the entrypoint/cmd settings";
  } else if (auto web = procfile.empty() ? std::nullopt : ProcfileWebCommand(procfile)) {
    // How the project says its server starts in production (Heroku and its kind).
    r.entrypoint = std::move(web);
    r.entrypoint_stated = true;
    r.entrypoint_reason = "the Procfile's `web:` line";
    if (const DeclaredScripts also = FindDeclaredScripts(r.dir, r.pyproject, setup_cfg, setup_py);
        !also.scripts.empty()) {
      r.entrypoint_reason += fmt::format(
          " (it says how the server starts; {} declares command-line scripts, not the server)",
          also.table);
    }
  } else if (const DeclaredScripts declared =
                 FindDeclaredScripts(r.dir, r.pyproject, setup_cfg, setup_py);
             !declared.scripts.empty()) {
    // Console scripts where projects declare them: the first place that has some wins.
    const auto& scripts = declared.scripts;
    const std::string project_name =
        !r.pyproject.name.empty() ? r.pyproject.name : declared.name_hint;
    auto chosen = std::find_if(scripts.begin(), scripts.end(), [&](const auto& s) {
      return NormalizeName(s.first) == NormalizeName(project_name);
    });
    if (chosen == scripts.end()) {
      chosen = scripts.begin();
      if (scripts.size() > 1) {
        std::string msg = fmt::format(
            "{} has {} {} and none is named like the project; using the first, `{}` (set "
            "entrypoint to choose)",
            declared.file, scripts.size(), declared.table, chosen->first);
        if (r.strict) return InvalidArgument(msg + " (an error with --strict)");
        r.warnings.push_back(msg);
      }
    }
    auto cmd = ScriptCommand(chosen->first, chosen->second);
    if (!cmd.ok()) return cmd.status().WithContext(declared.file);
    r.entrypoint = std::move(cmd).value();
    r.entrypoint_reason =
        fmt::format("{} `{}` = `{}`", declared.table, chosen->first, chosen->second);
    if (!declared.also.empty()) {
      r.entrypoint_reason += fmt::format(" ({} also declares scripts; the first place wins)",
                                         fmt::join(declared.also, " and "));
    }
    // A src layout: the script's top-level package lives under src/.
    std::string module = chosen->second.substr(0, chosen->second.find(':'));
    std::string top = module.substr(0, module.find('.'));
    top.erase(std::remove_if(top.begin(), top.end(), ::isspace), top.end());
    if (!t.Lstat(top).ok() && !t.Lstat(top + ".py").ok() &&
        (t.Lstat("src/" + top).ok() || t.Lstat("src/" + top + ".py").ok())) {
      pythonpath.push_back(r.workdir + "/src");
    }
  } else {
    for (const char* main : {"main.py", "app.py", "__main__.py"}) {
      auto st = t.Lstat(main);
      if (!st.ok() || st->type != FileType::kRegular) continue;
      r.entrypoint = std::string(main) == "__main__.py"
                         ? std::vector<std::string>{"python3", r.workdir}
                         : std::vector<std::string>{"python3", r.workdir + "/" + main};
      r.entrypoint_reason = fmt::format("the top-level `{}`", main);
      break;
    }
    // A package that runs as `python -m PKG` (its __main__.py), when it is the only one.
    std::vector<std::string> runnable;  // "pkg" or "src/pkg"
    if (!r.entrypoint) runnable = RunnablePackages(t, r.ignore);
    if (runnable.size() == 1) {
      const std::string& found = runnable.front();
      const bool in_src = found.starts_with("src/");
      const std::string package = in_src ? found.substr(4) : found;
      r.entrypoint = std::vector<std::string>{"python3", "-m", package};
      r.entrypoint_reason =
          fmt::format("`{}/__main__.py`, the only package that runs with python -m", found);
      if (in_src) pythonpath.push_back(r.workdir + "/src");
    }
    // A top-level script (bot.py, run.py): the only module with a `__main__` block.
    std::vector<std::string> scripts;
    if (!r.entrypoint && runnable.empty()) scripts = ScriptModules(t, r.ignore);
    if (scripts.size() == 1) {
      r.entrypoint = std::vector<std::string>{"python3", r.workdir + "/" + scripts.front()};
      r.entrypoint_reason = fmt::format(
          "`{}`, the only top-level module with an `if __name__ == \"__main__\":` block",
          scripts.front());
    }
    if (!r.entrypoint) {
      std::string several;
      if (runnable.size() > 1) {
        several = fmt::format(
            "; several packages have one: `{}`, so name one with --entrypoint 'python3 -m {}'",
            fmt::join(runnable, "`, `"),
            runnable.front().starts_with("src/") ? runnable.front().substr(4) : runnable.front());
      } else if (scripts.size() > 1) {
        several = fmt::format(
            "; several top-level modules run as scripts: `{}`, so name one with --entrypoint "
            "'python3 /app/{}'",
            fmt::join(scripts, "`, `"), scripts.front());
      }
      r.missing_entrypoint = fmt::format(
          "project `{}`: no entrypoint found (looked for a Procfile `web:` line, "
          "[project.scripts], [tool.poetry.scripts], setup.cfg and setup.py console_scripts, a "
          "top-level main.py, app.py or __main__.py, a package with __main__.py, and a top-level "
          "module with an `if __name__ == \"__main__\":` block{}): add [project.scripts] to "
          "pyproject.toml, or set entrypoint (--entrypoint or [tool.ocifs])",
          r.dir, several);
      // A detect plugin may still find the command (ApplyPlugins checks again after it).
      if (!in.plugins_may_detect) return InvalidArgument(r.missing_entrypoint);
    }
  }
  // A src layout's packages are importable whatever runs them (a command of the user's, a
  // variant's test runner), not only a console script found there.
  if (std::find(pythonpath.begin(), pythonpath.end(), r.workdir + "/src") == pythonpath.end()) {
    if (auto src = t.ReadDir("src"); src.ok()) {
      const bool has_package = std::any_of(src->begin(), src->end(), [&](const DirEntry& e) {
        return e.info.type == FileType::kDirectory &&
               t.Lstat("src/" + e.name + "/__init__.py").ok() && !t.Lstat(e.name).ok() &&
               !r.ignore.Excluded("src/" + e.name);
      });
      if (has_package) pythonpath.push_back(r.workdir + "/src");
    }
  }
  pythonpath.push_back(r.workdir);
  if (r.deps || !r.extra_deps.empty()) {
    pythonpath.push_back(fmt::format("/{}/lib/python{}/site-packages", kDepsPrefix, r.python));
    r.path_prepend.push_back(fmt::format("/{}/bin", kDepsPrefix));
  }

  // Env: ocifs's defaults, then the user's (which win key by key).
  SetKeyValue(r.env, "PYTHONDONTWRITEBYTECODE", "1");
  SetKeyValue(r.env, "PYTHONUNBUFFERED", "1");
  // Where tempfile writes: the /tmp volume (image.h), also under a runtime that sets TMPDIR.
  SetKeyValue(r.env, "TMPDIR", "/tmp");
  std::string pp;
  for (const auto& p : pythonpath) pp += (pp.empty() ? "" : ":") + p;
  SetKeyValue(r.env, "PYTHONPATH", pp);
  // A Procfile's server listens on $PORT, as on the platforms that run Procfiles.
  if (r.entrypoint_stated) SetKeyValue(r.env, "PORT", "8000");
  for (const auto& [k, v] : o.env) SetKeyValue(r.env, k, v);

  // Labels: detected from [project], then the user's.
  if (!r.pyproject.name.empty())
    SetKeyValue(r.labels, "org.opencontainers.image.title", r.pyproject.name);
  if (!r.pyproject.version.empty())
    SetKeyValue(r.labels, "org.opencontainers.image.version", r.pyproject.version);
  if (!r.pyproject.description.empty()) {
    SetKeyValue(r.labels, "org.opencontainers.image.description", r.pyproject.description);
  }
  if (!r.pyproject.license.empty() && r.pyproject.license.size() < 100) {
    SetKeyValue(r.labels, "org.opencontainers.image.licenses", r.pyproject.license);
  }
  for (const auto& [k, v] : o.labels) SetKeyValue(r.labels, k, v);

  r.expose = o.expose;
  r.volumes = o.volumes;
  if (r.entrypoint_stated && r.expose.empty()) {
    for (const auto& [k, v] : r.env) {
      if (k == "PORT" && std::all_of(v.begin(), v.end(), ::isdigit) && !v.empty())
        r.expose.push_back(v + "/tcp");
    }
  }
  r.healthcheck = o.healthcheck;
  r.user = o.user;
  if (o.user) {
    if (o.user->empty()) return InvalidArgument("user: empty (want a name or UID[:GID])");
    if (auto owner = NumericUser(*o.user)) std::tie(r.file_uid, r.file_gid) = *owner;
  }
  if (!r.dependency_group.empty()) {
    const std::string what =
        fmt::format("variant `{}`: dependency-group `{}`", r.variant, r.dependency_group);
    OCIFS_ASSIGN_OR_RETURN(
        std::vector<std::string> requirements,
        DependencyGroupRequirements(r.pyproject, r.dependency_group, pyproject_name));
    std::vector<const Tree*> trees;
    std::vector<std::string> dirs;
    for (const DepsSource* d : DependencyTrees(r)) {
      trees.push_back(d->tree.get());
      dirs.push_back(d->host_path);
    }
    if (trees.empty()) {
      return InvalidArgument(fmt::format(
          "{}: the variant has no dependencies to check it against (no .venv, deps, extra-deps "
          "or --deps)",
          what));
    }
    OCIFS_RETURN_IF_ERROR(CheckRequirements(
        trees, requirements,
        fmt::format("{} of `{}`, in `{}`", what, pyproject_name, fmt::join(dirs, "` and `")),
        r.warnings));
  }
  return r;
}

Result<std::vector<std::string>> DependencyGroupRequirements(const PyProject& py,
                                                             std::string_view name,
                                                             std::string_view file) {
  std::vector<std::string> out;
  std::vector<std::string> stack;  // the groups being expanded, outermost first
  std::function<Status(const std::string&)> expand = [&](const std::string& group) -> Status {
    const std::string key = NormalizeName(group);
    auto it = py.dependency_groups.find(key);
    if (it == py.dependency_groups.end()) {
      std::vector<std::string> names;
      for (const auto& [n, _] : py.dependency_groups) names.push_back(n);
      return NotFound(fmt::format(
          "`{}` has no dependency group `{}` in [dependency-groups]{}", file, group,
          names.empty() ? std::string() : fmt::format(" (it has {})", fmt::join(names, ", "))));
    }
    if (std::find(stack.begin(), stack.end(), key) != stack.end()) {
      return InvalidArgument(fmt::format("`{}`: dependency group `{}` includes itself ({} -> {})",
                                         file, group, fmt::join(stack, " -> "), key));
    }
    stack.push_back(key);
    for (const DependencyGroupItem& item : it->second) {
      if (!item.include.empty()) {
        OCIFS_RETURN_IF_ERROR(expand(item.include));
      } else if (std::find(out.begin(), out.end(), item.requirement) == out.end()) {
        out.push_back(item.requirement);
      }
    }
    stack.pop_back();
    return Status::Ok();
  };
  OCIFS_RETURN_IF_ERROR(expand(std::string(name)));
  return out;
}

std::vector<const DepsSource*> DependencyTrees(const ResolvedProject& p) {
  std::vector<const DepsSource*> out;
  if (p.deps) out.push_back(&*p.deps);
  for (const DepsSource& extra : p.extra_deps) out.push_back(&extra);
  return out;
}

Result<std::map<std::string, InstalledDistribution>> InstalledDistributions(const Tree& deps) {
  std::map<std::string, InstalledDistribution> out;
  OCIFS_ASSIGN_OR_RETURN(std::vector<DirEntry> entries, deps.ReadDir(""));
  for (const DirEntry& e : entries) {
    for (std::string_view suffix : {".dist-info", ".egg-info"}) {
      if (!e.name.ends_with(suffix)) continue;
      const std::string stem = e.name.substr(0, e.name.size() - suffix.size());
      const size_t dash = stem.find('-');
      if (dash == std::string::npos) continue;
      std::string version = stem.substr(dash + 1);
      version = version.substr(0, version.find('-'));  // egg-info: NAME-VERSION-pyX.Y
      out[NormalizeName(stem.substr(0, dash))] = {stem.substr(0, dash), version, e.name};
    }
  }
  return out;
}

Status CheckRequirements(const std::vector<const Tree*>& trees,
                         const std::vector<std::string>& requirements, std::string_view what,
                         std::vector<std::string>& warnings) {
  // Installed distributions, a later tree's over an earlier one's (its layer is above).
  std::map<std::string, std::string> installed;  // normalized name -> version
  for (const Tree* tree : trees) {
    OCIFS_ASSIGN_OR_RETURN(auto distributions, InstalledDistributions(*tree));
    for (const auto& [name, d] : distributions) installed[name] = d.version;
  }
  static const std::regex kRequirement(
      R"(\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?\s*(?:\(([^)]*)\)|([^;@]*))\s*(?:;(.*))?)");
  std::vector<std::string> problems;
  for (const std::string& req : requirements) {
    std::smatch m;
    if (!std::regex_match(req, m, kRequirement)) {
      problems.push_back(fmt::format("`{}` is not a requirement ocifs can read", req));
      continue;
    }
    const std::string name = NormalizeName(m[1].str());
    std::string spec = m[2].matched ? m[2].str() : m[3].str();
    spec.erase(0, spec.find_first_not_of(" 	"));
    spec.erase(spec.find_last_not_of(" 	") + 1);
    const bool marker = m[4].matched && m[4].str().find_first_not_of(" 	") != std::string::npos;
    auto it = installed.find(name);
    std::string problem;
    if (it == installed.end()) {
      problem = fmt::format("`{}` is not installed", req);
    } else if (!spec.empty()) {
      auto set = SpecifierSet::Parse(spec);
      auto version = Version::Parse(it->second);
      if (!set.ok()) {
        problem = fmt::format("`{}`: {}", req, set.status().message());
      } else if (version.ok() && !set->Contains(*version)) {
        problem =
            fmt::format("`{}` is not met by the installed {} {}", req, m[1].str(), it->second);
      }
    }
    if (problem.empty()) continue;
    if (marker) {
      warnings.push_back(
          fmt::format("{}: {} (its environment marker is not evaluated)", what, problem));
    } else {
      problems.push_back(std::move(problem));
    }
  }
  if (problems.empty()) return Status::Ok();
  return InvalidArgument(
      fmt::format("{} is not satisfied: {}; install the group there (e.g. "
                  "`uv sync --group NAME`, `pip install --group NAME`)",
                  what, fmt::join(problems, "; ")));
}

}  // namespace ocifs
