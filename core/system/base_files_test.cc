#include "core/system/base_files.h"

#include <gtest/gtest.h>

#include "core/oci/blob.h"
#include "core/oci/descriptor.h"
#include "core/oci/tar.h"
#include "core/oci/tar_test_util.h"
#include "ocifs/subprocess.hpp"

namespace ocifs {
namespace {

// A layer of `entries` (sorted here), compressed by `tool` ("" for none).
BaseImage::Layer Layer(std::vector<TarEntry> entries, const std::string& tool) {
  std::sort(entries.begin(), entries.end(),
            [](const TarEntry& a, const TarEntry& b) { return a.name < b.name; });
  std::string tar = TarBytes(std::move(entries));
  BaseImage::Layer layer;
  layer.descriptor.media_type = kMediaTypeOciLayer;
  if (!tool.empty()) {
    sdk::RunOptions o;
    o.input = tar;
    tar = sdk::RunProcess({tool, "-c"}, o).out;
    layer.descriptor.media_type = tool == "gzip" ? kMediaTypeOciLayerGzip : kMediaTypeOciLayerZstd;
  }
  layer.descriptor.digest = Digest::Of(tar);
  layer.descriptor.size = tar.size();
  layer.blob = std::make_shared<MemoryBlob>(tar);
  return layer;
}

TEST(BaseFilesTest, LayersBottomToTopWithWhiteouts) {
  BaseImage base;
  base.reference = "oci:/bases/bookworm";
  // What debootstrap leaves, then what a python image adds and removes.
  base.layers.push_back(Layer(
      {MemFileEntry("var/lib/dpkg/status", "Package: libc6\n"),
       MemFileEntry("etc/apt/sources.list", "deb http://deb.debian.org/debian bookworm main\n"),
       SymlinkEntry("bin", "usr/bin"), SymlinkEntry("lib", "usr/lib"),
       MemFileEntry("usr/share/keyrings/debian-archive-keyring.gpg", "KEY"),
       MemFileEntry("usr/share/keyrings/debian-archive-removed-keys.gpg", "OLD"),
       MemFileEntry("etc/apt/sources.list.d/old.list", "deb http://old/ x main\n"),
       MemFileEntry("etc/hostname", "not wanted")},
      ""));
  base.layers.push_back(
      Layer({MemFileEntry("var/lib/dpkg/status", "Package: libc6\n\nPackage: python3.12\n"),
             MemFileEntry("usr/share/keyrings/.wh.debian-archive-removed-keys.gpg", ""),
             MemFileEntry("etc/apt/trusted.gpg.d/extra.asc", "ARMORED")},
            "gzip"));
  base.layers.push_back(
      Layer({MemFileEntry("etc/apt/sources.list.d/.wh..wh..opq", ""),
             MemFileEntry("etc/apt/sources.list.d/debian.sources", "Types: deb\n")},
            "zstd"));
  auto files = ReadBaseFiles(base, IsAptFile);
  ASSERT_TRUE(files.ok()) << files.status().message();
  EXPECT_EQ(files->files,
            (std::map<std::string, std::string>{
                {"etc/apt/sources.list", "deb http://deb.debian.org/debian bookworm main\n"},
                {"etc/apt/sources.list.d/debian.sources", "Types: deb\n"},
                {"etc/apt/trusted.gpg.d/extra.asc", "ARMORED"},
                {"usr/share/keyrings/debian-archive-keyring.gpg", "KEY"},
                {"var/lib/dpkg/status", "Package: libc6\n\nPackage: python3.12\n"},
            }));
  EXPECT_EQ(files->symlinks,
            (std::map<std::string, std::string>{{"bin", "usr/bin"}, {"lib", "usr/lib"}}));

  auto small = ReadBaseFiles(base, IsAptFile, 10);
  EXPECT_EQ(small.status().message(),
            "base `oci:/bases/bookworm` layer 1 (" + base.layers[0].descriptor.digest.Short() +
                "): `/etc/apt/sources.list` is 47 bytes, more than the 10 read");
}

TEST(BaseFilesTest, AptFiles) {
  for (const char* yes :
       {"var/lib/dpkg/status", "etc/apt/sources.list", "etc/apt/sources.list.d/debian.sources",
        "etc/apt/sources.list.d/pgdg.list", "etc/apt/trusted.gpg",
        "etc/apt/trusted.gpg.d/debian-archive-bookworm-stable.asc",
        "usr/share/keyrings/debian-archive-keyring.gpg",
        "usr/share/keyrings/debian-archive-keyring.pgp",  // trixie's name
        "etc/apt/keyrings/docker.asc"}) {
    EXPECT_TRUE(IsAptFile(yes)) << yes;
  }
  for (const char* no :
       {"var/lib/dpkg/status-old", "etc/apt/sources.list.d/x.save", "usr/share/keyrings/a/b.gpg",
        "etc/apt/apt.conf.d/70debconf", "etc/apt/trusted.gpg.d/readme"}) {
    EXPECT_FALSE(IsAptFile(no)) << no;
  }
}

}  // namespace
}  // namespace ocifs
