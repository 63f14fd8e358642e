#include "core/live/mount_status.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/support/private_dir.h"
#include "core/support/test_util.h"

namespace ocifs {
namespace {

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(MountStatusTest, RuntimeDirPrefersXdgThenRunForRootThenTmp) {
  {
    ScopedEnv xdg("XDG_RUNTIME_DIR", "/run/user/1000");
    EXPECT_EQ(RuntimeDir(), "/run/user/1000/ocifs");
  }
  ScopedEnv none("XDG_RUNTIME_DIR", nullptr);
  EXPECT_EQ(RuntimeDir(), ::geteuid() == 0 ? std::string("/run/ocifs")
                                           : fmt::format("/tmp/ocifs-{}", ::geteuid()));
  ScopedEnv relative("XDG_RUNTIME_DIR", "relative/dir");  // not absolute: ignored
  EXPECT_NE(RuntimeDir().substr(0, 8), "relative");
}

TEST(MountStatusTest, WritesAndReadsInAPrivateDirectoryOnly) {
  TempDir t;
  ScopedEnv xdg("XDG_RUNTIME_DIR", t.path().c_str());
  const std::string path = StatusFilePath("/mnt/image");
  EXPECT_EQ(path.substr(0, t.path().size() + 7), t.path() + "/ocifs/");

  auto missing = ReadStatusFile(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);

  // The issue's repro: a link planted where the old writer put its temp file, to a 0600 file.
  t.Write("victim", "secret\n", std::filesystem::perms(0600));
  ASSERT_EQ(::mkdir((t.path() + "/ocifs").c_str(), 0700), 0);
  const std::string planted = path + ".tmp." + std::to_string(::getpid());
  ASSERT_EQ(::symlink((t.path() + "/victim").c_str(), planted.c_str()), 0);
  ASSERT_TRUE(WriteStatusFile(path, {{"pid", 42}}).ok());
  EXPECT_EQ(ReadFileOrDie(t.path() + "/victim"), "secret\n");
  struct stat st {};
  ASSERT_EQ(::stat((t.path() + "/ocifs").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  auto back = ReadStatusFile(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ((*back)["pid"], 42);

  // Not a JSON object: an error that names the file.
  t.Write("ocifs/" + path.substr(path.rfind('/') + 1), "[1, 2]", std::filesystem::perms(0600));
  auto bad = ReadStatusFile(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(path), std::string::npos) << bad.status().message();

  // A directory others can write is refused by the writer and the reader alike.
  ASSERT_EQ(::chmod((t.path() + "/ocifs").c_str(), 0777), 0);
  Status w = WriteStatusFile(path, {{"pid", 43}});
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.message().find("has mode 0777, not 0700"), std::string::npos) << w.message();
  auto r = ReadStatusFile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);

  ASSERT_EQ(::chmod((t.path() + "/ocifs").c_str(), 0700), 0);
  ASSERT_TRUE(RemoveStatusFile(path).ok());
  ASSERT_TRUE(RemoveStatusFile(path).ok());  // gone already: fine
  EXPECT_EQ(ReadStatusFile(path).status().code(), Code::kNotFound);
}

// The shape a reader may rely on: each field the daemon writes has its type, wherever it is.
TEST(MountStatusTest, CheckStatusJsonNamesTheFieldOfTheWrongType) {
  const std::string serving =
      R"("serving": {"read_requests": 3, "read_bytes": 4096, "stored_bytes": 0})";
  const struct {
    std::string json;
    std::string error;  // "" = accepted
  } cases[] = {
      {R"({"pid": 42, "generation": 1, "layers": []})", ""},
      {"{" + serving + "}", ""},
      {R"({"serving": {}})", ""},
      {R"({"serving": []})", "serving"},
      {R"({"serving": {"read_requests": -1}})", "serving.read_requests"},
      {R"({"serving": {"stored_bytes": "lots"}})", "serving.stored_bytes"},
      {R"({"cache": {"hits": "x"}})", "cache.hits"},
      {R"({"layers": [{"name": 1}]})", "layers[0].name"},
      {R"({"pid": "42"})", "pid"},
  };
  for (const auto& c : cases) {
    Status s = CheckStatusJson(nlohmann::json::parse(c.json));
    if (c.error.empty()) {
      EXPECT_TRUE(s.ok()) << c.json << ": " << s.message();
    } else {
      ASSERT_FALSE(s.ok()) << c.json;
      EXPECT_NE(s.message().find(c.error), std::string::npos) << c.json << ": " << s.message();
    }
  }
}

// A pid no process has: a child's after it was reaped (the kernel hands pids out in order, so
// it is not reused within a test).
pid_t DeadPid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

// What a sweep removes from the runtime directory and what it leaves: only the status files of
// pids that are gone whose mounts are gone too, and their writers' temporary files.
TEST(MountStatusTest, SweepRemovesOnlyWhatGoneDaemonsLeft) {
  TempDir t;
  ScopedEnv xdg("XDG_RUNTIME_DIR", t.path().c_str());
  const std::string dir = RuntimeDir();
  ASSERT_TRUE(OpenPrivateDir(dir).ok());
  const long dead = DeadPid(), alive = ::getpid();
  auto status_json = [](long pid) {
    return fmt::format(R"({{"pid": {}, "state": "ready"}})", pid);
  };
  auto name_of = [](const char* mountpoint) {
    return std::filesystem::path(StatusFilePath(mountpoint)).filename().string();
  };
  const std::string killed = name_of("/mnt/killed"), running = name_of("/mnt/running");
  const struct {
    std::string name;
    std::string content;
    bool removed;
  } cases[] = {
      {killed, status_json(dead), true},                 // a daemon killed with SIGKILL, unmounted
      {name_of("/mnt/dead"), status_json(dead), false},  // still mounted: `ocifs umount` it
      {running, status_json(alive), false},
      {name_of("/mnt/init"), status_json(1), false},       // alive, whoever it is
      {name_of("/mnt/shape"), "{\"pid\": \"42\"", false},  // not the daemon's JSON
      {name_of("/mnt/nopid"), R"({"state": "starting"})", false},
      {fmt::format("{}.tmp-{}-3-00beef", killed, dead), "{", true},     // killed before its rename
      {fmt::format("{}.tmp-{}-0-c0ffee", running, alive), "{", false},  // being written
      {fmt::format("{}.tmp-x-0-c0ffee", running), "{", false},          // not a pid
      {"notes.json", status_json(dead), false},                         // not a status file's name
      {"0123456789ABCDEF01234567.json", status_json(dead), false},      // upper-case hex
  };
  for (const auto& file : cases) {
    t.Write("ocifs/" + file.name, file.content, std::filesystem::perms(0600));
  }
  // A directory and a symlink with status file names are left alone.
  const std::string sub = name_of("/mnt/dir"), link = name_of("/mnt/link");
  ASSERT_EQ(::mkdir((dir + "/" + sub).c_str(), 0700), 0);
  t.Write("dead.json", status_json(dead));
  ASSERT_EQ(::symlink((t.path() + "/dead.json").c_str(), (dir + "/" + link).c_str()), 0);

  const std::vector<std::string> mount_points = {"/", "/proc", "/mnt/dead"};
  auto removed = SweepStatusFiles(dir, mount_points);
  ASSERT_TRUE(removed.ok()) << removed.status().message();
  EXPECT_EQ(*removed, 2u);
  for (const auto& file : cases) {
    EXPECT_EQ(std::filesystem::exists(dir + "/" + file.name), !file.removed) << file.name;
  }
  EXPECT_TRUE(std::filesystem::is_directory(dir + "/" + sub));
  EXPECT_TRUE(std::filesystem::is_symlink(dir + "/" + link));

  // A second sweep finds nothing more; a directory that does not exist has nothing to sweep.
  for (const std::string& where : {dir, t.path() + "/none"}) {
    auto again = SweepStatusFiles(where, mount_points);
    ASSERT_TRUE(again.ok()) << where << ": " << again.status().message();
    EXPECT_EQ(*again, 0u) << where;
  }
  // A runtime directory others may write is refused, as for reading a status file.
  ASSERT_EQ(::chmod(dir.c_str(), 0777), 0);
  EXPECT_FALSE(SweepStatusFiles(dir, mount_points).ok());
}

}  // namespace
}  // namespace ocifs
