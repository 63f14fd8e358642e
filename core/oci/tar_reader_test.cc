#include "core/oci/tar_reader.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/oci/tar.h"
#include "core/oci/tar_test_util.h"
#include "core/support/byte_stream_test_util.h"
#include "core/support/test_util.h"
#include "ocifs/subprocess.hpp"

namespace ocifs {
namespace {

// Every header and body of `tar`, as "type name [-> link] mode uid:gid size mtime: body".
Result<std::string> Listing(std::string tar) {
  TarReader reader(StreamOf(tar), "`t.tar`");
  std::string out;
  while (true) {
    OCIFS_ASSIGN_OR_RETURN(std::optional<TarHeader> h, reader.Next());
    if (!h) return out;
    out += std::string(1, h->type) + " " + h->name + (h->link.empty() ? "" : " -> " + h->link) +
           " " + std::to_string(h->mode) + " " + std::to_string(h->uid) + ":" +
           std::to_string(h->gid) + " " + std::to_string(h->size) + " " + std::to_string(h->mtime);
    if (h->type == '0') {
      OCIFS_ASSIGN_OR_RETURN(std::string body, reader.ReadBody(1 << 20));
      EXPECT_EQ(body, tar.substr(h->offset, h->size)) << "the offset points at the body";
      out += ": " + body;
    }
    out += "\n";
  }
}

TEST(TarReaderTest, ReadsWhatOurWriterWrites) {
  std::vector<TarEntry> entries;
  TarEntry dir;
  dir.name = "usr";
  dir.type = TarEntry::Type::kDirectory;
  dir.mode = 0755;
  entries.push_back(dir);
  const std::string long_name = "usr/" + std::string(120, 'x') + "/lib.so";
  entries.push_back(MemFileEntry(long_name, "long"));
  entries.push_back(MemFileEntry("usr/bin", "#!/bin/sh\n", 04755));
  entries.push_back(MemFileEntry("usr/caf\xc3\xa9", "utf-8"));
  entries.push_back(MemFileEntry("usr/empty", ""));
  TarEntry link;
  link.name = "usr/link";
  link.type = TarEntry::Type::kSymlink;
  link.mode = 0777;
  link.link = "/etc/" + std::string(110, 't');
  entries.push_back(link);
  TarEntry hard;
  hard.name = "usr/same";
  hard.type = TarEntry::Type::kHardlink;
  hard.link = "usr/bin";
  entries.push_back(hard);
  const std::string tar = TarBytes(entries, 1700000000);
  auto listing = Listing(tar);
  ASSERT_TRUE(listing.ok()) << listing.status().message();
  EXPECT_EQ(*listing,
            "5 usr 493 0:0 0 1700000000\n"
            "0 " +
                long_name +
                " 420 0:0 4 1700000000: long\n"
                "0 usr/bin 2541 0:0 10 1700000000: #!/bin/sh\n\n"
                "0 usr/caf\xc3\xa9 420 0:0 5 1700000000: utf-8\n"
                "0 usr/empty 420 0:0 0 1700000000: \n"
                "2 usr/link -> /etc/" +
                std::string(110, 't') +
                " 511 0:0 0 1700000000\n"
                "1 usr/same -> usr/bin 420 0:0 0 1700000000\n");
}

// GNU tar's own formats, as dpkg-deb writes data.tar (gnu) and others write (ustar with a prefix).
TEST(TarReaderTest, ReadsGnuTar) {
  TempDir tmp;
  const std::filesystem::path root(tmp.path());
  const char* dir = tmp.path().c_str();
  const std::string deep = "usr/share/doc/" + std::string(90, 'd') + "/" + std::string(60, 'e');
  std::filesystem::create_directories(root / deep);
  std::ofstream(root / deep / "copyright") << "c";
  std::filesystem::create_symlink(std::string(120, 'z'), root / "usr/share/long-link");
  for (const char* format : {"gnu", "ustar", "pax"}) {
    sdk::RunResult r =
        sdk::RunProcess({"tar", "-C", dir, "--format", format, "--sort=name", "--owner=0",
                         "--group=0", "--mtime=@1700000000", "-cf", "-", "./usr/share"});
    if (std::string(format) == "ustar") {
      // ustar cannot hold the 120-byte link target: tar refuses that one member.
      EXPECT_NE(r.err.find("link name is too long"), std::string::npos) << r.err;
    } else {
      ASSERT_EQ(r.exit, 0) << format << ": " << r.err;
    }
    auto listing = Listing(r.out);
    ASSERT_TRUE(listing.ok()) << format << ": " << listing.status().message();
    EXPECT_NE(listing->find("0 " + deep + "/copyright 420 0:0 1 1700000000: c\n"),
              std::string::npos)
        << format << "\n"
        << *listing;
    if (std::string(format) != "ustar") {
      EXPECT_NE(listing->find("2 usr/share/long-link -> " + std::string(120, 'z')),
                std::string::npos)
          << *listing;
    }
  }
}

TEST(TarReaderTest, DamagedStreams) {
  TarEntry e;
  e.name = "etc/app.conf";
  e.size = 600;
  e.data = std::make_shared<const std::string>(std::string(600, 'a'));
  const std::string tar = TarBytes({e});
  struct Case {
    std::string name;
    std::string bytes;
    std::string says;
  };
  std::string flipped = tar;
  flipped[10] ^= 1;
  std::string bad_size = tar;
  bad_size[124] = '9';
  bad_size.replace(148, 8, std::string(8, ' '));  // ... with a checksum that fits
  unsigned sum = 0;
  for (size_t i = 0; i < 512; ++i) sum += static_cast<unsigned char>(bad_size[i]);
  char chk[8];
  std::snprintf(chk, sizeof(chk), "%06o", sum);
  bad_size.replace(148, 7, std::string(chk, 6) + '\0');
  const Case cases[] = {
      {"a flipped bit", flipped, "`t.tar`: the header at byte 0 has a wrong checksum"},
      {"cut in the body", tar.substr(0, 800), "`t.tar`: the tar stream ends inside an entry"},
      {"a non-octal size", bad_size,
       "`t.tar`: the header at byte 0 holds a number that is not octal"},
  };
  for (const Case& c : cases) {
    TarReader reader(StreamOf(c.bytes), "`t.tar`");
    Status status;
    while (status.ok()) {
      auto h = reader.Next();
      if (!h.ok())
        status = h.status();
      else if (!*h)
        break;
    }
    EXPECT_EQ(status.message(), c.says) << c.name;
    EXPECT_EQ(status.code(), Code::kCorrupt) << c.name;
  }
  // A body larger than the caller reads whole.
  TarReader reader(StreamOf(tar), "`t.tar`");
  ASSERT_TRUE(reader.Next().ok());
  EXPECT_EQ(reader.ReadBody(100).status().message(),
            "`t.tar`: an entry of 600 bytes, more than the 100 read whole");
  // The end of the stream without zero blocks ends the archive.
  auto cut = Listing(tar.substr(0, 512 + 1024));
  ASSERT_TRUE(cut.ok()) << cut.status().message();
  EXPECT_EQ(*cut, "0 etc/app.conf 420 0:0 600 0: " + std::string(600, 'a') + "\n");
}

}  // namespace
}  // namespace ocifs
