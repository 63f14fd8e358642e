#include "core/oci/layer.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "core/support/test_util.h"

namespace ocifs {
namespace {

std::vector<std::string> Names(const PackResult& r) {
  std::vector<std::string> out;
  for (const auto& e : r.entries)
    out.push_back(e.type == TarEntry::Type::kDirectory ? e.name + "/" : e.name);
  return out;
}

// Packs `t` at "app" with the ignore rules in `ignore_file` (.dockerignore syntax).
Result<PackResult> PackWithIgnore(std::shared_ptr<MemTree> t, const std::string& ignore_file) {
  IgnoreRules ignore;
  OCIFS_RETURN_IF_ERROR(ignore.AddFile(ignore_file, "`test`"));
  PackOptions o;
  o.dest = "app";
  o.ignore = &ignore;
  return PackTree(std::move(t), o);
}

const TarEntry* FindEntry(const PackResult& r, const std::string& name) {
  for (const auto& e : r.entries) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

TEST(LayerTest, SortedWithParentsAndDestination) {
  auto t = std::make_shared<MemTree>();
  t->AddDir("a")
      .AddFile("a/x.py", "x")
      .AddFile("a-b", "y")
      .AddFile("a.py", "z")
      .AddDir("a/sub")
      .AddFile("a/sub/q", "q");
  PackOptions o;
  o.dest = "srv/app";
  auto r = PackTree(t, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Names(*r), (std::vector<std::string>{"srv/", "srv/app/", "srv/app/a-b", "srv/app/a.py",
                                                 "srv/app/a/", "srv/app/a/sub/", "srv/app/a/sub/q",
                                                 "srv/app/a/x.py"}));
  EXPECT_EQ(FindEntry(*r, "srv")->mode, 0755u);
}

// Generated files go in order among the packed ones, with their missing parents; a clash is an
// error. With PackOptions::room from GeneratedRoom, adding them leaves every packed entry where
// it was (no new array).
TEST(LayerTest, GeneratedFilesMergeInPlace) {
  auto t = std::make_shared<MemTree>();
  t->AddDir("lib").AddFile("lib/mod.py", "m").AddFile("zz.py", "z");
  auto generated = [](std::vector<std::string> names) {
    std::vector<TarEntry> out;
    for (auto& n : names) {
      TarEntry e;
      e.name = std::move(n);
      e.data = std::make_shared<const std::string>("#!/bin/sh\n");
      e.size = e.data->size();
      out.push_back(std::move(e));
    }
    return out;
  };
  struct Case {
    std::vector<std::string> generated;
    size_t room;
    std::vector<std::string> names;  // empty: a clash
  };
  const Case cases[] = {
      {{"usr/bin/a"},
       3,
       {"usr/", "usr/app/", "usr/app/lib/", "usr/app/lib/mod.py", "usr/app/zz.py", "usr/bin/",
        "usr/bin/a"}},
      {{"usr/bin/b", "usr/app/lib/gen.py", "etc/x"},
       9,
       {"etc/", "etc/x", "usr/", "usr/app/", "usr/app/lib/", "usr/app/lib/gen.py",
        "usr/app/lib/mod.py", "usr/app/zz.py", "usr/bin/", "usr/bin/b"}},
      {{"usr/app/zz.py"}, 3, {}},
  };
  for (const Case& c : cases) {
    auto gen = generated(c.generated);
    EXPECT_EQ(GeneratedRoom(gen), c.room) << c.generated.front();
    PackOptions o;
    o.dest = "usr/app";
    o.room = GeneratedRoom(gen);
    auto r = PackTree(t, o);
    ASSERT_TRUE(r.ok()) << r.status().message();
    const TarEntry* before = r->entries.data();
    Status s = AddGeneratedFiles(r->entries, std::move(gen));
    if (c.names.empty()) {
      EXPECT_FALSE(s.ok()) << c.generated.front() << ": a clash";
      continue;
    }
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(Names(*r), c.names);
    EXPECT_EQ(r->entries.data(), before) << c.generated.front() << ": the entries moved";
  }
}

TEST(LayerTest, OwnerAndModes) {
  auto t = std::make_shared<MemTree>();
  t->AddFile("suid", "x", 04755)
      .AddFile("sgid", "x", 02750)
      .AddDir("sticky", 01777)
      .AddFile("plain", "x", 0600);
  t->SetTimesAndOwner("plain", 123456789, 1234, 5678);  // host owner and mtime must not leak
  PackOptions o;
  o.dest = "app";
  o.uid = 1000;
  o.gid = 1000;
  auto r = PackTree(t, o);
  ASSERT_TRUE(r.ok());
  struct Case {
    std::string name;
    uint32_t mode;
  };
  for (const Case& c : {Case{"app/suid", 0755}, Case{"app/sgid", 0750}, Case{"app/sticky", 0777},
                        Case{"app/plain", 0600}}) {
    const TarEntry* e = FindEntry(*r, c.name);
    ASSERT_NE(e, nullptr) << c.name;
    EXPECT_EQ(e->mode, c.mode) << c.name;
    EXPECT_EQ(e->uid, 1000u) << c.name;
    EXPECT_EQ(e->gid, 1000u) << c.name;
  }
}

TEST(LayerTest, PackingPolicy) {
  enum class Want { kPacked, kWarned, kError };
  struct Case {
    std::string what;
    std::function<void(MemTree&)> setup;
    std::string path;  // the entry in question, relative to the tree
    Want want;
    Want strict_want;
    std::string message;  // a substring of the warning or error
  };
  const Case cases[] = {
      {"relative symlink inside",
       [](MemTree& t) { t.AddDir("d").AddSymlink("d/l", "../f").AddFile("f", "x"); }, "d/l",
       Want::kPacked, Want::kPacked, ""},
      {"symlink to a directory", [](MemTree& t) { t.AddDir("d").AddSymlink("l", "d"); }, "l",
       Want::kPacked, Want::kPacked, ""},
      {"absolute symlink", [](MemTree& t) { t.AddSymlink("l", "/etc/passwd"); }, "l", Want::kWarned,
       Want::kError, "symlink `l` -> `/etc/passwd`: it is absolute"},
      {"escaping symlink", [](MemTree& t) { t.AddDir("d").AddSymlink("d/l", "../../x"); }, "d/l",
       Want::kWarned, Want::kError, "symlink `d/l` -> `../../x`: it points outside"},
      {"fifo", [](MemTree& t) { t.AddSpecial("p", FileType::kFifo); }, "p", Want::kWarned,
       Want::kError, "FIFO `p`"},
      {"socket", [](MemTree& t) { t.AddSpecial("s", FileType::kSocket); }, "s", Want::kWarned,
       Want::kError, "socket `s`"},
      {"device", [](MemTree& t) { t.AddSpecial("dev", FileType::kCharDevice); }, "dev",
       Want::kWarned, Want::kError, "character device `dev`"},
      {"unreadable file", [](MemTree& t) { t.AddFile("secret", "x").SetError("secret", EACCES); },
       "secret", Want::kError, Want::kError, "`secret`: not readable: Permission denied"},
      {"unreadable directory", [](MemTree& t) { t.AddDir("locked").SetError("locked", EACCES); },
       "locked", Want::kError, Want::kError, "`locked`: open directory: Permission denied"},
      {"non-UTF-8 name", [](MemTree& t) { t.AddFile("bad\xff.py", "x"); }, "bad\xff.py",
       Want::kError, Want::kError, "`bad\\xff.py` in `mem:`: the name is not valid UTF-8"},
      {"whiteout name", [](MemTree& t) { t.AddFile(".wh.gone", "x"); }, ".wh.gone", Want::kError,
       Want::kError, "`.wh.gone` in `mem:`: names starting with `.wh.`"},
      {"UTF-8 name", [](MemTree& t) { t.AddFile("naïve.py", "x"); }, "naïve.py", Want::kPacked,
       Want::kPacked, ""},
  };
  for (const auto& c : cases) {
    for (bool strict : {false, true}) {
      auto t = std::make_shared<MemTree>();
      c.setup(*t);
      PackOptions o;
      o.dest = "app";
      o.strict = strict;
      auto r = PackTree(t, o);
      Want want = strict ? c.strict_want : c.want;
      std::string label = c.what + (strict ? " (strict)" : "");
      if (want == Want::kError) {
        ASSERT_FALSE(r.ok()) << label;
        EXPECT_NE(r.status().message().find(c.message), std::string::npos)
            << label << ": " << r.status().message();
        continue;
      }
      ASSERT_TRUE(r.ok()) << label << ": " << r.status().message();
      bool packed = FindEntry(*r, "app/" + c.path) != nullptr;
      EXPECT_EQ(packed, want == Want::kPacked) << label;
      if (want == Want::kWarned) {
        ASSERT_EQ(r->warnings.size(), 1u) << label;
        EXPECT_NE(r->warnings[0].find(c.message), std::string::npos)
            << label << ": " << r->warnings[0];
      } else {
        EXPECT_TRUE(r->warnings.empty()) << label;
      }
    }
  }
}

TEST(LayerTest, HardlinksPointToTheFirstNameInOrder) {
  auto t = std::make_shared<MemTree>();
  t->AddFile("z.txt", "same").AddHardlink("a.txt", "z.txt").AddHardlink("m.txt", "z.txt");
  PackOptions o;
  o.dest = "app";
  auto r = PackTree(t, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(FindEntry(*r, "app/a.txt")->type, TarEntry::Type::kFile);
  for (const char* n : {"app/m.txt", "app/z.txt"}) {
    const TarEntry* e = FindEntry(*r, n);
    EXPECT_EQ(e->type, TarEntry::Type::kHardlink) << n;
    EXPECT_EQ(e->link, "app/a.txt") << n;
    EXPECT_EQ(e->size, 0u) << n;
  }
}

TEST(LayerTest, IgnoreRulesAndReincludedChildren) {
  auto t = std::make_shared<MemTree>();
  t->AddDir("docs")
      .AddFile("docs/a.md", "a")
      .AddFile("docs/keep.md", "k")
      .AddDir(".git")
      .AddFile(".git/HEAD", "h");
  t->AddFile("main.py", "m");
  auto r = PackWithIgnore(t, ".git\ndocs\n!docs/keep.md");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Names(*r),
            (std::vector<std::string>{"app/", "app/docs/", "app/docs/keep.md", "app/main.py"}));
}

// A tree whose listing of one directory fails, as an unreadable directory's does on disk.
class FailingListTree : public Tree {
 public:
  FailingListTree(std::shared_ptr<const MemTree> inner, std::string failing)
      : inner_(std::move(inner)), failing_(std::move(failing)) {}
  const std::string& root_name() const override { return inner_->root_name(); }
  Result<FileInfo> Lstat(std::string_view path) const override { return inner_->Lstat(path); }
  Result<std::vector<DirEntry>> ReadDir(std::string_view path) const override {
    if (path == failing_) return ErrnoStatus(EACCES, path, "open directory");
    return inner_->ReadDir(path);
  }
  Result<std::string> ReadLink(std::string_view path) const override {
    return inner_->ReadLink(path);
  }
  Result<std::unique_ptr<File>> Open(std::string_view path) const override {
    return inner_->Open(path);
  }

 private:
  std::shared_ptr<const MemTree> inner_;
  std::string failing_;
};

// Directories are listed ahead of the walk on two threads (Listings). A tree of many directories
// still packs in the order of its full tar names, every directory the walk goes into is handed to
// on_directory once (and none it skips), and a listing that fails fails the pack where the walk
// reaches it, and only there.
TEST(LayerTest, DirectoriesListedAheadGiveTheWalksEntriesAndErrors) {
  auto t = std::make_shared<MemTree>();
  std::vector<std::string> all = {"app/"};  // what packs with no ignore rules, tar names
  std::set<std::string> dirs = {""};
  for (int p = 0; p < 30; ++p) {
    const std::string pkg = fmt::format("pkg{}", p);
    t->AddDir(pkg).AddFile(pkg + "/__init__.py", "");
    all.insert(all.end(), {"app/" + pkg + "/", "app/" + pkg + "/__init__.py"});
    dirs.insert(pkg);
    for (int d = 0; d < 4; ++d) {
      const std::string sub = fmt::format("{}/sub{}", pkg, d);
      t->AddDir(sub).AddFile(sub + "/m.py", "x").AddFile(sub + "-m.py", "y");
      all.insert(all.end(), {"app/" + sub + "/", "app/" + sub + "/m.py", "app/" + sub + "-m.py"});
      dirs.insert(sub);
    }
  }
  t->AddDir("cache").AddDir("cache/deep").AddFile("cache/deep/blob", "b");
  t->AddDir("docs").AddFile("docs/a.md", "a").AddFile("docs/keep.md", "k");
  all.insert(all.end(), {"app/cache/", "app/cache/deep/", "app/cache/deep/blob", "app/docs/",
                         "app/docs/a.md", "app/docs/keep.md"});
  std::sort(all.begin(), all.end());
  auto without = [&](std::initializer_list<std::string_view> gone) {
    std::vector<std::string> out;
    for (const auto& n : all) {
      if (std::none_of(gone.begin(), gone.end(), [&](auto g) { return n.starts_with(g); }))
        out.push_back(n);
    }
    return out;
  };

  struct Case {
    std::string name;
    std::string ignore;   // .dockerignore lines; empty: no rules
    std::string failing;  // the directory whose listing fails; empty: none
    std::vector<std::string> want;
    std::set<std::string> listed;  // the directories on_directory gets
    std::string error;             // a part of the error, if the pack fails
  };
  std::set<std::string> but_cache = dirs;
  but_cache.insert("docs");
  std::set<std::string> everything = but_cache;
  everything.insert({"cache", "cache/deep"});
  const std::vector<Case> cases = {
      {"every directory", "", "", all, everything, ""},
      {"an ignored directory is not listed", "cache", "", without({"app/cache/"}), but_cache, ""},
      {"an ignored directory with a file included again is listed", "docs\n!docs/keep.md", "",
       without({"app/docs/a.md"}), everything, ""},
      {"a failing listing fails the pack", "", "pkg17/sub2", {}, {}, "pkg17/sub2"},
      {"a failing listing under an ignored directory is no error", "cache", "cache/deep",
       without({"app/cache/"}), but_cache, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    IgnoreRules ignore;
    ASSERT_TRUE(ignore.AddFile(c.ignore, "`test`").ok());
    std::mutex mu;
    std::multiset<std::string> seen;
    PackOptions o;
    o.dest = "app";
    o.ignore = &ignore;
    o.on_directory = [&](const std::string& dir) {
      std::lock_guard lock(mu);
      seen.insert(dir);
    };
    std::shared_ptr<const Tree> tree = t;
    if (!c.failing.empty()) tree = std::make_shared<FailingListTree>(t, c.failing);
    auto r = PackTree(tree, o);
    if (!c.error.empty()) {
      ASSERT_FALSE(r.ok());
      EXPECT_NE(r.status().message().find(c.error), std::string::npos) << r.status().message();
      continue;
    }
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(Names(*r), c.want);
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), c.listed);
    EXPECT_EQ(seen.size(), c.listed.size()) << "each directory once";
  }
}

TEST(LayerTest, BadNamesInIgnoredPlacesAreNoError) {
  auto t = std::make_shared<MemTree>();
  t->AddFile("main.py", "m").AddFile("bad\xff.log", "x").AddFile(".wh.cache", "x");
  t->AddDir("node_modules").AddFile("node_modules/\xfe", "x");
  auto r = PackWithIgnore(t, "*.log\n.wh.*\nnode_modules");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Names(*r), (std::vector<std::string>{"app/", "app/main.py"}));
}

TEST(LayerTest, NeverOpensFifosOrSocketsOnDisk) {
  TempDir dir;
  dir.Write("main.py", "print(1)\n");
  ASSERT_EQ(::mkfifo((dir.path() + "/pipe").c_str(), 0644), 0);
  int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::string sock_path = dir.path() + "/sock";
  ASSERT_LT(sock_path.size(), sizeof addr.sun_path);
  std::strcpy(addr.sun_path, sock_path.c_str());
  ASSERT_EQ(::bind(sock, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr), 0);
  auto tree = OpenPosixTree(dir.path());
  ASSERT_TRUE(tree.ok());
  PackOptions o;
  o.dest = "app";
  // Opening the FIFO would block this test forever; it must only be stat'ed and left out.
  auto r = PackTree(std::shared_ptr<const Tree>(std::move(tree).value()), o);
  ::close(sock);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Names(*r), (std::vector<std::string>{"app/", "app/main.py"}));
  ASSERT_EQ(r->warnings.size(), 2u);
  EXPECT_NE(r->warnings[0].find("FIFO `pipe`"), std::string::npos);
  EXPECT_NE(r->warnings[1].find("socket `sock`"), std::string::npos);
}

TEST(LayerTest, SparseFilesAreStoredDense) {
  TempDir dir;
  {
    int fd = ::open((dir.path() + "/sparse").c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "end", 3, 1 << 20), 3);  // a 1 MiB hole, then 3 bytes
    ::close(fd);
  }
  auto tree = OpenPosixTree(dir.path());
  ASSERT_TRUE(tree.ok());
  PackOptions o;
  o.dest = "app";
  auto r = PackTree(std::shared_ptr<const Tree>(std::move(tree).value()), o);
  ASSERT_TRUE(r.ok());
  auto tar = VirtualTar::Build(std::move(r->entries), 0);
  std::string all;
  ASSERT_TRUE(tar->Stream([&](std::span<const std::byte> c) {
                   all.append(reinterpret_cast<const char*>(c.data()), c.size());
                 })
                  .ok());
  // header(app/) + header(app/sparse) + 1 MiB + 3 bytes padded + end marker
  ASSERT_EQ(all.size(), 512u + 512u + ((1u << 20) + 512u) + 1024u);
  EXPECT_EQ(all.substr(1024, 1 << 20), std::string(1 << 20, '\0'));
  EXPECT_EQ(all.substr(1024 + (1 << 20), 3), "end");
}

TEST(LayerTest, Utf8Validation) {
  struct Case {
    std::string s;
    bool ok;
  };
  const Case cases[] = {{"plain", true},
                        {"café", true},
                        {"日本", true},
                        {"\xf0\x9f\x90\x8d", true},
                        {"\xff", false},
                        {"\xc3", false},
                        {"\xc0\xaf", false},
                        {"\xed\xa0\x80", false},
                        {"\xf4\x90\x80\x80", false},
                        {"a\xe2\x82", false}};
  for (const auto& c : cases) EXPECT_EQ(IsValidUtf8(c.s), c.ok) << c.s;
}

TEST(LayerTest, LeftOutSecretsAreListed) {
  auto t = std::make_shared<MemTree>();
  t->AddFile(".env", "K=V")
      .AddFile("app.py", "x")
      .AddDir("deploy")
      .AddFile("deploy/id_rsa", "key")
      .AddFile("notes.md", "n");
  IgnoreRules ignore, secrets;
  ASSERT_TRUE(ignore.AddFile(".env\n**/id_rsa*\n*.md\n", "`test`").ok());
  ASSERT_TRUE(secrets.AddFile("**/.env\n**/id_rsa*\n", "`secrets`").ok());
  PackOptions o;
  o.dest = "app";
  o.ignore = &ignore;
  o.secrets = &secrets;
  auto r = PackTree(t, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->left_out_secrets, (std::vector<std::string>{".env", "deploy/id_rsa"}));
  EXPECT_EQ(Names(*r), (std::vector<std::string>{"app/", "app/app.py", "app/deploy/"}));
}

}  // namespace
}  // namespace ocifs
