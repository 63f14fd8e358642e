// Project discovery: from a directory (and the user's options) to everything the image needs to
// know about the project, before any layer is planned.
//
// Detection fills what the user did not say, in this order of precedence (highest first):
// command-line flags > `[tool.ocifs]` > detection. Detection covers:
//   * Python version: a virtualenv's (pyvenv.cfg), else the newest CPython 3.9..3.13 that
//     `requires-python` admits, else 3.13;
//   * dependencies: `--deps DIR` (a virtualenv or a site-packages directory), else the project's
//     `.venv` or `venv` when it holds a pyvenv.cfg;
//   * entrypoint: `[project.scripts]` (the script named like the project, else the first, with a
//     warning), else a top-level `main.py`, `app.py` or `__main__.py`;
//   * the files: everything under the root minus the default ignores, `.dockerignore`,
//     `.ocifsignore` and `--exclude`.
//
// Thread safety: ResolveProject is a pure function of its inputs and the tree.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/oci/platform.h"
#include "core/oci/reference.h"
#include "core/python/options.h"
#include "core/support/ignore.h"
#include "core/support/status.h"
#include "core/support/tree.h"
#include "ocifs/python_names.hpp"

namespace ocifs {

// The default mtime of every entry and the `created` time: 1970-01-01T00:00:00Z, used when
// SOURCE_DATE_EPOCH is not set.
inline constexpr int64_t kDefaultEpoch = 0;
// The user the image runs as when neither the base nor the user names one (distroless' nonroot).
inline constexpr const char* kDefaultUser = "65532:65532";
inline constexpr uint32_t kDefaultUid = 65532;
// HOME of kDefaultUser (distroless' too): a directory of that user's in the application layer,
// and a volume (image.h).
inline constexpr const char* kDefaultHome = "/home/nonroot";
// Where the dependencies layer puts its virtualenv-like prefix.
inline constexpr const char* kDepsPrefix = "opt/venv";

// One item of a PEP 735 dependency group: a requirement, or `{include-group = "NAME"}`.
struct DependencyGroupItem {
  std::string requirement;  // "pytest>=8"; empty for an include
  std::string include;      // the included group's name; empty for a requirement
};

struct PyProject {
  bool present = false;  // pyproject.toml exists
  std::string name, version, requires_python, description, license;
  std::string poetry_python;  // [tool.poetry.dependencies] python, Poetry's syntax ("^3.10")
  std::vector<std::pair<std::string, std::string>> poetry_scripts;  // [tool.poetry.scripts]
  std::vector<std::pair<std::string, std::string>> scripts;  // [project.scripts] in file order
  ImageOptions tool;                                         // [tool.ocifs]
  std::vector<Variant> variants;                             // [tool.ocifs.variants.NAME]
  // [dependency-groups] (PEP 735), by normalized group name.
  std::map<std::string, std::vector<DependencyGroupItem>> dependency_groups;
};

// A Procfile's `web:` command as exec words: split on blanks when it is a plain command, else
// run by /bin/sh (`exec`ed when it is a single command, so the server gets the signals);
// nullopt when the Procfile has no `web:` line.
std::optional<std::vector<std::string>> ProcfileWebCommand(std::string_view procfile);

// Why `argv` (an entrypoint followed by its cmd) would serve only inside the container (a bind
// to 127.0.0.1 or localhost, or a server left on its loopback default); nullopt when it would
// not, or when it cannot be told. `env` is the image's (gunicorn binds 0.0.0.0 when PORT is set).
std::optional<std::string> LoopbackOnly(const std::vector<std::string>& argv, const KeyValues& env);

// Parses pyproject.toml text. `file` names it in messages ("file:line:col: ...").
Result<PyProject> ParsePyProject(std::string_view text, std::string_view file);

// What a setup.py declares in its setup() call, read statically (the file is never run): the
// literal arguments, and names bound to literals at module level. Fields stay empty where the
// file says nothing that can be read without running it.
struct SetupPy {
  std::string name, version, python_requires;
  std::vector<std::pair<std::string, std::string>> scripts;  // console_scripts, in file order
};
SetupPy ReadSetupPy(std::string_view text);

struct DepsSource {
  std::string host_path;          // the site-packages directory on the host
  std::string venv_path;          // the virtualenv root, when it is one
  std::string python;             // "3.11" when known
  std::string excluded_from_app;  // the venv's path relative to the project, when inside it
  std::shared_ptr<const Tree> tree;
};

struct ResolvedProject {
  // The variant this is (`[tool.ocifs.variants.NAME]`); empty: the unnamed image.
  std::string variant;
  std::string dependency_group;  // the variant's, when it names one
  std::string dir;               // absolute project directory
  std::shared_ptr<const Tree> tree;
  PyProject pyproject;
  ImageOptions options;       // the merged user options (file < flags)
  std::string python;         // "3.11"
  std::string python_reason;  // why: "--python", "virtualenv `.venv`", ...
  std::optional<DepsSource> deps;
  std::vector<std::string> tags;  // at least one
  std::string base;               // "scratch", "oci:/abs/path[:tag]", or a registry reference
  std::vector<RegistryMirror> registry_mirrors;  // tried before the base's registry, in order
  // The platform this project view is for: platforms[0], or another one after ForPlatform().
  Platform platform;
  std::vector<Platform> platforms;  // every platform of the image (`--platform a,b`), at least one
  // `--deps PLATFORM=DIR`: a platform's own dependencies, by Platform::str(); the others use
  // `deps`. ForPlatform() makes the platform's the view's `deps`.
  std::map<std::string, DepsSource> platform_deps;
  // `extra-deps`: more dependency trees, each a layer above `deps` in this order (image.h).
  std::vector<DepsSource> extra_deps;
  std::string workdir;                                 // absolute, e.g. "/app"
  std::optional<std::vector<std::string>> entrypoint;  // unset: keep the base's
  std::optional<std::vector<std::string>> cmd;  // unset: keep the base's (unless entrypoint set)
  std::string entrypoint_reason;
  // The project states its start command itself (a Procfile's `web:`): plugins' commands do not
  // replace it (their port and health check still apply).
  bool entrypoint_stated = false;
  // Set when neither the settings nor ocifs's own detection found a command: the error, should
  // the plugins not find one either.
  std::string missing_entrypoint;
  KeyValues env;  // the image's own Env (the base's comes first at assembly)
  std::vector<std::string> path_prepend;  // directories put in front of the base's PATH
  KeyValues labels;
  std::vector<std::string> expose;
  std::vector<std::string> volumes;        // the user's (`volume`); image.h adds /tmp and HOME
  std::optional<Healthcheck> healthcheck;  // unset: the base's; empty test: disabled
  std::optional<std::string> user;         // unset: the base's, else kDefaultUser
  uint32_t file_uid = 0, file_gid = 0;     // owner of packed files
  IgnoreRules ignore;
  bool strict = false;
  int64_t epoch = kDefaultEpoch;
  std::vector<std::string> warnings;
};

struct ProjectInputs {
  std::string project_dir;  // as given; made absolute
  // The variant to resolve (a name of `[tool.ocifs.variants]`, an error when it names none);
  // empty: the unnamed image.
  std::string variant;
  // `--variant`: the variants a plan holds, kDefaultVariant for the unnamed image; nullopt: the
  // unnamed image and every declared variant (the pipeline's; ResolveProject ignores it).
  std::optional<std::vector<std::string>> variants;
  ImageOptions flags;                            // from the command line, paths already absolute
  std::optional<std::string> source_date_epoch;  // the SOURCE_DATE_EPOCH variable, if set
  // A detect plugin is loaded and may still give the command: a project without one is not an
  // error here (ResolvedProject::missing_entrypoint says why; the pipeline checks after plugins).
  bool plugins_may_detect = false;
  // A mount's mountpoint (absolute, canonical), else empty. The project and the dependencies may
  // not be at or below it, nor may it be inside the dependencies; inside the project it is left
  // out of the application layer (and so of the watch), whatever the ignore rules say.
  std::string mountpoint;
  // Other mount points (absolute, canonical) to leave out of the application layer when they
  // are inside the project, each with a warning: another file system's files are not the
  // project's.
  std::vector<std::string> other_mounts;
};

Result<ResolvedProject> ResolveProject(const ProjectInputs& in);

// The view of `p` for one of its platforms: `platform` set, and `deps` that platform's own
// dependencies when it has some. REQUIRES: `platform` is one of p.platforms.
ResolvedProject ForPlatform(const ResolvedProject& p, const Platform& platform);

// The requirements of dependency group `name` of `py`, its includes expanded (each group once);
// an unknown group, or one that includes itself, is an error naming pyproject.toml.
Result<std::vector<std::string>> DependencyGroupRequirements(const PyProject& py,
                                                             std::string_view name,
                                                             std::string_view file);

// The dependency trees of `p`, bottom layer first: `deps`, then each of `extra_deps`.
std::vector<const DepsSource*> DependencyTrees(const ResolvedProject& p);

// A distribution installed in a site-packages directory.
struct InstalledDistribution {
  std::string name;     // as its directory spells it
  std::string version;  // "8.1.3"
  std::string entry;    // "click-8.1.3.dist-info"
};
// The distributions at the top of site-packages `deps` (`NAME-VERSION.dist-info`, `.egg-info`),
// by normalized name.
Result<std::map<std::string, InstalledDistribution>> InstalledDistributions(const Tree& deps);

// Whether the dependency trees `trees` (site-packages directories, bottom layer first) satisfy
// `requirements` (PEP 508): each names a distribution installed there (a later tree's shadows an
// earlier one's) whose version its specifier admits. The error lists every requirement missing
// or of another version. A requirement with an environment marker (`; python_version < "3.12"`)
// is not evaluated: when it is missing it goes in `warnings`.
Status CheckRequirements(const std::vector<const Tree*>& trees,
                         const std::vector<std::string>& requirements, std::string_view what,
                         std::vector<std::string>& warnings);

// Exposed for tests: the command that runs a `[project.scripts]` target.
Result<std::vector<std::string>> ScriptCommand(std::string_view script_name,
                                               std::string_view target);
// The default ignore patterns, in order: version control, virtualenvs, caches, editors, coverage
// output, and the secret patterns.
const std::vector<std::string>& DefaultIgnorePatterns();
// What looks like a secret (`.env*`, private keys, `.netrc`, ...): left out by default, and
// named in a warning when left out (`include` ships one on purpose).
const std::vector<std::string>& SecretPatterns();
const IgnoreRules& SecretRules();
// A .gitignore of the directory `dir` (relative to the project, "" for its root) as .dockerignore
// patterns: unanchored names match at any depth below `dir`, anchored ones from `dir`.
std::vector<std::string> GitignorePatterns(std::string_view text, std::string_view dir);
// PEP 503 name normalization: lower case, runs of -_. become one '-' (the SDK's rule, which
// plugins share).
using sdk::python::NormalizeName;

}  // namespace ocifs
