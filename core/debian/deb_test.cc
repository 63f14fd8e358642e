#include "core/debian/deb.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/support/byte_stream_test_util.h"
#include "core/support/test_util.h"
#include "ocifs/subprocess.hpp"

namespace ocifs::debian {
namespace {

// Real .deb files, made by dpkg-deb from a package tree that looks like a small library package:
// a shared library with its SONAME link, docs, a conffile, md5sums, a triggers file.
class DebTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path();
    const std::string pkg = "libdemo1/";
    tmp_.Write(pkg + "usr/lib/x86_64-linux-gnu/libdemo.so.1.2.3", std::string(70000, '\x7f'));
    std::filesystem::create_symlink("libdemo.so.1.2.3",
                                    dir_ / pkg / "usr/lib/x86_64-linux-gnu/libdemo.so.1");
    tmp_.Write(pkg + "usr/share/doc/libdemo1/copyright",
               "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n");
    tmp_.Write(pkg + "etc/demo/demo.conf", "level = 1\n");
    tmp_.Write(pkg + "DEBIAN/control",
               "Package: libdemo1\nVersion: 1.2.3-1\nArchitecture: amd64\nMaintainer: ocifs "
               "<test@ocifs.invalid>\n"
               "Multi-Arch: same\nDepends: libc6 (>= 2.34)\nSection: libs\nPriority: optional\n"
               "Description: demo library\n A library that only tests use.\n");
    tmp_.Write(pkg + "DEBIAN/conffiles", "/etc/demo/demo.conf\n");
    tmp_.Write(pkg + "DEBIAN/triggers", "activate-noawait ldconfig\n");
    tmp_.Write(pkg + "DEBIAN/md5sums", "0123  usr/share/doc/libdemo1/copyright\n");
    for (const char* z : {"xz", "gzip", "zstd", "none"}) {
      sdk::RunResult r = sdk::RunProcess({"dpkg-deb", "--root-owner-group", "-Z", z, "--build",
                                          (dir_ / pkg).string(),
                                          (dir_ / (std::string("demo-") + z + ".deb")).string()});
      ASSERT_EQ(r.exit, 0) << z << ": " << r.err;
    }
    auto tree = OpenPosixTree(dir_.string());
    ASSERT_TRUE(tree.ok());
    tree_ = std::shared_ptr<Tree>(std::move(*tree));
  }
  std::shared_ptr<File> Open(const std::string& name) {
    auto f = tree_->Open(name);
    EXPECT_TRUE(f.ok()) << name;
    return std::shared_ptr<File>(std::move(*f));
  }

  TempDir tmp_;
  std::filesystem::path dir_;
  std::shared_ptr<Tree> tree_;
};

TEST_F(DebTest, EveryCompressionReadsTheSame) {
  for (const char* z : {"xz", "gzip", "zstd", "none"}) {
    const std::string name = std::string("demo-") + z + ".deb";
    std::shared_ptr<File> file = Open(name);
    auto deb = ReadDeb(*file, "`" + name + "`");
    ASSERT_TRUE(deb.ok()) << z << ": " << deb.status().message();
    EXPECT_TRUE(deb->control.starts_with("Package: libdemo1\n")) << deb->control;
    EXPECT_EQ(deb->info.at("triggers"), "activate-noawait ldconfig\n");
    EXPECT_EQ(deb->info.at("conffiles"), "/etc/demo/demo.conf\n");
    EXPECT_TRUE(deb->info.contains("md5sums"));
    EXPECT_EQ(deb->conffiles, (std::map<std::string, std::string>{
                                  {"/etc/demo/demo.conf", "fa65969e69439410ee1f0d57415dc6b0"}}))
        << "the MD5 of \"level = 1\\n\"";
    std::string names;
    for (const TarHeader& h : deb->entries)
      names +=
          std::string(1, h.type) + " " + h.name + (h.link.empty() ? "" : " -> " + h.link) + "\n";
    EXPECT_EQ(names,
              "5 \n5 etc\n5 etc/demo\n0 etc/demo/demo.conf\n5 usr\n5 usr/lib\n5 "
              "usr/lib/x86_64-linux-gnu\n"
              "0 usr/lib/x86_64-linux-gnu/libdemo.so.1.2.3\n5 usr/share\n5 usr/share/doc\n"
              "5 usr/share/doc/libdemo1\n0 usr/share/doc/libdemo1/copyright\n"
              // dpkg-deb puts symlinks after everything else
              "2 usr/lib/x86_64-linux-gnu/libdemo.so.1 -> libdemo.so.1.2.3\n")
        << z;
    // Each file's bytes sit at its offset in the decompressed data.tar.
    auto data = ReadAllOf(*OpenDebData(file, deb->data, "`" + name + "`"));
    ASSERT_TRUE(data.ok()) << data.status().message();
    for (const TarHeader& h : deb->entries) {
      if (h.name == "usr/lib/x86_64-linux-gnu/libdemo.so.1.2.3") {
        EXPECT_EQ(data->substr(h.offset, h.size), std::string(70000, '\x7f'));
      } else if (h.name == "etc/demo/demo.conf") {
        EXPECT_EQ(data->substr(h.offset, h.size), "level = 1\n");
      }
      EXPECT_EQ(h.uid, 0u);
    }
  }
}

TEST_F(DebTest, DamagedPackagesFail) {
  std::ifstream in(dir_ / "demo-xz.deb", std::ios::binary);
  const std::string good((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t data = good.find("data.tar.xz");
  ASSERT_NE(data, std::string::npos);
  struct Case {
    std::string name;
    std::string bytes;
    std::string says;
  };
  std::string flipped = good;
  const size_t data_size = std::stoul(good.substr(data + 48, 10));
  flipped[data + 60 + data_size / 2] ^= 0x40;  // inside the xz stream
  std::string not_ar = good;
  not_ar[2] = 'X';
  const Case cases[] = {
      {"truncated", good.substr(0, good.size() - 100),
       "goes past the end of the file (truncated?)"},
      {"a damaged xz stream", flipped, "data.tar.xz: the xz data is damaged"},
      {"not an ar archive", not_ar, "not a .deb (no ar archive)"},
      {"empty", "", "not a .deb (too short)"},
      {"only the magic", "!<arch>\n", "its first member is not debian-binary"},
  };
  for (const Case& c : cases) {
    tmp_.Write("bad.deb", c.bytes);
    std::shared_ptr<File> file = Open("bad.deb");
    auto deb = ReadDeb(*file, "`bad.deb`");
    ASSERT_FALSE(deb.ok()) << c.name;
    EXPECT_EQ(deb.status().code(), Code::kCorrupt) << c.name;
    EXPECT_NE(deb.status().message().find(c.says), std::string::npos)
        << c.name << ": " << deb.status().message();
    EXPECT_TRUE(deb.status().message().starts_with("`bad.deb`")) << deb.status().message();
  }
}

TEST(CodecTest, ByName) {
  EXPECT_EQ(*CodecOf("data.tar"), Codec::kNone);
  EXPECT_EQ(*CodecOf("data.tar.gz"), Codec::kGzip);
  EXPECT_EQ(*CodecOf("control.tar.xz"), Codec::kXz);
  EXPECT_EQ(*CodecOf("data.tar.zst"), Codec::kZstd);
  EXPECT_EQ(*CodecOf("main/binary-amd64/Packages"), Codec::kNone);
  EXPECT_EQ(*CodecOf("main/binary-amd64/Packages.xz"), Codec::kXz);
  EXPECT_EQ(CodecOf("data.tar.bz2").status().code(), Code::kUnsupported);
}

}  // namespace
}  // namespace ocifs::debian
