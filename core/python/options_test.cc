#include "core/python/options.h"

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <toml++/toml.h>

namespace ocifs {
namespace {

TEST(OptionsTest, ParseCommand) {
  using V = std::vector<std::string>;
  struct Case {
    std::string text;
    V words;  // empty = error
  };
  const Case cases[] = {
      {"python3 -m app", {"python3", "-m", "app"}},
      {"  gunicorn   app:wsgi ", {"gunicorn", "app:wsgi"}},
      {R"(sh -c 'echo "hi there"')", {"sh", "-c", "echo \"hi there\""}},
      {R"(echo "a \"b\" c")", {"echo", "a \"b\" c"}},
      {R"(a\ b)", {"a b"}},
      {R"j(["python3", "-c", "print(1)"])j", {"python3", "-c", "print(1)"}},
      {R"(["x", 1])", {}},
      {"[not json", {}},
      {"'unclosed", {}},
      {"", {}},
  };
  for (const auto& c : cases) {
    auto got = ParseCommand(c.text, "--cmd");
    if (c.words.empty()) {
      EXPECT_FALSE(got.ok()) << c.text;
    } else {
      ASSERT_TRUE(got.ok()) << c.text << ": " << got.status().message();
      EXPECT_EQ(*got, c.words) << c.text;
    }
  }
}

TEST(OptionsTest, NormalizePort) {
  struct Case {
    std::string in, out;  // out "" = error
  };
  const Case cases[] = {{"8000", "8000/tcp"}, {"53/udp", "53/udp"}, {"1/sctp", "1/sctp"}, {"0", ""},
                        {"65536", ""},        {"80/icmp", ""},      {"http", ""},         {"", ""}};
  for (const auto& c : cases) {
    auto got = NormalizePort(c.in);
    EXPECT_EQ(got.ok() ? *got : "", c.out) << c.in;
  }
}

TEST(OptionsTest, ValidateTag) {
  struct Case {
    std::string tag;
    bool ok;
    std::string says = "";  // in the message, beside the tag itself
  };
  const Case cases[] = {
      {"latest", true},
      {"1.2.0", true},
      {"v1.2-rc1", true},
      {"a_b", true},
      {"a--b", true},
      {std::string(128, 'a'), true},
      {std::string(129, 'a'), false},
      {"", false},
      {"-a", false},
      {"a-", false},
      {".a", false},
      {"a..b", false},
      {"a b", false, "` ` is not allowed"},
      {"a:b", false},
      {"a/b", false},
      {"Ünïcode", false, "`Ü` is not allowed"},
      {"tägé", false, "`ä` is not allowed"},  // the whole character, not its first byte
      {"a\xe4"
       "b",
       false, "`\xe4` is not allowed"},  // not UTF-8: the byte alone
      {"_a", false},
  };
  for (const auto& c : cases) {
    Status s = ValidateTag(c.tag);
    EXPECT_EQ(s.ok(), c.ok) << c.tag;
    if (!s.ok()) {
      EXPECT_NE(s.message().find(c.tag), std::string::npos) << s.message();
      EXPECT_NE(s.message().find(c.says), std::string::npos) << s.message();
    }
  }
}

TEST(OptionsTest, MergeFlagsOverFile) {
  ImageOptions file, flags;
  file.tags = std::vector<std::string>{"file"};
  file.python = "3.10";
  file.workdir = "/srv";
  file.env = {{"A", "file"}, {"B", "file"}};
  file.exclude = {"*.md"};
  file.expose = {"8000/tcp"};
  flags.python = "3.12";
  flags.env = {{"B", "flag"}, {"C", "flag"}};
  flags.exclude = {"docs"};
  flags.expose = {"8000/tcp", "9000/tcp"};
  file.platform_deps = {{"linux/arm64", "/file/arm"}, {"linux/s390x", "/file/s390x"}};
  flags.platform_deps = {{"linux/arm64", "/flag/arm"}};
  file.registry_mirrors = {"m1.example", "m2.example"};
  flags.registry_mirrors = {"m2.example", "m3.example"};
  file.system_packages = {"libpq5", "libmagic1"};
  flags.system_packages = {"libmagic1", "ffmpeg=7:5.1.*"};
  file.apt_mirrors = std::vector<std::string>{"http://file.example/debian"};
  flags.apt_mirrors = std::vector<std::string>{"http://flag.example/debian"};
  file.apt_keyrings = {"/p/keys/a.gpg"};
  flags.apt_keyrings = {"/w/b.asc"};
  file.extra_deps = std::vector<std::string>{"/p/.venv-dev", "/p/tools"};
  flags.extra_deps = std::vector<std::string>{"/w/lint"};
  ImageOptions m = Merge(file, flags);
  EXPECT_EQ(m.tags, std::vector<std::string>{"file"});  // not given as a flag: the file's
  // A list of extra trees set in `high` replaces `low`'s, like tags; unset keeps it.
  EXPECT_EQ(m.extra_deps, std::vector<std::string>{"/w/lint"});
  EXPECT_EQ(Merge(file, ImageOptions{}).extra_deps, file.extra_deps);
  ImageOptions none;
  none.extra_deps.emplace();
  EXPECT_EQ(Merge(file, none).extra_deps, std::vector<std::string>{});
  EXPECT_EQ(m.python, "3.12");  // flag wins
  EXPECT_EQ(m.workdir, "/srv");
  EXPECT_EQ(m.env, (KeyValues{{"A", "file"}, {"B", "flag"}, {"C", "flag"}}));  // merged by key
  EXPECT_EQ(m.exclude, (std::vector<std::string>{"*.md", "docs"}));            // union
  EXPECT_EQ(m.expose, (std::vector<std::string>{"8000/tcp", "9000/tcp"}));  // union, no duplicates
  EXPECT_EQ(m.platform_deps,
            (KeyValues{{"linux/arm64", "/flag/arm"}, {"linux/s390x", "/file/s390x"}}));
  // The flags' mirrors first, then the file's others.
  EXPECT_EQ(m.registry_mirrors,
            (std::vector<std::string>{"m2.example", "m3.example", "m1.example"}));
  // System packages and keyrings add up; the flags' apt mirrors replace the file's.
  EXPECT_EQ(m.system_packages, (std::vector<std::string>{"libpq5", "libmagic1", "ffmpeg=7:5.1.*"}));
  EXPECT_EQ(m.apt_mirrors, (std::vector<std::string>{"http://flag.example/debian"}));
  EXPECT_EQ(m.apt_keyrings, (std::vector<std::string>{"/p/keys/a.gpg", "/w/b.asc"}));
  EXPECT_EQ(Merge(file, ImageOptions{}).apt_mirrors, file.apt_mirrors);
}

TEST(OptionsTest, AddDepsOption) {
  struct Case {
    std::string text;
    std::optional<std::string> deps;  // o.deps after
    KeyValues platform_deps;
    std::string error;
  };
  const Case cases[] = {
      {".venv", ".venv", {}, ""},
      {"/srv/a=b", "/srv/a=b", {}, ""},  // no platform before the `=`
      {"linux/arm64=vendor/arm", std::nullopt, {{"linux/arm64", "vendor/arm"}}, ""},
      {"linux/arm/v7=/v7", std::nullopt, {{"linux/arm/v7", "/v7"}}, ""},
      {"linux/arm64=", std::nullopt, {}, "--deps: `linux/arm64=` names no directory"},
      {"", std::nullopt, {}, "--deps: the directory is empty"},
  };
  for (const auto& c : cases) {
    ImageOptions o;
    Status s = AddDepsOption(o, c.text, "--deps");
    if (!c.error.empty()) {
      ASSERT_FALSE(s.ok()) << c.text;
      EXPECT_NE(s.message().find(c.error), std::string::npos) << s.message();
      continue;
    }
    ASSERT_TRUE(s.ok()) << c.text << ": " << s.message();
    EXPECT_EQ(o.deps, c.deps) << c.text;
    EXPECT_EQ(o.platform_deps, c.platform_deps) << c.text;
  }
}

TEST(OptionsTest, ValidateVolume) {
  struct Case {
    std::string path;
    std::string says;  // empty: valid
  };
  const Case cases[] = {
      {"/app/instance", ""},
      {"/var/cache/app", ""},
      {"/home/nonroot", ""},
      {"app/instance", "not an absolute path"},
      {"", "not an absolute path"},
      {"/", "the root cannot be a volume"},
      {"/app/", "ends with `/`"},
      {"/app//x", "has an empty, `.` or `..` component"},
      {"/app/../etc", "has an empty, `.` or `..` component"},
      {"/./app", "has an empty, `.` or `..` component"},
      {"/data:rw", "has `:`, `,`, a NUL or a newline"},
  };
  for (const auto& c : cases) {
    Status s = ValidateVolume(c.path);
    EXPECT_EQ(s.ok(), c.says.empty()) << c.path;
    if (!s.ok()) {
      EXPECT_NE(s.message().find("volume `" + c.path + "`: " + c.says), std::string::npos)
          << s.message();
    }
  }
}

TEST(OptionsTest, FromToml) {
  auto t = toml::parse(R"(
tag = ["a", "b"]
python = "3.11"
env = { B = "2", A = "1" }
label = ["x=1"]
expose = [8000, "53/udp"]
entrypoint = "python3 -m app"
cmd = ["--port", "80"]
exclude = "docs"
strict = true
deps = [".venv", "linux/arm64=vendor/arm64"]
registry-mirror = ["mirror.example/hub", "ghcr.io=localhost:5000"]
system-packages = ["libpq5", "ffmpeg=7:5.1.*"]
apt-mirror = "http://127.0.0.1:8080/debian"
apt-keyring = ["keys/archive.gpg"]
volume = ["/app/instance", "/var/cache/app"]
extra-deps = [".venv-dev", "../tools/site-packages"]
)");
  auto o = OptionsFromToml(t, "pyproject.toml");
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(o->python, "3.11");
  EXPECT_EQ(o->env, (KeyValues{{"A", "1"}, {"B", "2"}}));
  EXPECT_EQ(o->labels, (KeyValues{{"x", "1"}}));
  EXPECT_EQ(o->expose, (std::vector<std::string>{"8000/tcp", "53/udp"}));
  EXPECT_EQ(o->entrypoint, (std::vector<std::string>{"python3", "-m", "app"}));
  EXPECT_EQ(o->cmd, (std::vector<std::string>{"--port", "80"}));
  EXPECT_EQ(o->exclude, std::vector<std::string>{"docs"});
  EXPECT_EQ(o->strict, true);
  EXPECT_EQ(o->deps, ".venv");
  EXPECT_EQ(o->platform_deps, (KeyValues{{"linux/arm64", "vendor/arm64"}}));
  EXPECT_EQ(o->registry_mirrors,
            (std::vector<std::string>{"mirror.example/hub", "ghcr.io=localhost:5000"}));
  EXPECT_EQ(o->system_packages, (std::vector<std::string>{"libpq5", "ffmpeg=7:5.1.*"}));
  EXPECT_EQ(o->apt_mirrors, (std::vector<std::string>{"http://127.0.0.1:8080/debian"}));
  EXPECT_EQ(o->apt_keyrings, (std::vector<std::string>{"keys/archive.gpg"}));
  EXPECT_EQ(o->volumes, (std::vector<std::string>{"/app/instance", "/var/cache/app"}));
  EXPECT_EQ(o->extra_deps, (std::vector<std::string>{".venv-dev", "../tools/site-packages"}));
}

TEST(OptionsTest, FromTomlErrorsNameFileLineAndColumn) {
  struct Case {
    std::string toml;
    std::string want;  // substring of the message
  };
  const Case cases[] = {
      {"tag = 5", "pyproject.toml:1:7: [tool.ocifs] `tag`"},
      {"\nstrict = \"yes\"", "pyproject.toml:2:10: [tool.ocifs] `strict`"},
      {"tga = \"x\"", "pyproject.toml:1:7: [tool.ocifs] has no key `tga`"},
      {"tag = \"bad tag\"", "tag `bad tag`"},
      {"expose = [70000]", "port `70000`"},
      {"env = [\"NOEQUALS\"]", "`NOEQUALS` is not KEY=VALUE"},
      {"entrypoint = \"'unclosed\"", "unclosed"},
      {"deps = [\"linux/arm64=\"]",
       "pyproject.toml:1:9: [tool.ocifs] `deps`: `linux/arm64=` names no"},
      {"deps = 3", "pyproject.toml:1:8: [tool.ocifs] `deps`"},
      {"system-packages = \"libpq5\"", "pyproject.toml:1:19: [tool.ocifs] `system-packages`"},
      {"system-packages = [\"libpq5\", 5]", "pyproject.toml:1:30: [tool.ocifs] `system-packages`"},
      {"apt-mirror = 8080", "pyproject.toml:1:14: [tool.ocifs] `apt-mirror`"},
      {"registry-mirror = [\"mirror\"]",
       "pyproject.toml:1:20: [tool.ocifs] `registry-mirror`: registry mirror `mirror`: `mirror` is "
       "not a registry host"},
      {"registry-mirror = 5", "pyproject.toml:1:19: [tool.ocifs] `registry-mirror`"},
      {"volume = [\"app\"]",
       "pyproject.toml:1:10: [tool.ocifs] `volume`: volume `app`: not an absolute path"},
      {"extra-deps = [\".venv-dev\", 3]", "pyproject.toml:1:28: [tool.ocifs] `extra-deps`"},
      {"extra-deps = [\"\"]", "pyproject.toml:1:14: [tool.ocifs] `extra-deps`: an empty path"},
  };
  for (const auto& c : cases) {
    auto t = toml::parse(std::string_view(c.toml), std::string_view("pyproject.toml"));
    auto o = OptionsFromToml(t, "pyproject.toml");
    ASSERT_FALSE(o.ok()) << c.toml;
    EXPECT_NE(o.status().message().find(c.want), std::string::npos) << o.status().message();
  }
}

TEST(OptionsTest, VariantsFromToml) {
  auto t = toml::parse(R"(
exclude = ["tests"]
[variants.dev]
include = ["tests"]
dependency-group = "dev"
cmd = "python3 -m app --reload"
[variants.ci]
tag = ["ci"]
)");
  auto base = OptionsFromToml(t, "pyproject.toml");
  ASSERT_TRUE(base.ok()) << base.status().message();
  EXPECT_EQ(base->exclude, std::vector<std::string>{"tests"});
  auto v = VariantsFromToml(t, "pyproject.toml");
  ASSERT_TRUE(v.ok()) << v.status().message();
  ASSERT_EQ(v->size(), 2u);
  // In name order, as TOML tables keep their keys.
  EXPECT_EQ((*v)[0].name, "ci");
  EXPECT_EQ((*v)[0].options.tags, std::vector<std::string>{"ci"});
  EXPECT_EQ((*v)[1].name, "dev");
  EXPECT_EQ((*v)[1].dependency_group, "dev");
  EXPECT_EQ((*v)[1].options.include, std::vector<std::string>{"tests"});
  EXPECT_EQ((*v)[1].options.cmd, (std::vector<std::string>{"python3", "-m", "app", "--reload"}));

  struct Case {
    std::string toml;
    std::string want;  // substring of the message
  };
  const Case cases[] = {
      {"variants = 3", "pyproject.toml:1:12: [tool.ocifs] `variants`: want a table of variants"},
      {"[variants]\ndev = 3", "pyproject.toml:2:7: [tool.ocifs.variants.dev]: want a table"},
      {"[variants.Dev]\ncmd = \"x\"", "variant `Dev`: not a valid name"},
      {"[variants.default]\ncmd = \"x\"",
       "variant `default`: `default` is what --variant calls the unnamed image"},
      {"[variants.dev]\ncmnd = \"x\"",
       "variant `dev`: pyproject.toml:2:8: a variant has no key `cmnd`"},
      {"[variants.dev.variants.x]\ncmd = \"x\"", "a variant has no key `variants`"},
      {"[variants.dev]\ndependency-group = 1",
       "pyproject.toml:2:20: [tool.ocifs.variants.dev] `dependency-group`: want the name"},
      {"[variants.dev]\ntag = \"bad tag\"", "variant `dev`: pyproject.toml:2:7"},
  };
  for (const auto& c : cases) {
    auto table = toml::parse(std::string_view(c.toml), std::string_view("pyproject.toml"));
    auto got = VariantsFromToml(table, "pyproject.toml");
    ASSERT_FALSE(got.ok()) << c.toml;
    EXPECT_NE(got.status().message().find(c.want), std::string::npos) << got.status().message();
  }
}

}  // namespace
}  // namespace ocifs
