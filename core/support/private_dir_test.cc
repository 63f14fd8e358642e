#include "core/support/private_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>

#include <gtest/gtest.h>

#include "core/support/atomic_file.h"
#include "core/support/test_util.h"

namespace ocifs {
namespace {

namespace fs = std::filesystem;

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// What is at the directory's place before OpenPrivateDir, and what it must say.
TEST(PrivateDirTest, OpensOnlyADirectoryOfTheUsersOwnWithMode0700) {
  struct Case {
    std::string name;
    std::function<void(const std::string& dir, const std::string& elsewhere)> plant;
    LooseMode loose;
    std::string error;  // empty: opened
    mode_t mode_after;
  };
  const bool root = ::geteuid() == 0;
  std::vector<Case> cases = {
      {"missing: made 0700", [](auto&, auto&) {}, LooseMode::kRefuse, "", 0700},
      {"0700 already", [](auto& d, auto&) { ::mkdir(d.c_str(), 0700); }, LooseMode::kRefuse, "",
       0700},
      {"0777 refused",
       [](auto& d, auto&) {
         ::mkdir(d.c_str(), 0700);
         ::chmod(d.c_str(), 0777);
       },
       LooseMode::kRefuse, "has mode 0777, not 0700", 0777},
      {"0755 tightened for the cache",
       [](auto& d, auto&) {
         ::mkdir(d.c_str(), 0700);
         ::chmod(d.c_str(), 0755);
       },
       LooseMode::kTighten, "", 0700},
      {"a symlink to a directory of the user's",
       [](auto& d, auto& other) {
         ::mkdir(other.c_str(), 0700);
         (void)::symlink(other.c_str(), d.c_str());
       },
       LooseMode::kTighten, "is a symlink", 0777},
      {"a regular file", [](auto& d, auto&) { std::ofstream(d) << "x"; }, LooseMode::kRefuse,
       "is not a directory", 0644},
  };
  if (root) {
    // Another user's directory, as a squatter would make /tmp/ocifs-0 before the daemon does.
    cases.push_back({"another user's",
                     [](auto& d, auto&) {
                       ::mkdir(d.c_str(), 0700);
                       EXPECT_EQ(::chown(d.c_str(), 65534, 65534), 0);
                     },
                     LooseMode::kTighten, "belongs to uid 65534, not to uid 0", 0700});
  }
  for (const auto& c : cases) {
    TempDir t;
    const std::string dir = t.path() + "/ocifs-0", elsewhere = t.path() + "/elsewhere";
    ::umask(022);
    c.plant(dir, elsewhere);
    auto fd = OpenPrivateDir(dir, c.loose);
    if (c.error.empty()) {
      ASSERT_TRUE(fd.ok()) << c.name << ": " << fd.status().message();
      EXPECT_TRUE(fd->valid());
    } else {
      ASSERT_FALSE(fd.ok()) << c.name;
      EXPECT_EQ(fd.status().code(), Code::kPermissionDenied) << c.name;
      EXPECT_NE(fd.status().message().find("`" + dir + "`"), std::string::npos)
          << fd.status().message();
      EXPECT_NE(fd.status().message().find(c.error), std::string::npos)
          << c.name << ": " << fd.status().message();
    }
    EXPECT_EQ(ModeOf(dir), c.mode_after) << c.name;
    // A reader sees the same verdict, and NotFound for nothing at all.
    auto seen = OpenExistingPrivateDir(dir);
    EXPECT_EQ(seen.ok(), c.error.empty()) << c.name;
  }
  TempDir t;
  auto none = OpenExistingPrivateDir(t.path() + "/nothing");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kNotFound);
  // Parents are made when asked (the cache under ~/.cache).
  auto deep = OpenPrivateDir(t.path() + "/a/b/ocifs", LooseMode::kTighten, true);
  ASSERT_TRUE(deep.ok()) << deep.status().message();
  EXPECT_EQ(ModeOf(t.path() + "/a/b/ocifs"), 0700u);
}

TEST(PrivateDirTest, AtomicWritesNeverFollowAPlantedLink) {
  TempDir t;
  t.Write("victim", "root's secret\n", fs::perms(0600));
  const std::string victim = t.path() + "/victim";
  auto dir = OpenPrivateDir(t.path() + "/run");
  ASSERT_TRUE(dir.ok()) << dir.status().message();
  // A link at the temp name the status file had before (`<name>.tmp.<pid>`, the issue's
  // repro), which the old writer opened with std::ofstream and so wrote through.
  const std::string old_tmp = t.path() + "/run/s.json.tmp." + std::to_string(::getpid());
  ASSERT_EQ(::symlink(victim.c_str(), old_tmp.c_str()), 0);
  Status s = WriteFileAtomicallyAt(dir->get(), "s.json", "{}\n", "s.json", 0600);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(ReadFileOrDie(victim), "root's secret\n");
  auto back = ReadFileAt(dir->get(), "s.json", "s.json");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, "{}\n");
  EXPECT_EQ(ModeOf(t.path() + "/run/s.json"), 0600u);
  // Nothing is left beside it but the planted link.
  EXPECT_EQ(std::distance(fs::directory_iterator(t.path() + "/run"), fs::directory_iterator()), 2);
  // A link at the final name is replaced by the rename, never written through; a reader never
  // follows one either.
  ASSERT_EQ(::unlink((t.path() + "/run/s.json").c_str()), 0);
  ASSERT_EQ(::symlink(victim.c_str(), (t.path() + "/run/s.json").c_str()), 0);
  auto through = ReadFileAt(dir->get(), "s.json", "s.json");
  EXPECT_FALSE(through.ok());
  ASSERT_TRUE(WriteFileAtomicallyAt(dir->get(), "s.json", "{\"a\":1}\n", "s.json").ok());
  EXPECT_EQ(ReadFileOrDie(victim), "root's secret\n");
  EXPECT_EQ(ReadFileOrDie(t.path() + "/run/s.json"), "{\"a\":1}\n");
}

// Where a scratch directory is made, with which TMPDIR, and that it leaves nothing behind.
TEST(ScratchDirTest, IsMadeUnderTmpdirPrivateAndRemovedWithItsContent) {
  TempDir t;
  const char* saved = std::getenv("TMPDIR");
  const std::string restore = saved != nullptr ? saved : "";
  struct Case {
    std::optional<std::string> tmpdir;  // nullopt: unset
    std::string parent;
  };
  const std::vector<Case> cases = {{t.path(), t.path()}, {"", "/tmp"}, {std::nullopt, "/tmp"}};
  for (const Case& c : cases) {
    if (c.tmpdir) {
      ::setenv("TMPDIR", c.tmpdir->c_str(), 1);
    } else {
      ::unsetenv("TMPDIR");
    }
    std::string path;
    {
      auto dir = ScratchDir::Make("ocifs-unit");
      ASSERT_TRUE(dir.ok()) << dir.status().message();
      path = dir->path();
      EXPECT_EQ(fs::path(path).parent_path().string(), c.parent);
      EXPECT_TRUE(fs::path(path).filename().string().starts_with("ocifs-unit-"));
      EXPECT_EQ(ModeOf(path), 0700u);
      std::ofstream(path + "/f") << "x";
      fs::create_directories(path + "/a/b");
      ScratchDir moved = std::move(*dir);  // the moved-from object removes nothing
      EXPECT_TRUE(moved.path() == path && dir->path().empty());
    }
    EXPECT_FALSE(fs::exists(path)) << path;
  }
  ::setenv("TMPDIR", (t.path() + "/missing").c_str(), 1);
  auto missing = ScratchDir::Make("ocifs-unit");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(t.path() + "/missing/ocifs-unit-"), std::string::npos)
      << missing.status().message();
  if (saved != nullptr) {
    ::setenv("TMPDIR", restore.c_str(), 1);
  } else {
    ::unsetenv("TMPDIR");
  }
}

}  // namespace
}  // namespace ocifs
