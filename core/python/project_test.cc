#include "core/python/project.h"

#include <algorithm>
#include <filesystem>
#include <functional>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "core/support/test_util.h"

namespace ocifs {
namespace {

std::string Env(const ResolvedProject& r, const std::string& key) {
  for (const auto& [k, v] : r.env) {
    if (k == key) return v;
  }
  return "<unset>";
}

// A project directory with a pyproject.toml (when `pyproject` is not empty) and a src layout.
struct Project {
  TempDir dir;
  explicit Project(const std::string& pyproject) {
    if (!pyproject.empty()) dir.Write("pyproject.toml", pyproject);
    dir.Write("src/pkg/__init__.py", "");
    dir.Write("src/pkg/cli.py", "def main():\n    return 0\n");
  }
  Result<ResolvedProject> Resolve(ImageOptions flags = {},
                                  std::optional<std::string> epoch = std::nullopt) const {
    ProjectInputs in;
    in.project_dir = dir.path();
    in.flags = std::move(flags);
    in.source_date_epoch = std::move(epoch);
    return ResolveProject(in);
  }
};

void MakeVenv(const TempDir& dir, const std::string& name, const std::string& python) {
  dir.Write(name + "/pyvenv.cfg",
            "home = /usr/bin\ninclude-system-site-packages = false\nversion = " + python + ".4\n");
  dir.Write(name + "/lib/python" + python + "/site-packages/dep/__init__.py", "");
}

// Checks a resolved project's entrypoint: `entrypoint` with `says` in its reason, or, when
// `entrypoint` is empty, an error whose message holds `says`.
void ExpectEntrypoint(const std::string& name, const Result<ResolvedProject>& r,
                      const std::vector<std::string>& entrypoint, const std::string& says) {
  if (entrypoint.empty()) {
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_NE(r.status().message().find(says), std::string::npos)
        << name << ": " << r.status().message();
    return;
  }
  ASSERT_TRUE(r.ok()) << name << ": " << r.status().message();
  ASSERT_TRUE(r->entrypoint.has_value()) << name;
  EXPECT_EQ(*r->entrypoint, entrypoint) << name;
  EXPECT_NE(r->entrypoint_reason.find(says), std::string::npos) << r->entrypoint_reason;
}

TEST(ProjectTest, PyprojectErrorsNameFileLineColumn) {
  struct Case {
    std::string toml;
    std::string want;
  };
  const Case cases[] = {
      {"[project\nname = \"x\"", "pyproject.toml:1:"},
      {"[project]\nname = 5\n", "pyproject.toml:2:8: [project] `name`: want a string"},
      {"[project]\nname = \"x\"\nname = \"y\"\n", "pyproject.toml:3:"},
      {"[project.scripts]\ntool = 5\n", "pyproject.toml:2:8: [project.scripts] `tool`"},
      {"[project]\nscripts = \"x\"\n", "[project.scripts] must be a table"},
      {"[tool]\nocifs = 1\n", "[tool.ocifs] must be a table"},
      {"[tool.ocifs]\nbase = [1]\n", "pyproject.toml:2:8: [tool.ocifs] `base`: want a string"},
      {"[project]\nname = \"x\"\nlicense = 5\n",
       "pyproject.toml:3:11: [project] `license`: want an SPDX expression string"},
      {"[project]\nlicense = {text = \"MIT\", file = \"LICENSE\"}\n",
       "pyproject.toml:2:11: [project] `license`: want"},
      {"[project]\nurls = 1\n", "pyproject.toml:2:8: [project] `urls`: want a table of strings"},
      {"[project.urls]\nHomepage = 1\n", "[project] `urls`: want a table of strings"},
      {"[project]\ndependencies = \"flask\"\n",
       "[project] `dependencies`: want an array of strings"},
      {"[project.optional-dependencies]\ndev = [1]\n",
       "pyproject.toml:2:7: [project] `optional-dependencies.dev`: want an array of strings"},
      {"[project]\nauthors = [\"me\"]\n", "[project] `authors`: want an array of tables"},
      {"[tool.ocifs]\nuser = \":\"\n",
       "pyproject.toml:2:8: [tool.ocifs] `user`: `:`: a user or group is missing around `:`"},
      {"[tool.ocifs]\nuser = \"app user\"\n", "` ` cannot be in a user or group name"},
      {"[tool.ocifs]\nuser = \"1000:99999999999\"\n", "is larger than the largest id"},
  };
  for (const auto& c : cases) {
    Project p(c.toml);
    auto r = p.Resolve();
    ASSERT_FALSE(r.ok()) << c.toml;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find(p.dir.path()), std::string::npos)
        << "names the file: " << r.status().message();
  }
}

TEST(ProjectTest, ScriptsKeepFileOrder) {
  auto py = ParsePyProject("[project.scripts]\nzeta = \"a:b\"\nalpha = \"c:d\"\nmid = \"e:f\"\n",
                           "p.toml");
  ASSERT_TRUE(py.ok());
  ASSERT_EQ(py->scripts.size(), 3u);
  EXPECT_EQ(py->scripts[0].first, "zeta");
  EXPECT_EQ(py->scripts[1].first, "alpha");
  EXPECT_EQ(py->scripts[2].first, "mid");
}

TEST(ProjectTest, ScriptCommand) {
  using V = std::vector<std::string>;
  struct Case {
    std::string target;
    V command;  // empty = error
  };
  const Case cases[] = {
      {"pkg.cli:main",
       {"python3", "-c",
        "import sys; from pkg.cli import main; sys.argv[0] = 'tool'; sys.exit(main())"}},
      {"pkg.cli:App.run",
       {"python3", "-c",
        "import sys; from pkg.cli import App; sys.argv[0] = 'tool'; sys.exit(App.run())"}},
      {"pkg.cli : main [extra]",
       {"python3", "-c",
        "import sys; from pkg.cli import main; sys.argv[0] = 'tool'; sys.exit(main())"}},
      {"pkg.__main__", {"python3", "-m", "pkg.__main__"}},
      {"pkg.cli:", {}},
      {"pkg-cli:main", {}},
      {"pkg.cli:main()", {}},
      {"1pkg:main", {}},
  };
  for (const auto& c : cases) {
    auto got = ScriptCommand("tool", c.target);
    if (c.command.empty()) {
      EXPECT_FALSE(got.ok()) << c.target;
    } else {
      ASSERT_TRUE(got.ok()) << c.target << ": " << got.status().message();
      EXPECT_EQ(*got, c.command) << c.target;
    }
  }
}

TEST(ProjectTest, PythonVersion) {
  struct Case {
    std::string requires_python;
    std::string flag;
    std::string venv;  // python of a .venv, "" = none
    std::string want;  // "" = error
  };
  const Case cases[] = {
      {">=3.9,<3.12", "", "", "3.11"},
      {"~=3.10", "", "", "3.15"},
      {"!=3.15.*,>=3.10", "", "", "3.14"},
      {">=3.14", "", "", "3.15"},
      {"", "", "", "3.15"},
      {">=3.9,<3.12", "3.10", "", "3.10"},  // --python wins over requires-python
      {">=3.9", "", "3.10", "3.10"},        // a virtualenv's Python wins over requires-python
      {">=3.9", "3.12", "3.10", ""},        // a virtualenv that differs from --python is an error
      {">=3.16", "", "", ""},               // nothing satisfies
      {">=three", "", "", ""},
  };
  for (const auto& c : cases) {
    std::string toml = "[project]\nname = \"pkg\"\n";
    if (!c.requires_python.empty()) toml += "requires-python = \"" + c.requires_python + "\"\n";
    toml += "[project.scripts]\npkg = \"pkg.cli:main\"\n";
    Project p(toml);
    if (!c.venv.empty()) MakeVenv(p.dir, ".venv", c.venv);
    ImageOptions flags;
    if (!c.flag.empty()) flags.python = c.flag;
    auto r = p.Resolve(flags);
    std::string label = c.requires_python + " flag=" + c.flag + " venv=" + c.venv;
    if (c.want.empty()) {
      EXPECT_FALSE(r.ok()) << label;
      continue;
    }
    ASSERT_TRUE(r.ok()) << label << ": " << r.status().message();
    EXPECT_EQ(r->python, c.want) << label;
    EXPECT_EQ(r->base, "python:" + c.want + "-slim") << label;
  }
}

TEST(ProjectTest, PrecedenceFlagsOverFileOverDetection) {
  Project p(R"([project]
name = "pkg"
version = "1.2.3"
requires-python = ">=3.9"
[project.scripts]
pkg = "pkg.cli:main"
[tool.ocifs]
python = "3.10"
workdir = "/srv"
tag = ["from-file"]
env = { A = "file", B = "file" }
label = { "org.opencontainers.image.version" = "file" }
entrypoint = "python3 -m from_file"
)");
  // The file beats detection.
  auto r = p.Resolve();
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->python, "3.10");  // detection would say 3.13
  EXPECT_EQ(r->workdir, "/srv");
  EXPECT_EQ(r->tags, std::vector<std::string>{"from-file"});
  EXPECT_EQ(r->entrypoint, (std::vector<std::string>{"python3", "-m", "from_file"}));
  EXPECT_EQ(Env(*r, "A"), "file");
  bool version_label = false;
  for (const auto& [k, v] : r->labels) {
    if (k == "org.opencontainers.image.version")
      version_label = v == "file";  // detection said 1.2.3
  }
  EXPECT_TRUE(version_label);

  // Flags beat the file.
  ImageOptions flags;
  flags.python = "3.12";
  flags.tags = std::vector<std::string>{"from-flag"};
  flags.env = {{"B", "flag"}};
  flags.entrypoint = std::vector<std::string>{"python3", "-m", "from_flag"};
  r = p.Resolve(flags);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->python, "3.12");
  EXPECT_EQ(r->workdir, "/srv");
  EXPECT_EQ(r->tags, std::vector<std::string>{"from-flag"});
  EXPECT_EQ(r->entrypoint, (std::vector<std::string>{"python3", "-m", "from_flag"}));
  EXPECT_EQ(Env(*r, "A"), "file");
  EXPECT_EQ(Env(*r, "B"), "flag");
}

TEST(ProjectTest, Entrypoint) {
  struct Case {
    std::string what;
    std::string pyproject;
    std::vector<std::string> files;
    std::string want_prefix;  // start of the joined entrypoint; "" = error
    std::string pythonpath;
    size_t warnings;
  };
  const Case cases[] = {
      {"src layout script",
       "[project]\nname = \"pkg\"\n[project.scripts]\npkg = \"pkg.cli:main\"\n",
       {},
       "python3 -c import sys; from pkg.cli import main; sys.argv[0] = 'pkg'",
       "/app/src:/app",
       0},
      {"script named like the project",
       "[project]\nname = \"My_Tool\"\n[project.scripts]\nother = \"pkg.cli:main\"\nmy-tool = "
       "\"pkg.cli:run\"\n",
       {},
       "python3 -c import sys; from pkg.cli import run; sys.argv[0] = 'my-tool'",
       "/app/src:/app",
       0},
      {"several scripts: the first, with a warning",
       "[project]\nname = \"x\"\n[project.scripts]\nb = \"pkg.cli:main\"\na = \"pkg.cli:run\"\n",
       {},
       "python3 -c import sys; from pkg.cli import main; sys.argv[0] = 'b'",
       "/app/src:/app",
       1},
      {"module script",
       "[project]\nname = \"pkg\"\n[project.scripts]\npkg = \"pkg.cli\"\n",
       {},
       "python3 -m pkg.cli",
       "/app/src:/app",
       0},
      {"flat layout",
       "[project]\nname = \"flat\"\n[project.scripts]\nflat = \"flat.cli:main\"\n",
       {"flat/cli.py"},
       "python3 -c import sys; from flat.cli import main;",
       "/app/src:/app",  // the fixture's src/pkg is importable too, whatever runs
       0},
      {"main.py without pyproject",
       "",
       {"main.py", "app.py"},
       "python3 /app/main.py",
       "/app/src:/app",
       0},
      {"app.py",
       "[project]\nname = \"x\"\n",
       {"app.py"},
       "python3 /app/app.py",
       "/app/src:/app",
       0},
      {"__main__.py", "", {"__main__.py"}, "python3 /app", "/app/src:/app", 0},
      {"nothing to run", "[project]\nname = \"x\"\n", {}, "", "", 0},
  };
  for (const auto& c : cases) {
    Project p(c.pyproject);
    for (const auto& f : c.files) p.dir.Write(f, "print('hi')\n");
    auto r = p.Resolve();
    if (c.want_prefix.empty()) {
      ASSERT_FALSE(r.ok()) << c.what;
      EXPECT_NE(r.status().message().find("no entrypoint found"), std::string::npos)
          << r.status().message();
      continue;
    }
    ASSERT_TRUE(r.ok()) << c.what << ": " << r.status().message();
    ASSERT_TRUE(r->entrypoint.has_value()) << c.what;
    std::string joined;
    for (const auto& w : *r->entrypoint) joined += (joined.empty() ? "" : " ") + w;
    EXPECT_TRUE(joined.starts_with(c.want_prefix)) << c.what << ": " << joined;
    EXPECT_EQ(Env(*r, "PYTHONPATH"), c.pythonpath) << c.what;
    EXPECT_EQ(r->warnings.size(), c.warnings) << c.what;
  }
  // --strict turns the several-scripts warning into an error.
  Project p(
      "[project]\nname = \"x\"\n[project.scripts]\nb = \"pkg.cli:main\"\na = \"pkg.cli:run\"\n");
  ImageOptions strict;
  strict.strict = true;
  EXPECT_FALSE(p.Resolve(strict).ok());
}

// A src layout's packages are on PYTHONPATH whatever runs them; a src/ without one is not.
TEST(ProjectTest, SrcLayoutPackagesAreImportableUnderAnyCommand) {
  struct Case {
    std::string what;
    std::vector<std::string> files;
    std::string pythonpath;
  };
  const std::vector<Case> cases = {
      {"a package in src/", {"src/shop/__init__.py"}, "/app/src:/app"},
      {"no package in src/", {"src/notes.txt", "src/data/x.csv"}, "/app"},
      {"the package is at the top too", {"src/shop/__init__.py", "shop/__init__.py"}, "/app"},
  };
  for (const Case& c : cases) {
    TempDir d;
    d.Write("pyproject.toml", "[project]\nname = \"shop\"\n");
    for (const auto& f : c.files) d.Write(f, "");
    ProjectInputs in;
    in.project_dir = d.path();
    in.flags.cmd = std::vector<std::string>{"python3", "-m", "pytest"};
    auto r = ResolveProject(in);
    ASSERT_TRUE(r.ok()) << c.what << ": " << r.status().message();
    EXPECT_EQ(Env(*r, "PYTHONPATH"), c.pythonpath) << c.what;
  }
}

TEST(ProjectTest, VirtualenvBecomesDependencies) {
  Project p("[project]\nname = \"pkg\"\n[project.scripts]\npkg = \"pkg.cli:main\"\n");
  MakeVenv(p.dir, ".venv", "3.11");
  auto r = p.Resolve();
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(r->deps.has_value());
  EXPECT_EQ(r->deps->python, "3.11");
  EXPECT_EQ(r->python, "3.11");
  EXPECT_EQ(Env(*r, "PYTHONPATH"), "/app/src:/app:/opt/venv/lib/python3.11/site-packages");
  EXPECT_EQ(r->path_prepend, std::vector<std::string>{"/opt/venv/bin"});
  EXPECT_TRUE(r->ignore.Excluded(".venv/lib/python3.11/site-packages/dep/__init__.py"));
}

// A virtualenv for `python` with the distributions `dists` ("NAME-VERSION") installed.
void MakeVenvWith(const TempDir& dir, const std::string& name, const std::string& python,
                  const std::vector<std::string>& dists) {
  MakeVenv(dir, name, python);
  for (const std::string& d : dists)
    dir.Write(name + "/lib/python" + python + "/site-packages/" + d + ".dist-info/METADATA", "");
}

TEST(ProjectTest, ExtraDependencyTreesAreLayersAboveTheDependencies) {
  const std::string kProject =
      "[project]\nname = \"pkg\"\n[project.scripts]\npkg = \"pkg.cli:main\"\n";
  // Every case has `.venv` (Python 3.11, click 8.1.7), `.venv-dev` and `tools/site-packages`
  // (ruff 0.6.0).
  struct Case {
    std::string name;
    std::string tool;  // [tool.ocifs] and variants
    std::string variant;
    std::string error;    // empty: resolves
    std::string warning;  // a warning that must be there
    size_t extra_trees = 0;
    std::vector<std::string> dev = {"pytest-8.3.2"};  // installed in .venv-dev
    std::string dev_python = "3.11";
  };
  const std::string kDev = "[tool.ocifs]\nextra-deps = [\".venv-dev\"]\n";
  const std::vector<Case> cases = {
      {"a dev virtualenv in the project", kDev, "", "", "", 1},
      {"two trees, in order",
       "[tool.ocifs]\nextra-deps = [\".venv-dev\", \"tools/site-packages\"]\n", "", "", "", 2},
      {"a variant's list replaces [tool.ocifs]'s",
       kDev + "[tool.ocifs.variants.lint]\nextra-deps = [\"tools/site-packages\"]\n", "lint", "",
       "", 1},
      {"a variant's empty list: none", kDev + "[tool.ocifs.variants.prod]\nextra-deps = []\n",
       "prod", "", "", 0},
      {"another Python",
       kDev,
       "",
       "/.venv-dev` are for Python 3.12, but the image uses Python 3.11",
       "",
       0,
       {"pytest-8.3.2"},
       "3.12"},
      {"one distribution in two versions",
       kDev,
       "",
       "has click 8.0.0 (click-8.0.0.dist-info), and `",
       "",
       0,
       {"pytest-8.3.2", "click-8.0.0"}},
      {"the same version twice is a warning",
       kDev,
       "",
       "",
       "repeats 1 distribution(s) of the layers below it (click 8.1.7)",
       1,
       {"pytest-8.3.2", "click-8.1.7"}},
      {"a directory that is not there", "[tool.ocifs]\nextra-deps = [\"nope\"]\n", "",
       "extra-deps: dependencies directory `", "", 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Project p(kProject + c.tool);
    MakeVenvWith(p.dir, ".venv", "3.11", {"click-8.1.7"});
    MakeVenvWith(p.dir, ".venv-dev", c.dev_python, c.dev);
    p.dir.Write("tools/site-packages/ruff-0.6.0.dist-info/METADATA", "");
    ProjectInputs in;
    in.project_dir = p.dir.path();
    in.variant = c.variant;
    auto r = ResolveProject(in);
    if (!c.error.empty()) {
      ASSERT_FALSE(r.ok());
      EXPECT_NE(r.status().message().find(c.error), std::string::npos) << r.status().message();
      continue;
    }
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_EQ(r->extra_deps.size(), c.extra_trees);
    ASSERT_EQ(DependencyTrees(*r).size(), c.extra_trees + 1);
    EXPECT_EQ(DependencyTrees(*r).front(), &*r->deps);
    for (const DepsSource& extra : r->extra_deps) {
      // Inside the project: not in the application layer.
      const std::string rel =
          std::filesystem::path(extra.host_path).lexically_relative(p.dir.path()).string();
      EXPECT_TRUE(r->ignore.Excluded(rel + "/x.py")) << rel;
    }
    if (c.name == "two trees, in order") {
      EXPECT_TRUE(r->extra_deps[0].host_path.ends_with(".venv-dev/lib/python3.11/site-packages"));
      EXPECT_TRUE(r->extra_deps[1].host_path.ends_with("/tools/site-packages"));
    }
    if (c.variant == "lint") {
      EXPECT_TRUE(r->extra_deps[0].host_path.ends_with("/tools/site-packages"));
    }
    const bool warned = std::any_of(r->warnings.begin(), r->warnings.end(), [&](const auto& w) {
      return w.find(c.warning) != std::string::npos;
    });
    EXPECT_TRUE(c.warning.empty() || warned) << fmt::format("{}", fmt::join(r->warnings, "\n"));
    EXPECT_EQ(Env(*r, "PYTHONPATH"), "/app/src:/app:/opt/venv/lib/python3.11/site-packages");
  }
}

TEST(ProjectTest, ExtraTreesAloneStillPutSitePackagesOnThePath) {
  Project p("[project]\nname = \"pkg\"\n[project.scripts]\npkg = \"pkg.cli:main\"\n");
  p.dir.Write("tools/lib/python3.12/site-packages/ruff-0.6.0.dist-info/METADATA", "");
  ImageOptions flags;
  flags.extra_deps = std::vector<std::string>{p.dir.path() + "/tools/lib/python3.12/site-packages"};
  flags.python = "3.12";
  auto r = p.Resolve(flags);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->deps.has_value());
  ASSERT_EQ(r->extra_deps.size(), 1u);
  EXPECT_EQ(r->extra_deps[0].python, "3.12");
  EXPECT_EQ(Env(*r, "PYTHONPATH"), "/app/src:/app:/opt/venv/lib/python3.12/site-packages");
  EXPECT_EQ(r->path_prepend, std::vector<std::string>{"/opt/venv/bin"});
}

TEST(ProjectTest, BadInputs) {
  struct Case {
    std::string what;
    std::function<ImageOptions(const TempDir&)> flags;
    std::optional<std::string> epoch;
    std::string want;
  };
  const Case cases[] = {
      {"missing deps",
       [](const TempDir& d) {
         ImageOptions o;
         o.deps = d.path() + "/nope";
         return o;
       },
       {},
       "dependencies directory"},
      {"bad python",
       [](const TempDir&) {
         ImageOptions o;
         o.python = "python3";
         return o;
       },
       {},
       "python `python3`"},
      {"bad platform",
       [](const TempDir&) {
         ImageOptions o;
         o.platform = "linux";
         return o;
       },
       {},
       "platform `linux`"},
      {"relative workdir",
       [](const TempDir&) {
         ImageOptions o;
         o.workdir = "app";
         return o;
       },
       {},
       "workdir `app`"},
      {"root workdir",
       [](const TempDir&) {
         ImageOptions o;
         o.workdir = "/";
         return o;
       },
       {},
       "workdir `/`"},
      {"bad tag",
       [](const TempDir&) {
         ImageOptions o;
         o.tags = std::vector<std::string>{"a b"};
         return o;
       },
       {},
       "tag `a b`"},
      {"bad SOURCE_DATE_EPOCH", [](const TempDir&) { return ImageOptions{}; }, "yesterday",
       "SOURCE_DATE_EPOCH"},
  };
  for (const auto& c : cases) {
    Project p("[project]\nname = \"pkg\"\n[project.scripts]\npkg = \"pkg.cli:main\"\n");
    auto r = p.Resolve(c.flags(p.dir), c.epoch);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_NE(r.status().message().find(c.want), std::string::npos)
        << c.what << ": " << r.status().message();
  }
  ProjectInputs in;
  in.project_dir = "/nonexistent/project";
  auto r = ResolveProject(in);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/project"), std::string::npos);
}

TEST(ProjectTest, IgnoreFilesAndDefaults) {
  Project p("[project]\nname = \"pkg\"\n[project.scripts]\npkg = \"pkg.cli:main\"\n");
  p.dir.Write(".dockerignore", "*.md\n");
  p.dir.Write(".ocifsignore", "!KEEP.md\n");
  ImageOptions flags;
  flags.exclude = {"secrets"};
  auto r = p.Resolve(flags);
  ASSERT_TRUE(r.ok()) << r.status().message();
  struct Case {
    std::string path;
    bool excluded;
  };
  for (const Case& c :
       {Case{"README.md", true}, Case{"KEEP.md", false}, Case{"secrets/key", true},
        Case{".git/HEAD", true}, Case{"src/pkg/__pycache__/cli.cpython-311.pyc", true},
        Case{"src/pkg/cli.py", false}, Case{"dist/pkg.whl", true},
        Case{"pkg.egg-info/PKG-INFO", true}, Case{"web/node_modules/x.js", true},
        Case{".venv/bin/python", true}}) {
    EXPECT_EQ(r->ignore.Excluded(c.path), c.excluded) << c.path;
  }
}

TEST(ProjectTest, GitignoreBecomesDockerignorePatterns) {
  struct Case {
    std::string text, dir;
    std::vector<std::string> patterns;
  };
  const std::vector<Case> cases = {
      {"*.db\n", "", {"**/*.db"}},
      {"instance/\n/local.cfg\ndocs/*.md\n", "", {"**/instance", "local.cfg", "docs/*.md"}},
      {"# comment\n\n  \n!keep.db\n\\#notes\n", "", {"!**/keep.db", "**/#notes"}},
      {"*.sqlite3\n/cache\n**/tmp\n", "web", {"web/**/*.sqlite3", "web/cache", "web/**/tmp"}},
      {"trailing.txt   \r\n", "", {"**/trailing.txt"}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(GitignorePatterns(c.text, c.dir), c.patterns) << c.text;
  }
}

// A developer's working copy: secrets, editor and coverage clutter, and a local database that
// only .gitignore names. Each path, and whether the image gets it.
TEST(ProjectTest, SecretsAndClutterStayOutOfADeveloperCheckout) {
  Project p(
      "[project]\nname = \"shop\"\nversion = \"1\"\n[project.scripts]\nshop = \"pkg.cli:main\"\n");
  const std::vector<std::pair<std::string, bool>> files = {
      {".env", false},
      {".env.production", false},
      {"id_rsa", false},
      {"id_ed25519.pub", false},
      {"deploy/server.pem", false},
      {"certs/tls.key", false},
      {"src/pkg/.env.local", false},
      {".netrc", false},
      {".idea/workspace.xml", false},
      {".vscode/settings.json", false},
      {"htmlcov/index.html", false},
      {".coverage", false},
      {".tox/py311/log", false},
      {".gitignore", false},
      {".github/workflows/ci.yml", false},
      {"instance/shop.db", false},      // .gitignore: instance/
      {"src/pkg/data.sqlite3", false},  // src/.gitignore: *.sqlite3
      {"src/pkg/views.py", true},
      {"src/pkg/templates/index.html", true},
      {"README.md", true},
  };
  for (const auto& [path, shipped] : files) p.dir.Write(path, "x\n");
  p.dir.Write(".gitignore", "instance/\n*.pyc\n");
  p.dir.Write("src/.gitignore", "*.sqlite3\n");
  auto r = p.Resolve();
  ASSERT_TRUE(r.ok()) << r.status().message();
  for (const auto& [path, shipped] : files) {
    EXPECT_EQ(r->ignore.Excluded(path), !shipped) << path;
  }
  for (const auto& [path, shipped] : files) {
    if (!shipped) continue;
    EXPECT_FALSE(SecretRules().Excluded(path)) << path;
  }
  EXPECT_TRUE(SecretRules().Excluded("deploy/server.pem"));
  EXPECT_FALSE(SecretRules().Excluded("htmlcov/index.html"));  // clutter, not a secret

  // `include` ships one on purpose; an ignore file of the project's own replaces .gitignore.
  ImageOptions flags;
  flags.include = {".env.production"};
  auto with = p.Resolve(flags);
  ASSERT_TRUE(with.ok()) << with.status().message();
  EXPECT_FALSE(with->ignore.Excluded(".env.production"));
  EXPECT_TRUE(with->ignore.Excluded(".env"));
  p.dir.Write(".dockerignore", "*.md\n");
  auto own = p.Resolve();
  ASSERT_TRUE(own.ok()) << own.status().message();
  EXPECT_FALSE(own->ignore.Excluded("instance/shop.db"));
  EXPECT_TRUE(own->ignore.Excluded("README.md"));
  EXPECT_TRUE(own->ignore.Excluded("deploy/server.pem"));  // the defaults still hold
  flags.include = {"!x"};
  EXPECT_FALSE(p.Resolve(flags).ok());
}

// Where real projects say which Python they run, and which source wins. Each case: the files,
// the Python chosen and the source `python_reason` names.
TEST(ProjectTest, PythonVersionFromWhereProjectsDeclareIt) {
  struct Case {
    std::string name;
    std::vector<std::pair<std::string, std::string>> files;
    std::string want, reason;  // want "" = error (reason: in the message)
  };
  const std::string scripts = "[project.scripts]\npkg = \"pkg.cli:main\"\n";
  const std::vector<Case> cases = {
      {".python-version", {{".python-version", "3.12.4\n"}}, "3.12", "`.python-version`"},
      {".python-version within requires-python",
       {{"pyproject.toml", "[project]\nname = \"pkg\"\nrequires-python = \">=3.10\"\n" + scripts},
        {".python-version", "3.11\n"}},
       "3.11",
       "`.python-version`"},
      {"Poetry",
       {{"pyproject.toml",
         "[tool.poetry]\nname = \"pkg\"\nversion = \"0.1.0\"\n"
         "[tool.poetry.dependencies]\npython = \"^3.10\"\n" +
             scripts}},
       "3.15",
       "`>=3.10,<4.0` in"},
      {"Poetry tilde",
       {{"pyproject.toml", "[tool.poetry.dependencies]\npython = \"~3.11\"\n" + scripts}},
       "3.11",
       "[tool.poetry.dependencies] python `~3.11`"},
      {"Poetry alternatives",
       {{"pyproject.toml", "[tool.poetry.dependencies]\npython = \"^2.7 || ^3.8\"\n"}},
       "",
       "no PEP 440 equivalent"},
      {"setup.cfg",
       {{"setup.cfg",
         "[metadata]\nname = pkg\n\n[options]\npackages = find:\n"
         "python_requires = >=3.9, <3.13\n"}},
       "3.12",
       "setup.cfg: [options] python_requires"},
      {"setup.py",
       {{"setup.py",
         "from setuptools import setup\nREQUIRES_PYTHON = '>=3.8,<3.12'\n"
         "setup(name='pkg', python_requires=REQUIRES_PYTHON)\n"}},
       "3.11",
       "setup.py: python_requires"},
      {"runtime.txt", {{"runtime.txt", "python-3.11.9\n"}}, "3.11", "`runtime.txt`"},
      {"Pipfile",
       {{"Pipfile",
         "[[source]]\nurl = \"https://pypi.org/simple\"\n\n[packages]\nflask = \"*\"\n\n"
         "[requires]\npython_version = \"3.10\"\n"}},
       "3.10",
       "`Pipfile` [requires]"},
      {"a Pipfile that is not TOML", {{"Pipfile", "[requires\n"}}, "", "Pipfile:1:"},
      {"a Pipfile without [requires]", {{"Pipfile", "[packages]\n"}}, "3.15", "newest"},
      {"requires-python wins over runtime.txt",
       {{"pyproject.toml", "[project]\nname = \"pkg\"\nrequires-python = \"~=3.13.0\"\n" + scripts},
        {"runtime.txt", "python-3.11.9\n"}},
       "3.13",
       "requires-python"},
      {"nothing", {}, "3.15", "the newest CPython ocifs knows"},
      {"a .python-version that names no CPython",
       {{".python-version", "pypy3.10\n"}},
       "",
       "names no CPython version"},
  };
  for (const auto& c : cases) {
    Project p("");
    p.dir.Write("app.py", "print('hi')\n");  // an entrypoint for the projects without scripts
    for (const auto& [path, text] : c.files) p.dir.Write(path, text);
    auto r = p.Resolve();
    if (c.want.empty()) {
      ASSERT_FALSE(r.ok()) << c.name;
      EXPECT_NE(r.status().message().find(c.reason), std::string::npos)
          << c.name << ": " << r.status().message();
      continue;
    }
    ASSERT_TRUE(r.ok()) << c.name << ": " << r.status().message();
    EXPECT_EQ(r->python, c.want) << c.name;
    EXPECT_NE(r->python_reason.find(c.reason), std::string::npos)
        << c.name << ": " << r->python_reason;
  }
  // A Poetry project's name and version come from [tool.poetry].
  Project poetry("[tool.poetry]\nname = \"shop\"\nversion = \"2.1.0\"\n" + scripts);
  auto r = poetry.Resolve();
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->pyproject.name, "shop");
  EXPECT_EQ(r->pyproject.version, "2.1.0");
  // Without [project] or [tool.poetry]: setup.cfg's [metadata], then setup.py's setup().
  struct Meta {
    std::string file, text, name, version;
  } metas[] = {
      {"setup.cfg", "[metadata]\nname = shop\nversion = 3.0\n", "shop", "3.0"},
      {"setup.cfg", "[metadata]\nname = shop\nversion = attr: shop.__version__\n", "shop", ""},
      {"setup.py", "from setuptools import setup\nsetup(name='shop', version=\"1.2\")\n", "shop",
       "1.2"},
      {"setup.py", "setup(name=compute_name())\n", "", ""},
  };
  for (const auto& m : metas) {
    Project p("");
    p.dir.Write("app.py", "");
    p.dir.Write(m.file, m.text);
    auto meta = p.Resolve();
    ASSERT_TRUE(meta.ok()) << m.text << meta.status().message();
    EXPECT_EQ(meta->pyproject.name, m.name) << m.text;
    EXPECT_EQ(meta->pyproject.version, m.version) << m.text;
  }
}

TEST(ProjectTest, ProcfileWebCommand) {
  struct Case {
    std::string procfile;
    std::optional<std::vector<std::string>> want;
  } cases[] = {
      {"web: gunicorn app:app --workers 2\nworker: celery -A app worker\n",
       std::vector<std::string>{"gunicorn", "app:app", "--workers", "2"}},
      {"release: ./migrate\nweb:   gunicorn app:app --bind 0.0.0.0:$PORT\n",
       std::vector<std::string>{"/bin/sh", "-c", "exec gunicorn app:app --bind 0.0.0.0:$PORT"}},
      {"web: python manage.py migrate && gunicorn mysite.wsgi\n",
       std::vector<std::string>{"/bin/sh", "-c",
                                "python manage.py migrate && gunicorn mysite.wsgi"}},
      {"worker: python worker.py\n", std::nullopt},
      {"web:\n", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(ProcfileWebCommand(c.procfile), c.want) << c.procfile;

  // The Procfile is how the project says its server starts: it wins over console scripts, and
  // its $PORT is set and exposed.
  Project p("[project]\nname = \"shop\"\n[project.scripts]\nshop = \"shop.cli:main\"\n");
  p.dir.Write("Procfile", "web: gunicorn shop.web:app\n");
  auto r = p.Resolve();
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r->entrypoint, (std::vector<std::string>{"gunicorn", "shop.web:app"}));
  EXPECT_TRUE(r->entrypoint_stated);
  EXPECT_NE(r->entrypoint_reason.find("the Procfile's `web:` line (it says how the server "
                                      "starts; [project.scripts] declares command-line scripts"),
            std::string::npos)
      << r->entrypoint_reason;
  EXPECT_NE(std::find(r->env.begin(), r->env.end(),
                      std::make_pair(std::string("PORT"), std::string("8000"))),
            r->env.end());
  EXPECT_EQ(r->expose, std::vector<std::string>{"8000/tcp"});
}

TEST(ProjectTest, LoopbackOnlyServersAreFound) {
  struct Case {
    std::vector<std::string> argv;
    KeyValues env;
    std::string says;  // "" = nothing to say
  } cases[] = {
      {{"python3", "-m", "uvicorn", "app:app", "--host", "0.0.0.0"}, {}, ""},
      {{"python3", "-m", "uvicorn", "app:app"}, {}, "uvicorn without --host"},
      {{"uvicorn", "app:app", "--host", "127.0.0.1"}, {}, "`--host` binds `127.0.0.1`"},
      {{"/bin/sh", "-c", "exec gunicorn -b localhost:8000 app:app"}, {}, "binds `localhost:8000`"},
      {{"gunicorn", "app:app"}, {}, "gunicorn without --bind"},
      {{"gunicorn", "app:app"}, {{"PORT", "8000"}}, ""},
      {{"gunicorn", "--bind=0.0.0.0:80", "app:app"}, {}, ""},
      {{"python3", "manage.py", "runserver"}, {}, "`runserver` without an address"},
      {{"python3", "manage.py", "runserver", "0.0.0.0:8000"}, {}, ""},
      {{"python3", "-m", "flask", "--app", "x", "run"}, {}, "`flask run` without --host"},
      {{"python3", "-m", "flask", "--app", "x", "run", "--host", "0.0.0.0"}, {}, ""},
      {{"python3", "/app/main.py"}, {}, ""},
  };
  for (const auto& c : cases) {
    auto why = LoopbackOnly(c.argv, c.env);
    if (c.says.empty()) {
      EXPECT_FALSE(why.has_value()) << c.argv.back() << ": " << why.value_or("");
    } else {
      ASSERT_TRUE(why.has_value()) << c.argv.back();
      EXPECT_NE(why->find(c.says), std::string::npos) << *why;
    }
  }
}

// Console scripts where real projects declare them, and which place wins.
TEST(ProjectTest, EntrypointsWhereProjectsDeclareThem) {
  struct Case {
    std::string name;
    std::vector<std::pair<std::string, std::string>> files;
    std::string script, target;  // the one chosen
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"[project.scripts]",
       {{"pyproject.toml",
         "[project]\nname = \"shop\"\n[project.scripts]\nshop = \"pkg.cli:main\"\n"}},
       "shop",
       "pkg.cli:main",
       "[project.scripts] `shop` = `pkg.cli:main`"},
      {"Poetry",
       {{"pyproject.toml",
         "[tool.poetry]\nname = \"shop\"\nversion = \"1.0\"\n"
         "[tool.poetry.scripts]\nmigrate = \"pkg.db:migrate\"\nshop = \"pkg.cli:main\"\n"}},
       "shop",
       "pkg.cli:main",
       "[tool.poetry.scripts] `shop` = `pkg.cli:main`"},
      {"Poetry 1.x table",
       {{"pyproject.toml",
         "[tool.poetry.scripts]\nserve = { callable = \"pkg.cli:main\", extras = [\"web\"] }\n"}},
       "serve",
       "pkg.cli:main",
       "[tool.poetry.scripts] `serve` = `pkg.cli:main`"},
      {"setup.cfg",
       {{"setup.cfg",
         "[metadata]\nname = shop\n\n[options.entry_points]\nconsole_scripts =\n"
         "    shop-admin = pkg.admin:run\n    shop = pkg.cli:main\ngui_scripts =\n    x = y:z\n"}},
       "shop",
       "pkg.cli:main",
       "setup.cfg [options.entry_points] console_scripts `shop` = `pkg.cli:main`"},
      {"setup.py, read and never run",
       {{"setup.py",
         "import os\nfrom setuptools import setup, find_packages\n\nNAME = 'shop'\n"
         "REQUIRED = open('requirements.txt').read().splitlines()\n\n"
         "raise SystemExit('ran')  # never reached: the file is only read\n"
         "setup(\n    name=NAME,\n    version='1.4.0',\n    packages=find_packages(),\n"
         "    install_requires=REQUIRED,\n    entry_points={\n        'console_scripts': [\n"
         "            'shop-admin=pkg.admin:run',\n            'shop = pkg.cli:main',\n"
         "        ],\n    },\n)\n"}},
       "shop",
       "pkg.cli:main",
       "setup.py entry_points console_scripts `shop` = `pkg.cli:main`"},
      {"setup.py entry_points as INI text",
       {{"setup.py",
         "from setuptools import setup\nsetup(name='shop', entry_points='''\n"
         "    [console_scripts]\n    shop=pkg.cli:main\n''')\n"}},
       "shop",
       "pkg.cli:main",
       "setup.py entry_points console_scripts `shop` = `pkg.cli:main`"},
      {"[project.scripts] wins and says what else declared scripts",
       {{"pyproject.toml",
         "[project]\nname = \"shop\"\n[project.scripts]\nshop = \"pkg.cli:main\"\n"},
        {"setup.cfg", "[options.entry_points]\nconsole_scripts =\n    old = pkg.old:main\n"}},
       "shop",
       "pkg.cli:main",
       "(setup.cfg [options.entry_points] console_scripts also declares scripts"},
  };
  for (const auto& c : cases) {
    Project p("");
    for (const auto& [path, text] : c.files) p.dir.Write(path, text);
    auto r = p.Resolve();
    ASSERT_TRUE(r.ok()) << c.name << ": " << r.status().message();
    ASSERT_TRUE(r->entrypoint.has_value()) << c.name;
    EXPECT_EQ(*r->entrypoint, *ScriptCommand(c.script, c.target)) << c.name;
    EXPECT_NE(r->entrypoint_reason.find(c.reason), std::string::npos)
        << c.name << ": " << r->entrypoint_reason;
  }
}

// A repository whose application sits in one folder: that folder is the project.
TEST(ProjectTest, MonoreposPackTheApplicationFolder) {
  const std::string backend_pyproject =
      "[project]\nname = \"api\"\nversion = \"1\"\n[project.scripts]\napi = \"api.cli:main\"\n";
  struct Case {
    std::string name;
    std::vector<std::pair<std::string, std::string>> files;
    std::string folder;  // the folder packed; "" = the top; "!" = an error
    std::string says;    // in the warning or the error
  } cases[] = {
      {"backend/ beside frontend/",
       {{"backend/pyproject.toml", backend_pyproject},
        {"backend/api/__init__.py", ""},
        {"frontend/package.json", "{}"},
        {"README.md", "# shop\n"}},
       "backend",
       "holds no Python application at its top; packing its `backend/`"},
      {"an app in server/ with requirements.txt",
       {{"server/requirements.txt", "flask\n"},
        {"server/app.py", ""},
        {"web/index.html", ""},
        {"docker-compose.yml", ""}},
       "server",
       "packing its `server/`"},
      {"two applications: an error naming both",
       {{"backend/requirements.txt", ""}, {"worker/setup.py", ""}, {"backend/app.py", ""}},
       "!",
       "several folders hold one: `backend`, `worker`; give the one to run as the project"},
      {"a uv workspace with one application member",
       {{"pyproject.toml", "[tool.uv.workspace]\nmembers = [\"apps/*\"]\n"},
        {"apps/api/pyproject.toml", backend_pyproject},
        {"apps/api/api/__init__.py", ""},
        {"apps/notes.txt", ""}},
       "apps/api",
       "packing its `apps/api/`"},
      {"a uv workspace with two members",
       {{"pyproject.toml", "[tool.uv.workspace]\nmembers = [\"packages/*\", \"api\"]\n"},
        {"packages/core/pyproject.toml", "[project]\nname = \"core\"\n"},
        {"api/pyproject.toml", backend_pyproject}},
       "!",
       "`api`, `packages/core`"},
      {"a workspace root that is a project itself",
       {{"pyproject.toml",
         "[project]\nname = \"root\"\n[tool.uv.workspace]\nmembers = [\"lib\"]\n"},
        {"lib/pyproject.toml", "[project]\nname = \"lib\"\n"},
        {"main.py", ""}},
       "",
       ""},
      {"docs/requirements.txt is not an application",
       {{"docs/requirements.txt", "sphinx\n"},
        {"docs/conf.py", ""},
        {"backend/requirements.txt", "flask\n"},
        {"backend/app.py", ""}},
       "backend",
       "packing its `backend/`"},
      {"a src layout without packaging metadata is the project",
       {{"src/tool/__init__.py", ""},
        {"src/tool/__main__.py", ""},
        {"bench/requirements.txt", ""},
        {"web/requirements.txt", ""}},
       "",
       ""},
      {"a top with modules of its own", {{"main.py", ""}, {"tools/requirements.txt", ""}}, "", ""},
  };
  for (const auto& c : cases) {
    TempDir d;
    for (const auto& [path, text] : c.files) d.Write(path, text);
    ProjectInputs in;
    in.project_dir = d.path();
    auto r = ResolveProject(in);
    if (c.folder == "!") {
      ASSERT_FALSE(r.ok()) << c.name;
      EXPECT_NE(r.status().message().find(c.says), std::string::npos)
          << c.name << ": " << r.status().message();
      continue;
    }
    ASSERT_TRUE(r.ok()) << c.name << ": " << r.status().message();
    EXPECT_EQ(r->dir, c.folder.empty() ? d.path() : d.path() + "/" + c.folder) << c.name;
    if (!c.says.empty()) {
      ASSERT_FALSE(r->warnings.empty()) << c.name;
      EXPECT_NE(r->warnings[0].find(c.says), std::string::npos) << c.name << ": " << r->warnings[0];
    }
  }

  // The repository's .gitignore applies inside the folder, its virtualenv is the dependencies
  // when the folder has none, and a command given by the user packs the top as it is.
  TempDir d;
  d.Write("backend/pyproject.toml", backend_pyproject);
  d.Write("backend/api/__init__.py", "");
  d.Write(".gitignore", "*.log\n/backend/local.db\n/frontend/dist\n");
  MakeVenv(d, ".venv", "3.12");
  ProjectInputs in;
  in.project_dir = d.path();
  auto r = ResolveProject(in);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->ignore.Excluded("server.log"));
  EXPECT_TRUE(r->ignore.Excluded("local.db"));
  EXPECT_FALSE(r->ignore.Excluded("api/__init__.py"));
  ASSERT_TRUE(r->deps.has_value());
  EXPECT_EQ(r->deps->venv_path, d.path() + "/.venv");
  EXPECT_EQ(r->python, "3.12");
  in.flags.entrypoint = std::vector<std::string>{"python3", "-m", "api"};
  r = ResolveProject(in);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->dir, d.path());
}

// A top-level module with a `__main__` block (bot.py, run.py), when it is the only one.
TEST(ProjectTest, TheOnlyTopLevelScriptIsTheEntrypoint) {
  const std::string guard = "def main():\n    pass\n\nif __name__ == \"__main__\":\n    main()\n";
  struct Case {
    std::string name;
    std::vector<std::pair<std::string, std::string>> files;
    std::vector<std::string> entrypoint;  // empty: an error that names `says`
    std::string says;
  } cases[] = {
      {"bot.py beside helpers",
       {{"bot.py", guard}, {"helpers.py", "X = 1\n"}, {"requirements.txt", "discord.py\n"}},
       {"python3", "/app/bot.py"},
       "`bot.py`, the only top-level module"},
      {"the guard written the other way round, in single quotes",
       {{"run.py", "if '__main__' == __name__:\n    print(1)\n"}},
       {"python3", "/app/run.py"},
       ""},
      {"setup.py, manage.py, tests and a guard in a docstring do not count",
       {{"setup.py", guard},
        {"test_bot.py", guard},
        {"notes.py", "\"\"\"Run with: if __name__ == '__main__': main()\"\"\"\n"},
        {"worker.py", guard}},
       {"python3", "/app/worker.py"},
       ""},
      {"two scripts: an error naming both",
       {{"bot.py", guard}, {"cron.py", guard}},
       {},
       "several top-level modules run as scripts: `bot.py`, `cron.py`, so name one with "
       "--entrypoint 'python3 /app/bot.py'"},
  };
  for (const auto& c : cases) {
    TempDir d;
    for (const auto& [path, text] : c.files) d.Write(path, text);
    ProjectInputs in;
    in.project_dir = d.path();
    auto r = ResolveProject(in);
    ExpectEntrypoint(c.name, r, c.entrypoint, c.says);
  }
}

// A package that runs with `python -m PKG`, chosen when it is the only runnable one.
TEST(ProjectTest, APackagesMainIsTheEntrypointWhenItIsTheOnlyOne) {
  struct Case {
    std::string name;
    std::vector<std::string> files;
    std::vector<std::string> entrypoint;  // empty: an error that names `says`
    std::string says;
  };
  const std::vector<Case> cases = {
      {"one package",
       {"tool/__init__.py", "tool/__main__.py", "tool/core.py"},
       {"python3", "-m", "tool"},
       "`tool/__main__.py`"},
      {"one package in src/",
       {"src/tool/__init__.py", "src/tool/__main__.py"},
       {"python3", "-m", "tool"},
       "`src/tool/__main__.py`"},
      {"tests are not the app",
       {"tool/__init__.py", "tool/__main__.py", "build/x/__init__.py",
        "build/x/__main__.py"},  // build/ is ignored by default
       {"python3", "-m", "tool"},
       "`tool/__main__.py`"},
      {"two packages",
       {"a/__init__.py", "a/__main__.py", "b/__init__.py", "b/__main__.py"},
       {},
       "several packages have one: `a`, `b`, so name one with --entrypoint 'python3 -m a'"},
      {"no __init__.py: not a package", {"scripts/__main__.py"}, {}, "no entrypoint found"},
  };
  for (const auto& c : cases) {
    TempDir d;
    d.Write("pyproject.toml", "[project]\nname = \"x\"\n");
    for (const auto& f : c.files) d.Write(f, "");
    ProjectInputs in;
    in.project_dir = d.path();
    auto r = ResolveProject(in);
    ExpectEntrypoint(c.name, r, c.entrypoint, c.says);
    if (!r.ok() || c.entrypoint.empty()) continue;
    const bool src = c.files.front().starts_with("src/");
    EXPECT_EQ(Env(*r, "PYTHONPATH").starts_with("/app/src"), src) << Env(*r, "PYTHONPATH");
  }
}

// A mount's mountpoint and the project's trees: which overlaps are refused, which left out.
TEST(ProjectTest, TheMountpointAndTheTreesMustNotContainEachOther) {
  Project p("[project]\nname = \"pkg\"\n[project.scripts]\npkg = \"pkg.cli:main\"\n");
  MakeVenv(p.dir, ".venv", "3.12");
  p.dir.Write("mnt/.keep", "");
  std::filesystem::remove(p.dir.path() + "/mnt/.keep");
  const std::string real = std::filesystem::canonical(p.dir.path()).string();
  struct Case {
    std::string name, mountpoint, error;  // error "": resolves, with the mountpoint left out
  };
  const std::vector<Case> cases = {
      {"inside the project", real + "/mnt", ""},
      {"the project itself", real, "is the mountpoint"},
      {"above the project", std::filesystem::path(real).parent_path().string(),
       "is inside the mountpoint"},
      {"the virtualenv", real + "/.venv", "the dependencies directory"},
      {"inside the virtualenv", real + "/.venv/lib", "overlap"},
  };
  for (const auto& c : cases) {
    ProjectInputs in;
    in.project_dir = p.dir.path();
    in.mountpoint = c.mountpoint;
    auto r = ResolveProject(in);
    if (!c.error.empty()) {
      ASSERT_FALSE(r.ok()) << c.name;
      EXPECT_NE(r.status().message().find(c.error), std::string::npos)
          << c.name << ": " << r.status().message();
      continue;
    }
    ASSERT_TRUE(r.ok()) << c.name << ": " << r.status().message();
    EXPECT_TRUE(r->ignore.Excluded("mnt")) << c.name;
  }
  // Another file system mounted inside the project: left out, with a warning.
  ProjectInputs in;
  in.project_dir = p.dir.path();
  in.other_mounts = {real + "/mnt", "/proc"};
  auto r = ResolveProject(in);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->ignore.Excluded("mnt"));
  EXPECT_NE(std::find(r->warnings.begin(), r->warnings.end(),
                      "left out `mnt`: another file system is mounted there"),
            r->warnings.end());
}

// PEP 735 groups, their includes expanded, checked against a site-packages tree.
TEST(DependencyGroupsTest, RequirementsAreCheckedAgainstTheInstalledDistributions) {
  auto py = ParsePyProject(R"toml([dependency-groups]
test = ["pytest>=8", "click (>=8,<9)", {include-group = "Lint"}]
lint = ["ruff>=0.4", "types-requests; python_version < '3.10'"]
loop-a = [{include-group = "loop-b"}]
loop-b = [{include-group = "loop-a"}]
)toml",
                           "pyproject.toml");
  ASSERT_TRUE(py.ok()) << py.status().message();
  auto test = DependencyGroupRequirements(*py, "test", "pyproject.toml");
  ASSERT_TRUE(test.ok()) << test.status().message();
  EXPECT_EQ(*test, (std::vector<std::string>{"pytest>=8", "click (>=8,<9)", "ruff>=0.4",
                                             "types-requests; python_version < '3.10'"}));
  auto loop = DependencyGroupRequirements(*py, "loop-a", "pyproject.toml");
  ASSERT_FALSE(loop.ok());
  EXPECT_EQ(loop.status().message(),
            "`pyproject.toml`: dependency group `loop-a` includes itself (loop-a -> loop-b -> "
            "loop-a)");
  auto unknown = DependencyGroupRequirements(*py, "docs", "pyproject.toml");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("has no dependency group `docs`"), std::string::npos);

  struct Case {
    std::string what;
    std::vector<std::string> installed;  // dist-info directory names
    std::string error;                   // empty: satisfied
    size_t warnings;
    std::vector<std::string> extra = {};  // in a second tree, above the first
  };
  const std::vector<Case> cases = {
      {"all there",
       {"pytest-8.3.2.dist-info", "click-8.1.7.dist-info", "ruff-0.6.0.dist-info",
        "types_requests-2.32.0.dist-info"},
       "",
       0},
      {"a marker's requirement missing is a warning",
       {"pytest-8.3.2.dist-info", "click-8.1.7.dist-info", "ruff-0.6.0.dist-info"},
       "",
       1},
      {"missing and too old",
       {"pytest-7.4.0.dist-info", "Click-8.1.7.dist-info"},
       "test is not satisfied: `pytest>=8` is not met by the installed pytest 7.4.0; `ruff>=0.4` "
       "is not installed",
       1},
      {"an egg-info counts",
       {"pytest-8.0.0-py3.11.egg-info", "click-8.0.0.dist-info", "ruff-0.4.0.dist-info"},
       "",
       1},
      {"split across the trees",
       {"click-8.1.7.dist-info"},
       "",
       1,
       {"pytest-8.3.2.dist-info", "ruff-0.6.0.dist-info"}},
      {"the upper tree's version is the one checked",
       {"pytest-8.3.2.dist-info", "click-8.1.7.dist-info", "ruff-0.6.0.dist-info"},
       "`pytest>=8` is not met by the installed pytest 7.0.0",
       1,
       {"pytest-7.0.0.dist-info"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    MemTree deps, extra;
    for (const std::string& d : c.installed) deps.AddDir(d);
    for (const std::string& d : c.extra) extra.AddDir(d);
    std::vector<std::string> warnings;
    std::vector<const Tree*> trees = {&deps};
    if (!c.extra.empty()) trees.push_back(&extra);
    Status s = CheckRequirements(trees, *test, "test", warnings);
    EXPECT_EQ(warnings.size(), c.warnings);
    if (c.error.empty()) {
      EXPECT_TRUE(s.ok()) << s.message();
    } else {
      ASSERT_FALSE(s.ok());
      EXPECT_NE(s.message().find(c.error), std::string::npos) << s.message();
    }
  }
}

}  // namespace
}  // namespace ocifs
