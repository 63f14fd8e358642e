#include "core/oci/tar.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "core/oci/layer.h"
#include "core/support/test_util.h"

namespace ocifs {
namespace {

std::string Field(const std::string& block, size_t off, size_t len) {
  return block.substr(off, len);
}

TEST(TarTest, UstarHeaderFields) {
  TarEntry e;
  e.name = "app/main.py";
  e.mode = 0755;
  e.uid = 1000;
  e.gid = 1001;
  e.size = 5;
  std::string h = EncodeTarHeaders(e, 1700000000);
  ASSERT_EQ(h.size(), 512u);
  EXPECT_EQ(Field(h, 0, 12), "app/main.py\0"s);
  EXPECT_EQ(Field(h, 100, 8), "0000755\0"s);
  EXPECT_EQ(Field(h, 108, 8), "0001750\0"s);
  EXPECT_EQ(Field(h, 116, 8), "0001751\0"s);
  EXPECT_EQ(Field(h, 124, 12), "00000000005\0"s);
  EXPECT_EQ(Field(h, 136, 12), "14524770400\0"s);  // 1700000000 in octal
  EXPECT_EQ(h[156], '0');
  EXPECT_EQ(Field(h, 257, 8),
            "ustar\0"
            "00"s);
  EXPECT_EQ(Field(h, 265, 64), std::string(64, '\0'));  // no user or group names
  unsigned sum = 0;
  for (size_t i = 0; i < 512; ++i)
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
  EXPECT_EQ(std::strtoul(h.substr(148, 6).c_str(), nullptr, 8), sum);
}

TEST(TarTest, PaxOnlyWhereUstarCannotHoldTheValue) {
  struct Case {
    std::string name;
    TarEntry::Type type;
    std::string link;
    uint64_t size;
    std::vector<std::string> records;  // expected "key=value" records, in order
  };
  const std::string n100(100, 'n'), n101(101, 'n'), l101(101, 'l');
  const Case cases[] = {
      {n100, TarEntry::Type::kFile, "", 1, {}},
      {n101, TarEntry::Type::kFile, "", 1, {"path=" + n101}},
      {std::string(99, 'd'), TarEntry::Type::kDirectory, "", 0, {}},  // 99 + '/' fits
      {std::string(100, 'd'),
       TarEntry::Type::kDirectory,
       "",
       0,
       {"path=" + std::string(100, 'd') + "/"}},
      {"café.py", TarEntry::Type::kFile, "", 1, {"path=café.py"}},
      {"ln", TarEntry::Type::kSymlink, l101, 0, {"linkpath=" + l101}},
      {"ln", TarEntry::Type::kSymlink, "naïve", 0, {"linkpath=naïve"}},
      {"big", TarEntry::Type::kFile, "", 8ULL << 30, {"size=8589934592"}},
      {"almost", TarEntry::Type::kFile, "", (8ULL << 30) - 1, {}},
  };
  for (const auto& c : cases) {
    TarEntry e;
    e.name = c.name;
    e.type = c.type;
    e.link = c.link;
    e.size = c.size;
    std::string h = EncodeTarHeaders(e, 0);
    // The segment table is laid out from TarHeaderSize; the bytes come later from the encoder.
    EXPECT_EQ(TarHeaderSize(e), h.size()) << c.name;
    if (c.records.empty()) {
      EXPECT_EQ(h.size(), 512u) << c.name;
      continue;
    }
    ASSERT_GT(h.size(), 1024u) << c.name;
    EXPECT_EQ(h[156], 'x') << c.name;
    std::string data = h.substr(512, std::strtoul(h.substr(124, 12).c_str(), nullptr, 8));
    std::vector<std::string> got;
    std::istringstream in(data);
    std::string line;
    while (std::getline(in, line)) {
      size_t sp = line.find(' ');
      EXPECT_EQ(std::stoul(line.substr(0, sp)), line.size() + 1)
          << "record length counts itself: " << line;
      got.push_back(line.substr(sp + 1));
    }
    EXPECT_EQ(got, c.records) << c.name;
    EXPECT_EQ(h.find("atime"), std::string::npos);
    EXPECT_EQ(h.find("ctime"), std::string::npos);
  }
}

// A fixture with every kind of entry the packer makes.
std::shared_ptr<MemTree> FixtureTree() {
  auto t = std::make_shared<MemTree>();
  t->AddFile("empty", "");
  t->AddFile("hello.txt", "hello\n");
  t->AddFile("run.sh", "#!/bin/sh\necho hi\n", 0755);
  t->AddDir("pkg");
  t->AddFile("pkg/big.bin", std::string(70000, 'x') + "end");
  t->AddFile("pkg/café.py", "print('é')\n");
  t->AddHardlink("pkg/hard.txt", "hello.txt");
  t->AddSymlink("pkg/link", "../hello.txt");
  std::string deep = "d" + std::string(60, 'e');
  t->AddDir(deep);
  t->AddDir(deep + "/" + std::string(60, 'f'));
  t->AddDir(deep + "/" + std::string(60, 'f') + "/" + std::string(90, 'g'));
  t->AddFile(deep + "/" + std::string(60, 'f') + "/" + std::string(90, 'g') + "/long-name.py",
             "# deep\n");
  t->AddSymlink("longlink", std::string(120, 'z'));
  return t;
}

std::shared_ptr<const VirtualTar> FixtureTar() {
  PackOptions o;
  o.dest = "app";
  auto packed = PackTree(FixtureTree(), o);
  EXPECT_TRUE(packed.ok()) << packed.status().message();
  return VirtualTar::Build(std::move(packed->entries), 1700000000);
}

std::string StreamAll(const VirtualTar& tar) {
  std::string out;
  EXPECT_TRUE(tar.Stream(
                     [&](std::span<const std::byte> c) {
                       out.append(reinterpret_cast<const char*>(c.data()), c.size());
                     },
                     4096)
                  .ok());
  return out;
}

TEST(TarTest, RandomReadsEqualTheStream) {
  auto tar = FixtureTar();
  std::string all = StreamAll(*tar);
  ASSERT_EQ(all.size(), tar->size());
  ASSERT_EQ(all.size() % 512, 0u);
  EXPECT_EQ(all.substr(all.size() - 1024), std::string(1024, '\0'));
  std::mt19937_64 rng(42);
  for (int i = 0; i < 2000; ++i) {
    uint64_t off = rng() % all.size();
    size_t len = static_cast<size_t>(std::min<uint64_t>(rng() % 9000 + 1, all.size() - off));
    std::string buf(len, '\x55');
    ASSERT_TRUE(tar->ReadAt(off, std::as_writable_bytes(std::span(buf))).ok());
    ASSERT_EQ(buf, all.substr(off, len)) << "offset " << off << " length " << len;
  }
  std::string one(1, '\0');
  EXPECT_FALSE(tar->ReadAt(all.size(), std::as_writable_bytes(std::span(one))).ok())
      << "past the end";
}

TEST(TarTest, SameInputsSameBytes) {
  EXPECT_EQ(StreamAll(*FixtureTar()), StreamAll(*FixtureTar()));
}

// The key names digest cache entries: a change of its serialization orphans every entry, so it is
// pinned (MemTree's inodes and times are fixed). Change it only with kTarFormatVersion.
TEST(TarTest, CacheKeyIsPinned) {
  EXPECT_EQ(FixtureTar()->CacheKey().str(),
            "sha256:9c97d9a1472442e4a76d2190ded0f592b69822f78c721f03f26f1f0b6913d0a0");
}

// The same for every field the key writes: generated bytes, a link, owners and modes past
// ustar's fields, and a source file with a negative mtime and a large device number.
TEST(TarTest, CacheKeyOfEveryFieldIsPinned) {
  auto tree = std::make_shared<MemTree>();
  std::vector<TarEntry> entries(4);
  entries[0].name = "usr/bin/app";
  entries[0].mode = 0755;
  entries[0].data = std::make_shared<const std::string>("#!/bin/sh\nexec app \"$@\"\n");
  entries[0].size = entries[0].data->size();
  entries[1].name = "usr/lib";
  entries[1].type = TarEntry::Type::kDirectory;
  entries[1].mode = 02775;
  entries[1].uid = 4294967294u;
  entries[1].gid = 65534;
  entries[2].name = "usr/lib/data.bin";
  entries[2].size = 10'000'000'000ull;
  entries[2].tree = tree;
  entries[2].source_path = "data.bin";
  entries[2].source_info = {.type = FileType::kRegular,
                            .size = 10'000'000'000ull,
                            .mtime_ns = -1'234'567'890'123,
                            .ctime_ns = 1'700'000'000'000'000'001,
                            .ino = 18'446'744'073'709'551'615ull,
                            .dev = 66'305};
  entries[3].name = "usr/lib/link";
  entries[3].type = TarEntry::Type::kSymlink;
  entries[3].mode = 0777;
  entries[3].link = "data.bin";
  EXPECT_EQ(VirtualTar::Build(std::move(entries), -5)->CacheKey().str(),
            "sha256:4743f2ed48860a467c010c2c3f75bc4f6e713c66357ea08641bdb883d18b06bd");
}

// The key of a layer of thousands of entries (a dependencies tree) is hashed in pieces as its
// serialization grows; the pieces hash as the one serialization would. Pinned like the others.
TEST(TarTest, CacheKeyOfManyEntriesIsPinned) {
  auto tree = std::make_shared<MemTree>();
  std::vector<TarEntry> entries;
  for (int d = 0; d < 100; ++d) {
    TarEntry& dir = entries.emplace_back();
    dir.name = fmt::format("site-packages/pkg{:03}", d);
    dir.type = TarEntry::Type::kDirectory;
    dir.mode = 0755;
    for (int f = 0; f < 99; ++f) {
      TarEntry& e = entries.emplace_back();
      e.name = fmt::format("site-packages/pkg{:03}/module_{:02}.py", d, f);
      e.mode = 0644;
      e.size = static_cast<uint64_t>(d * 1000 + f);
      e.tree = tree;
      e.source_path = e.name.substr(14);
      e.source_info = {.type = FileType::kRegular,
                       .size = e.size,
                       .mtime_ns = 1'700'000'000'000'000'000 + d * 7 + f,
                       .ctime_ns = 1'700'000'000'000'000'000 + f * 13 + d,
                       .ino = static_cast<uint64_t>(d * 100 + f + 2),
                       .dev = 2049};
    }
  }
  ASSERT_EQ(entries.size(), 10'000u);
  EXPECT_EQ(VirtualTar::Build(std::move(entries), 0)->CacheKey().str(),
            "sha256:292b2bd9ed77f87426308d15f5fe04e17062ac7c5bc687ada8b377bb036c8260");
}

// A key started on its own thread is the key, however the calls come; a tar dropped while its key
// is being computed waits for it (the thread reads the tar's entries).
TEST(TarTest, StartedKeyIsTheKey) {
  const Digest want = FixtureTar()->CacheKey();
  struct Case {
    const char* name;
    std::function<Digest(const VirtualTar&)> key;
  };
  const Case cases[] = {
      {"started, then asked",
       [](const VirtualTar& t) {
         t.StartCacheKey();
         return t.CacheKey();
       }},
      {"started twice",
       [](const VirtualTar& t) {
         t.StartCacheKey();
         t.StartCacheKey();
         return t.CacheKey();
       }},
      {"asked, then started",
       [](const VirtualTar& t) {
         Digest d = t.CacheKey();
         t.StartCacheKey();
         return d;
       }},
      {"asked from threads while started",
       [](const VirtualTar& t) {
         t.StartCacheKey();
         std::vector<Digest> got(4);
         {
           std::vector<std::jthread> threads;
           for (auto& d : got) threads.emplace_back([&t, &d] { d = t.CacheKey(); });
         }
         for (const Digest& d : got) EXPECT_EQ(d, got.front());
         return got.front();
       }},
  };
  for (const auto& c : cases) EXPECT_EQ(c.key(*FixtureTar()), want) << c.name;
  for (int i = 0; i < 20; ++i) FixtureTar()->StartCacheKey();  // dropped at once
}

TEST(TarTest, ChangedSourceFailsTheRead) {
  auto tree = std::make_shared<MemTree>();
  tree->AddFile("a.txt", "aaaa");
  PackOptions o;
  o.dest = "app";
  auto packed = PackTree(tree, o);
  ASSERT_TRUE(packed.ok());
  auto tar = VirtualTar::Build(std::move(packed->entries), 0);
  std::string before = StreamAll(*tar);
  tree->Modify("a.txt", "bbbb");  // same size, new mtime
  std::string buf(tar->size(), '\0');
  Status s = tar->ReadAt(0, std::as_writable_bytes(std::span(buf)));
  EXPECT_EQ(s.code(), Code::kChanged) << s.message();
  EXPECT_NE(s.message().find("a.txt"), std::string::npos);
  // Headers alone (which do not touch the file) still read.
  std::string head(512, '\0');
  EXPECT_TRUE(tar->ReadAt(0, std::as_writable_bytes(std::span(head))).ok());
}

// What a read gives once a source file changed: the planned bytes while nothing changed, kChanged
// once the file or its name did, never other bytes. Both ways a layer reads its files: whole in
// one request (Tree::ReadFiles, opened again by name), and in part over several requests (the
// file stays open between them: VirtualTar's open files).
TEST(TarTest, ReadsGiveThePlannedBytesOrFailOnceASourceChanged) {
  const struct {
    const char* name;
    void (*change)(const std::string& file);
    bool still_reads;
  } cases[] = {
      {"unchanged", [](const std::string&) {}, true},
      {"replaced by a rename (a kept file's ctime moved as it lost its name)",
       [](const std::string& file) {
         std::ofstream(file + ".new") << "bbbbbbbb";
         std::filesystem::rename(file + ".new", file);
       },
       false},
      {"written in place, same size",
       [](const std::string& file) {
         std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
         f << "bbbb";
       },
       false},
      {"truncated", [](const std::string& file) { std::filesystem::resize_file(file, 2); }, false},
  };
  // Reads the whole tar in requests of `piece` bytes.
  auto read_in = [](const VirtualTar& tar, uint64_t piece, std::string& out) {
    out.assign(tar.size(), '\0');
    for (uint64_t at = 0; at < tar.size(); at += piece) {
      auto span = std::as_writable_bytes(std::span(out)).subspan(at);
      OCIFS_RETURN_IF_ERROR(tar.ReadAt(at, span.first(std::min<uint64_t>(piece, span.size()))));
    }
    return Status::Ok();
  };
  for (const uint64_t piece : {uint64_t{1} << 20, uint64_t{1000}}) {
    for (const auto& c : cases) {
      const std::string what = fmt::format("{} (requests of {} bytes)", c.name, piece);
      TempDir dir;
      dir.Write("a.txt", std::string(3000, 'a'));
      auto tree = OpenPosixTree(dir.path());
      ASSERT_TRUE(tree.ok());
      PackOptions o;
      o.dest = "app";
      auto packed = PackTree(std::move(tree).value(), o);
      ASSERT_TRUE(packed.ok());
      auto tar = VirtualTar::Build(std::move(packed->entries), 0);
      std::string before, again;
      ASSERT_TRUE(read_in(*tar, piece, before).ok()) << what;  // in parts: a.txt is kept open
      EXPECT_EQ(before, StreamAll(*tar)) << what;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a new mtime for a write
      c.change(dir.path() + "/a.txt");
      Status s = read_in(*tar, piece, again);
      if (c.still_reads) {
        EXPECT_TRUE(s.ok()) << what << ": " << s.message();
        EXPECT_EQ(again, before) << what;
      } else {
        EXPECT_EQ(s.code(), Code::kChanged) << what << ": " << s.message();
      }
    }
  }
}

// GNU tar, bsdtar and Python's tarfile must list and extract the fixture with the same content.
TEST(TarTest, ExternalToolsReadTheFixture) {
  auto tar = FixtureTar();
  TempDir dir;
  const std::string file = dir.path() + "/layer.tar";
  {
    std::ofstream out(file, std::ios::binary);
    std::string all = StreamAll(*tar);
    out.write(all.data(), static_cast<std::streamsize>(all.size()));
  }
  const std::string deep = "app/d" + std::string(60, 'e') + "/" + std::string(60, 'f') + "/" +
                           std::string(90, 'g') + "/long-name.py";
  struct Tool {
    std::string name, list, extract;
  };
  const Tool tools[] = {
      {"gnu-tar", "tar -tf " + file, "tar -xf " + file + " -C "},
      {"bsdtar", "bsdtar -tf " + file, "bsdtar -xf " + file + " -C "},
      {"python-tarfile",
       "python3 -c 'import sys,tarfile; [print(n) for n in "
       "tarfile.open(sys.argv[1]).getnames()]' " +
           file,
       "python3 -c 'import sys,tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' " +
           file + " "},
  };
  for (const auto& tool : tools) {
    std::string listing = RunCapture(tool.list);
    for (const std::string want :
         {"app/hello.txt", "app/pkg/café.py", "app/pkg/hard.txt", "app/longlink", deep.c_str()}) {
      EXPECT_NE(listing.find(want), std::string::npos)
          << tool.name << " does not list " << want << ":\n"
          << listing;
    }
    const std::string out = dir.path() + "/" + tool.name;
    std::filesystem::create_directory(out);
    ASSERT_EQ(std::system((tool.extract + out).c_str()), 0) << tool.name;
    EXPECT_EQ(ReadFileOrDie(out + "/app/hello.txt"), "hello\n") << tool.name;
    EXPECT_EQ(ReadFileOrDie(out + "/app/pkg/hard.txt"), "hello\n") << tool.name;
    EXPECT_EQ(ReadFileOrDie(out + "/app/pkg/café.py"), "print('é')\n") << tool.name;
    EXPECT_EQ(ReadFileOrDie(out + "/app/pkg/big.bin"), std::string(70000, 'x') + "end")
        << tool.name;
    EXPECT_EQ(ReadFileOrDie(out + "/" + deep), "# deep\n") << tool.name;
    EXPECT_EQ(std::filesystem::read_symlink(out + "/app/pkg/link").string(), "../hello.txt")
        << tool.name;
    EXPECT_EQ(std::filesystem::read_symlink(out + "/app/longlink").string(), std::string(120, 'z'))
        << tool.name;
    EXPECT_EQ(std::filesystem::hard_link_count(out + "/app/hello.txt"), 2u) << tool.name;
    auto perms = std::filesystem::status(out + "/app/run.sh").permissions();
    EXPECT_NE(perms & std::filesystem::perms::owner_exec, std::filesystem::perms::none)
        << tool.name;
  }
}

}  // namespace
}  // namespace ocifs
