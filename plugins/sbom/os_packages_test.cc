#include "os_packages.h"

#include <string>
#include <vector>

#include "sbom_test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace ocifs::sbom {
namespace {

using json = nlohmann::json;

LayerFiles Scan(const std::string& blob, const std::string& media_type, size_t piece) {
  LayerDecoder decoder(media_type);
  TarScanner tar;
  for (size_t at = 0; at < blob.size(); at += piece)
    decoder.Feed(std::string_view(blob).substr(at, piece), tar);
  decoder.Finish(tar);
  EXPECT_TRUE(tar.Finish()) << tar.error();
  return std::move(tar.result());
}

const std::string kLongDir = "var/lib/dpkg/status.d/" + std::string(90, 'x');

TEST(LayerScanTest, KeepsThePackageDatabasesOfAnyEncodingFedInAnyPieces) {
  const std::string tar = Tar({
      {"./", "", '5'},
      {"./etc/os-release", "", '2', "../usr/lib/os-release"},
      {"./usr/lib/os-release", "ID=debian\n"},
      {"./usr/bin/python3", std::string(5000, 'p')},
      {"./var/lib/dpkg/status", "Package: a\n"},
      {"./var/lib/dpkg/status.d/b", "Package: b\n"},
      {"./var/lib/dpkg/status.d/b.md5sums", "x"},
      {kLongDir, "Package: long\n"},
      {"PaxHeaders/x", Pax("lib/apk/db/installed"), 'x'},
      {"short-name", "P:musl\n"},
      {"var/lib/dpkg/status.d/.wh.gone", ""},
      {"usr/bin/.wh.python2", ""},  // not a database: not kept
      {"var/lib/.wh.dpkg", ""},
      {"lib/apk/db/.wh..wh..opq", ""},
  });
  const std::map<std::string, std::string> want_files = {
      {"usr/lib/os-release", "ID=debian\n"},
      {"var/lib/dpkg/status", "Package: a\n"},
      {"var/lib/dpkg/status.d/b", "Package: b\n"},
      {kLongDir, "Package: long\n"},
      {"lib/apk/db/installed", "P:musl\n"}};
  struct Case {
    std::string media_type, blob;
  } cases[] = {
      {"application/vnd.oci.image.layer.v1.tar", tar},
      {"application/vnd.oci.image.layer.v1.tar+gzip", Gzip(tar)},
      {"application/vnd.docker.image.rootfs.diff.tar.gzip",
       Gzip(tar.substr(0, 3000)) + Gzip(tar.substr(3000))},
      {"application/vnd.oci.image.layer.v1.tar+zstd", Zstd(tar)},
  };
  for (const auto& c : cases) {
    for (size_t piece : {size_t{1}, size_t{511}, size_t{1} << 20}) {
      LayerFiles f = Scan(c.blob, c.media_type, piece);
      EXPECT_EQ(f.files, want_files) << c.media_type << " " << piece;
      EXPECT_EQ(f.symlinks,
                (std::map<std::string, std::string>{{"etc/os-release", "../usr/lib/os-release"}}));
      EXPECT_EQ(f.whiteouts,
                (std::vector<std::string>{"var/lib/dpkg/status.d/gone", "var/lib/dpkg"}));
      EXPECT_EQ(f.opaque_dirs, std::vector<std::string>{"lib/apk/db"});
    }
  }
}

TEST(LayerScanTest, BadInputIsAnErrorNamingWhatIsWrong) {
  const std::string tar = Tar({{"var/lib/dpkg/status", std::string(3000, 's')}});
  std::string bad_checksum = tar;
  bad_checksum[0] = 'w';
  struct Case {
    std::string name, media_type, blob, error;
  } cases[] = {
      {"bad checksum", "application/vnd.oci.image.layer.v1.tar", bad_checksum, "bad checksum"},
      {"cut tar", "application/vnd.oci.image.layer.v1.tar", tar.substr(0, 1500),
       "ends inside an entry"},
      {"cut gzip", "application/vnd.oci.image.layer.v1.tar+gzip", Gzip(tar).substr(0, 40),
       "cut short"},
      {"not gzip", "application/vnd.oci.image.layer.v1.tar+gzip", tar, "gzip:"},
      {"cut zstd", "application/vnd.oci.image.layer.v1.tar+zstd", Zstd(tar).substr(0, 20),
       "cut short"},
      {"media type", "application/vnd.oci.image.config.v1+json", tar, "is not a tar"},
  };
  for (const auto& c : cases) {
    std::string error;
    try {
      LayerDecoder decoder(c.media_type);
      TarScanner scanner;
      decoder.Feed(c.blob, scanner);
      decoder.Finish(scanner);
      if (!scanner.Finish()) error = scanner.error();
    } catch (const std::runtime_error& e) {
      error = e.what();
    }
    EXPECT_NE(error.find(c.error), std::string::npos) << c.name << ": " << error;
  }
}

TEST(LayerScanTest, StackingAppliesWhiteoutsAndOpaqueDirectories) {
  LayerFiles bottom, middle, top;
  bottom.files = {{"var/lib/dpkg/status", "1"},
                  {"var/lib/dpkg/status.d/a", "a"},
                  {"var/lib/dpkg/status.d/b", "b"},
                  {"usr/lib/os-release", "ID=old"}};
  middle.whiteouts = {"var/lib/dpkg/status", "usr"};
  middle.opaque_dirs = {"var/lib/dpkg/status.d"};
  middle.files = {{"var/lib/dpkg/status.d/c", "c"}};
  top.files = {{"lib/apk/db/installed", "P:x"}};
  top.symlinks = {{"var/lib/dpkg/status.d/c", "a"}};
  LayerFiles root = StackLayers({&bottom, &middle, &top});
  EXPECT_EQ(root.files, (std::map<std::string, std::string>{{"lib/apk/db/installed", "P:x"}}));
  EXPECT_EQ(root.symlinks, (std::map<std::string, std::string>{{"var/lib/dpkg/status.d/c", "a"}}));
}

TEST(LayerScanTest, CacheFilesRoundTripAndRefuseAnyDamage) {
  LayerFiles f;
  f.files = {{"var/lib/dpkg/status", std::string("Package: a\n\nbinary \0\xff\n", 22)},
             {"usr/lib/os-release", ""}};
  f.symlinks = {{"etc/os-release", "../usr/lib/os-release"}};
  f.whiteouts = {"var/lib/dpkg/status.d/x"};
  f.opaque_dirs = {"lib/apk/db"};
  const std::string text = EncodeLayerFiles(f);
  std::optional<LayerFiles> back = DecodeLayerFiles(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->files, f.files);
  EXPECT_EQ(back->symlinks, f.symlinks);
  EXPECT_EQ(back->whiteouts, f.whiteouts);
  EXPECT_EQ(back->opaque_dirs, f.opaque_dirs);
  std::string flipped = text;
  flipped[30] ^= 1;
  for (const std::string& bad :
       {flipped, text.substr(0, text.size() - 1), text.substr(0, text.size() / 2), text + "x",
        "ocifs-sbom-layer 2" + text.substr(18), std::string()}) {
    EXPECT_FALSE(DecodeLayerFiles(bad)) << bad.size();
  }
}

// ---- OS package databases ---------------------------------------------------------------------

TEST(OsPackagesTest, DpkgStatusListsInstalledPackagesWithResolvedDependencies) {
  const char* status =
      "Package: python3-minimal\nStatus: install ok installed\nArchitecture: amd64\n"
      "Source: python3-defaults (3.11.2-1)\nVersion: 3.11.2-1+b1\n"
      "Pre-Depends: python3.11-minimal (>= 3.11.2-1~)\nDepends: dpkg (>= 1.13.20), awk | mawk\n"
      "Description: minimal subset\n more text\n\n"
      "Package: mawk\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.3.4\n"
      "Provides: awk\nDepends: libc6 (>= 2.34)\nHomepage: https://invisible-island.net/mawk/\n\n"
      "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9\n"
      "Depends: libgcc-s1\n\n"
      "Package: dpkg\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.21.22\n"
      "Pre-Depends: libc6:any\n\n"
      "Package: removed\nStatus: deinstall ok config-files\nArchitecture: all\nVersion: 1\n\n"
      "Package: python3.11-minimal\nStatus: install ok half-installed\nVersion: 3.11.2-6\n";
  auto pkgs = ParseDpkgStatus(status);
  ASSERT_EQ(pkgs.size(), 4u);
  std::map<std::string, std::vector<std::string>> deps;
  for (const auto& p : pkgs) deps[p.name] = p.depends;
  EXPECT_EQ(deps, (std::map<std::string, std::vector<std::string>>{
                      {"dpkg", {"libc6"}},
                      {"libc6", {}},
                      {"mawk", {"libc6"}},
                      {"python3-minimal", {"dpkg", "mawk"}}}));
  const OsPackage& py = pkgs[3];
  EXPECT_EQ(py.name, "python3-minimal");
  EXPECT_EQ(py.version, "3.11.2-1+b1");
  EXPECT_EQ(py.arch, "amd64");
  EXPECT_EQ(py.source, "python3-defaults");
  EXPECT_EQ(py.summary, "minimal subset");
  EXPECT_EQ(pkgs[2].homepage, "https://invisible-island.net/mawk/");
}

TEST(OsPackagesTest, ApkDatabaseAndOsRelease) {
  auto pkgs = ParseApkInstalled(
      "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\nT:the C library\nU:https://musl.libc.org/\n"
      "p:so:libc.musl-x86_64.so.1=1\n\nP:busybox\nV:1.36.1-r5\nA:x86_64\nL:GPL-2.0-only\n"
      "o:busybox\nD:so:libc.musl-x86_64.so.1 !conflict\n");
  ASSERT_EQ(pkgs.size(), 2u);
  EXPECT_EQ(pkgs[0].name, "busybox");
  EXPECT_EQ(pkgs[0].depends, std::vector<std::string>{"musl"});
  EXPECT_EQ(pkgs[0].source, "");
  EXPECT_EQ(pkgs[1].license, "MIT");
  EXPECT_EQ(pkgs[1].summary, "the C library");

  OsRelease os = ParseOsRelease(
      "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n"
      "VERSION_ID=\"12\"\n# comment\nID=debian\n");
  EXPECT_EQ(os.id, "debian");
  EXPECT_EQ(os.version_id, "12");
  EXPECT_EQ(os.pretty_name, "Debian GNU/Linux 12 (bookworm)");
}

}  // namespace
}  // namespace ocifs::sbom
