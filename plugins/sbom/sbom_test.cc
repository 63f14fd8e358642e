// The sbom plugin: its parsers and writers as tables of cases, then the plugin through the real
// host on a fixture project with a dependencies tree and a local base layout.
#include <zlib.h>
#include <zstd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "core/digest.h"
#include "core/pipeline.h"
#include "core/plugin_host.h"
#include "core/test_util.h"
#include "documents.h"
#include "licenses.h"
#include "os_packages.h"
#include "python_metadata.h"

namespace ocifs::sbom {
namespace {

using json = nlohmann::json;

// ---- python metadata --------------------------------------------------------------------------

TEST(PythonMetadataTest, NormalizeName) {
  for (auto [in, want] :
       std::vector<std::pair<std::string, std::string>>{{"Django", "django"},
                                                        {"typing_extensions", "typing-extensions"},
                                                        {"zope.interface", "zope-interface"},
                                                        {"A__b--C..d", "a-b-c-d"},
                                                        {"ruamel.yaml.clib", "ruamel-yaml-clib"}}) {
    EXPECT_EQ(NormalizeName(in), want) << in;
  }
}

TEST(PythonMetadataTest, HeadersStopAtTheBodyAndJoinContinuations) {
  const Headers h = ParseHeaders(
      "Metadata-Version: 2.1\r\nName: pkg\nLicense: Line one\n        line two\n"
      "Classifier: A\nClassifier: B\nnot a header\nSummary:   spaced  \n\nBody: not a header\n");
  EXPECT_EQ(h.at("Name"), std::vector<std::string>{"pkg"});
  EXPECT_EQ(h.at("License"), std::vector<std::string>{"Line one\nline two"});
  EXPECT_EQ(h.at("Classifier"), (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(h.at("Summary"), std::vector<std::string>{"spaced"});
  EXPECT_FALSE(h.count("Body"));
}

TEST(PythonMetadataTest, Requirements) {
  struct Case {
    std::string line;
    std::optional<std::pair<std::string, std::string>> want;
  } cases[] = {
      {"starlette<0.26.0,>=0.25.0", {{"starlette", ""}}},
      {"httpx>=0.23.0; extra == 'all'", {{"httpx", "extra == 'all'"}}},
      {"  uvicorn[standard] (>=0.12)  ;python_version<'3.8' ",
       {{"uvicorn", "python_version<'3.8'"}}},
      {"pip @ https://example.org/pip.whl ; os_name == 'posix'", {{"pip", "os_name == 'posix'"}}},
      {"", std::nullopt},
      {"-r other.txt", std::nullopt},
  };
  for (const auto& c : cases) {
    auto r = ParseRequirement(c.line);
    ASSERT_EQ(r.has_value(), c.want.has_value()) << c.line;
    if (r) {
      EXPECT_EQ(std::make_pair(r->name, r->marker), *c.want) << c.line;
    }
  }
}

TEST(PythonMetadataTest, RequiresTxtKeepsUnconditionalAndMarkerSectionsOnly) {
  auto reqs = ParseRequiresTxt(
      "idna>=2.8\nsniffio>=1.1\n\n[:python_version < \"3.8\"]\ntyping_extensions; os_name == "
      "'nt'\n\n[trio]\ntrio<0.22\n\n[test:python_version < \"3.7\"]\ncontextlib2\n");
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& r : reqs) got.emplace_back(r.name, r.marker);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, std::string>>{
                     {"idna", ""},
                     {"sniffio", ""},
                     {"typing_extensions", "(python_version < \"3.8\") and (os_name == 'nt')"}}));
}

TEST(PythonMetadataTest, Markers) {
  const MarkerEnvironment env = LinuxEnvironment("3.11", "linux/arm64");
  struct Case {
    std::string marker;
    std::optional<bool> want;
  } cases[] = {
      {"python_version >= '3.8'", true},
      {"python_version < \"3.10\"", false},
      {"python_version == '3.11'", true},
      {"python_version == '3.*'", true},
      {"python_version != '3.11.*'", false},
      {"python_full_version >= '3.11.0'", true},
      {"python_version ~= '3.9'", true},
      {"python_version ~= '3.12'", false},
      {"'3.1' < python_version", true},
      {"sys_platform == 'win32'", false},
      {"sys_platform != 'win32' and platform_machine == 'aarch64'", true},
      {"platform_machine == 'x86_64' or (os_name == 'posix' and python_version > '3.6')", true},
      {"extra == 'test'", false},
      {"'linux' in sys_platform", true},
      {"'win' not in sys_platform", true},
      {"implementation_name == 'pypy'", false},
      {"platform_release >= '5'", std::nullopt},  // the kernel of whoever runs the image
      {"python_version >=", std::nullopt},
      {"python_version >= '3.8' and", std::nullopt},
      {"(python_version >= '3.8'", std::nullopt},
      {"unheard_of == 'x'", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(EvaluateMarker(c.marker, env), c.want) << c.marker;
  EXPECT_EQ(LinuxEnvironment("3.12", "linux/amd64").platform_machine, "x86_64");
}

TEST(PythonMetadataTest, CompareReleases) {
  struct Case {
    std::string a, b;
    int want;
  } cases[] = {{"3.8", "3.10", -1},      {"3.10", "3.8", 1}, {"3.11", "3.11.0", 0},
               {"3.11.0rc1", "3.11", 0}, {"2", "10", -1},    {"1.0.1", "1.0", 1}};
  for (const auto& c : cases) EXPECT_EQ(CompareReleases(c.a, c.b), c.want) << c.a << " " << c.b;
}

// ---- licenses ---------------------------------------------------------------------------------

TEST(LicensesTest, Expressions) {
  struct Case {
    std::string in;
    std::optional<std::string> want;
  } cases[] = {
      {"MIT", "MIT"},
      {"mit", "MIT"},
      {"apache-2.0 or mit", "Apache-2.0 OR MIT"},
      {"(MIT OR Apache-2.0) AND BSD-3-Clause", "(MIT OR Apache-2.0) AND BSD-3-Clause"},
      {"GPL-2.0-or-later WITH Classpath-exception-2.0",
       "GPL-2.0-or-later WITH Classpath-exception-2.0"},
      {"LGPL-2.1+", "LGPL-2.1+"},
      {"LicenseRef-Proprietary", "LicenseRef-Proprietary"},
      {"MIT License", std::nullopt},
      {"MIT OR", std::nullopt},
      {"(MIT", std::nullopt},
      {"MIT WITH NotAnException", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(CanonicalExpression(c.in), c.want) << c.in;
  EXPECT_EQ(SpdxId("bsd-3-clause"), std::optional<std::string_view>("BSD-3-Clause"));
  EXPECT_FALSE(SpdxId("BSD"));
}

TEST(LicensesTest, FreeText) {
  struct Case {
    std::string in;
    std::optional<std::string> want;
  } cases[] = {
      {"MIT", "MIT"},
      {"MIT License", "MIT"},
      {"The MIT License", "MIT"},
      {"BSD-3-Clause", "BSD-3-Clause"},
      {"Apache License, Version 2.0", "Apache-2.0"},
      {"Apache 2.0", "Apache-2.0"},
      {"MIT -or- Apache License 2.0", "MIT OR Apache-2.0"},
      {"MIT and BSD-3-Clause", "MIT AND BSD-3-Clause"},
      {"BSD", std::nullopt},
      {"GPL", std::nullopt},
      {"MIT or something else", std::nullopt},
      {"Copyright (c) 2020 Someone\nPermission is hereby granted", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(ExpressionFromText(c.in), c.want) << c.in;
}

TEST(LicensesTest, Classifiers) {
  const std::string osi = "License :: OSI Approved :: ";
  struct Case {
    std::vector<std::string> in;
    std::optional<std::string> want;
  } cases[] = {
      {{osi + "MIT License", "Programming Language :: Python"}, "MIT"},
      {{"License :: OSI Approved", osi + "MIT License"}, "MIT"},
      {{osi + "BSD License"}, std::nullopt},              // 2-, 3- or 4-clause
      {{osi + "Apache Software License"}, std::nullopt},  // which version
      {{osi + "MIT License", osi + "Apache Software License"}, std::nullopt},
      {{osi + "MIT License", osi + "ISC License (ISCL)"}, std::nullopt},  // AND or OR
      {{"License :: CC0 1.0 Universal (CC0 1.0) Public Domain Dedication"}, "CC0-1.0"},
      {{}, std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(ExpressionFromClassifiers(c.in), c.want) << c.in.size();
}

TEST(LicensesTest, DeclaredLicensePrefersTheExpressionThenTheTextThenClassifiers) {
  const std::string mit = "Classifier: License :: OSI Approved :: MIT License\n";
  struct Case {
    std::string metadata;
    std::string expression, name;
  } cases[] = {
      {"License-Expression: Apache-2.0\nLicense: MIT\n" + mit, "Apache-2.0", ""},
      {"License-Expression: not valid\nLicense: ISC\n", "ISC", ""},
      {"License: Apache 2.0\n" + mit, "Apache-2.0", ""},
      {"License: BSD\n" + mit, "MIT", ""},
      {"License: BSD\nClassifier: License :: OSI Approved :: BSD License\n", "", "BSD"},
      {"Classifier: License :: OSI Approved :: BSD License\n", "", "BSD License"},
      {"License: UNKNOWN\n", "", ""},
      {"", "", ""},
  };
  for (const auto& c : cases) {
    DeclaredLicense d = LicenseOf(ParseHeaders(c.metadata));
    EXPECT_EQ(d.expression, c.expression) << c.metadata;
    EXPECT_EQ(d.name, c.name) << c.metadata;
  }
}

// ---- layers -----------------------------------------------------------------------------------

struct Entry {
  Entry(std::string n, std::string c, char t = '0', std::string l = "")
      : name(std::move(n)), content(std::move(c)), type(t), link(std::move(l)) {}
  std::string name;
  std::string content;
  char type;
  std::string link;
};

std::string TarHeader(const std::string& name, size_t size, char type, const std::string& link) {
  std::string h(512, '\0');
  std::copy_n(name.begin(), std::min<size_t>(name.size(), 100), h.begin());
  auto octal = [&](size_t at, size_t width, uint64_t v) {
    std::string s = fmt::format("{:0{}o}", v, width - 1);
    std::copy(s.begin(), s.end(), h.begin() + static_cast<long>(at));
  };
  octal(100, 8, 0644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 0);
  h[156] = type;
  std::copy_n(link.begin(), std::min<size_t>(link.size(), 100), h.begin() + 157);
  std::copy_n(
      "ustar\0"
      "00",
      8, h.begin() + 257);
  std::fill_n(h.begin() + 148, 8, ' ');
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::string s = fmt::format("{:06o}", sum);
  std::copy(s.begin(), s.end(), h.begin() + 148);
  h[154] = '\0';
  return h;
}

std::string Tar(const std::vector<Entry>& entries) {
  std::string out;
  auto add = [&](const std::string& name, const std::string& content, char type,
                 const std::string& link) {
    out += TarHeader(name, content.size(), type, link);
    out += content;
    out.append((512 - content.size() % 512) % 512, '\0');
  };
  for (const auto& e : entries) {
    if (e.name.size() > 100) add("././@LongLink", e.name + '\0', 'L', "");
    add(e.name.size() > 100 ? e.name.substr(0, 100) : e.name, e.content, e.type, e.link);
  }
  out.append(1024, '\0');
  return out;
}

std::string Pax(const std::string& path) {
  std::string record = " path=" + path + "\n";
  size_t len = record.size() + 2;
  if (std::to_string(len).size() + record.size() != len) ++len;
  return std::to_string(len) + record;
}

std::string Gzip(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string Zstd(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3));
  return out;
}

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

// ---- documents --------------------------------------------------------------------------------

TEST(DocumentsTest, Uuid5AndPurlEncoding) {
  EXPECT_EQ(Uuid5("http://www.python.org"), "5e077b6f-5fcc-5a59-b52a-0092db3520c3");
  EXPECT_EQ(Uuid5(""), "1b4db7eb-4057-5ddf-91e0-36dec72071f5");
  EXPECT_EQ(PurlEncode("1:2.38.1-5+b1"), "1:2.38.1-5%2Bb1");
  EXPECT_EQ(PurlEncode("a b/c@d?e#f"), "a%20b%2Fc%40d%3Fe%23f");
}

Sbom SmallSbom() {
  Sbom s;
  s.name = "svc";
  s.version = "1.0";
  s.created = "2023-11-14T22:13:20Z";
  s.tool_version = "1.0.0";
  Component app;
  app.kind = Component::Kind::kApplication;
  app.key = "application";
  app.name = "svc";
  app.version = "1.0";
  app.license = "MIT";
  app.depends_on = {"pypi/click"};
  Component click;
  click.key = "pypi/click";
  click.name = "click";
  click.version = "8.1.3";
  click.purl = "pkg:pypi/click@8.1.3";
  click.license_name = "BSD";
  click.summary = "Composable";
  click.homepage = "https://palletsprojects.com/p/click/";
  s.components = {app, click};
  return s;
}

TEST(DocumentsTest, SpdxDocumentIsDeterministicAndNamedByItsContent) {
  const Sbom s = SmallSbom();
  const json doc = json::parse(SpdxJson(s));
  EXPECT_EQ(SpdxJson(s), SpdxJson(SmallSbom()));
  EXPECT_EQ(doc["spdxVersion"], "SPDX-2.3");
  EXPECT_EQ(doc["creationInfo"]["created"], "2023-11-14T22:13:20Z");
  ASSERT_EQ(doc["packages"].size(), 3u);
  EXPECT_EQ(doc["packages"][1]["SPDXID"], "SPDXRef-Application");
  EXPECT_EQ(doc["packages"][1]["licenseDeclared"], "MIT");
  EXPECT_EQ(doc["packages"][2]["SPDXID"], "SPDXRef-Package-pypi-click");
  EXPECT_EQ(doc["packages"][2]["licenseDeclared"], "NOASSERTION");
  EXPECT_EQ(doc["packages"][2]["externalRefs"][0]["referenceLocator"], "pkg:pypi/click@8.1.3");
  const json want_relationships = json::parse(R"([
    {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-Image"},
    {"spdxElementId": "SPDXRef-Image", "relationshipType": "CONTAINS", "relatedSpdxElement": "SPDXRef-Application"},
    {"spdxElementId": "SPDXRef-Image", "relationshipType": "CONTAINS", "relatedSpdxElement": "SPDXRef-Package-pypi-click"},
    {"spdxElementId": "SPDXRef-Application", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": "SPDXRef-Package-pypi-click"}
  ])");
  EXPECT_EQ(doc["relationships"], want_relationships);
  // The namespace changes with the content, and only with it.
  const std::string ns = doc["documentNamespace"];
  EXPECT_TRUE(ns.starts_with("https://spdx.org/spdxdocs/svc-1.0-")) << ns;
  Sbom changed = SmallSbom();
  changed.components[1].version = "8.1.4";
  EXPECT_NE(json::parse(SpdxJson(changed))["documentNamespace"], ns);
}

TEST(DocumentsTest, CycloneDxDocument) {
  const Sbom s = SmallSbom();
  const json doc = json::parse(CycloneDxJson(s, "1.5"));
  EXPECT_EQ(CycloneDxJson(s, "1.5"), CycloneDxJson(SmallSbom(), "1.5"));
  EXPECT_EQ(doc["specVersion"], "1.5");
  EXPECT_EQ(json::parse(CycloneDxJson(s, "1.6"))["specVersion"], "1.6");
  const std::string serial = doc["serialNumber"];
  EXPECT_TRUE(serial.starts_with("urn:uuid:")) << serial;
  EXPECT_EQ(serial[9 + 14], '5') << serial;  // version 5
  EXPECT_EQ(doc["metadata"]["component"]["bom-ref"], "image");
  EXPECT_EQ(doc["components"][0]["licenses"], json::parse(R"([{"license": {"id": "MIT"}}])"));
  EXPECT_EQ(doc["components"][1]["licenses"], json::parse(R"([{"license": {"name": "BSD"}}])"));
  EXPECT_EQ(doc["components"][1]["bom-ref"], "pkg:pypi/click@8.1.3");
  EXPECT_EQ(doc["dependencies"], json::parse(R"([
    {"ref": "image", "dependsOn": ["application"]},
    {"ref": "application", "dependsOn": ["pkg:pypi/click@8.1.3"]}])"));
  Sbom expression = SmallSbom();
  expression.components[0].license = "MIT OR Apache-2.0";
  EXPECT_EQ(json::parse(CycloneDxJson(expression, "1.5"))["components"][0]["licenses"],
            json::parse(R"([{"expression": "MIT OR Apache-2.0"}])"));
}

// ---- the plugin through the host --------------------------------------------------------------

// A local base layout: one gzip layer with os-release and a dpkg status, one plain layer on top
// that replaces the status (whiteout + new file) to show that the top layer wins.
struct BaseLayout {
  TempDir dir;

  std::string Put(const std::string& content) {
    const Digest d = Digest::Of(content);
    dir.Write("blobs/sha256/" + d.hex(), content);
    return d.str();
  }

  explicit BaseLayout(const std::string& top_status) {
    dir.Write("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    const std::string lower_tar = Tar({
        {"./etc/os-release", "", '2', "../usr/lib/os-release"},
        {"./usr/lib/os-release", "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian 12\"\n"},
        {"./var/lib/dpkg/status", "Package: old\nStatus: install ok installed\nVersion: 1\n"},
    });
    const std::string lower = Gzip(lower_tar);
    const std::string upper =
        Tar({{"var/lib/dpkg/.wh.status", ""}, {"var/lib/dpkg/status", top_status}});
    const std::string config =
        json({{"architecture", "amd64"},
              {"os", "linux"},
              {"rootfs",
               {{"type", "layers"},
                {"diff_ids", {Digest::Of(lower_tar).str(), Digest::Of(upper).str()}}}}})
            .dump();
    const json manifest = {{"schemaVersion", 2},
                           {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                           {"config",
                            {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                             {"digest", Put(config)},
                             {"size", config.size()}}},
                           {"layers",
                            {{{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                              {"digest", Put(lower)},
                              {"size", lower.size()}},
                             {{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                              {"digest", Put(upper)},
                              {"size", upper.size()}}}}};
    const std::string m = manifest.dump();
    dir.Write("index.json",
              json({{"schemaVersion", 2},
                    {"manifests",
                     {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                       {"digest", Put(m)},
                       {"size", m.size()},
                       {"annotations", {{"org.opencontainers.image.ref.name", "12"}}}}}}})
                  .dump());
  }
};

const char kStatus[] =
    "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9+deb12u4\n"
    "Source: glibc\n\n"
    "Package: python3-minimal\nStatus: install ok installed\nArchitecture: amd64\n"
    "Version: 3.11.2-1+b1\nDepends: libc6 (>= 2.34)\n\n"
    "Package: gone\nStatus: purge ok not-installed\nArchitecture: amd64\nVersion: 1\n";

struct Planned {
  Result<ImagePlan> plan = Internal("not planned");
  std::vector<std::string> logged;
  std::map<std::string, std::string> artifacts;  // ref suffix -> content
};

Planned PlanWithSbom(const std::string& project_dir, const std::string& deps,
                     const std::string& base, std::vector<std::string> plugin_opts = {},
                     const std::string& cache_dir = "") {
  Planned out;
  PluginSearch search;
  search.files = {OCIFS_SBOM_PLUGIN};
  auto host = PluginHost::Load(search, nullptr);
  if (!host.ok()) {
    out.plan = host.status();
    return out;
  }
  PlanInputs in;
  in.project_dir = project_dir;
  in.flags.base = base;
  in.flags.deps = deps;
  in.flags.python = "3.11";
  in.flags.platform = "linux/amd64";
  in.source_date_epoch = "1700000000";
  for (const auto& o : plugin_opts) EXPECT_TRUE(AddPluginOption(in.flags.plugins, o).ok()) << o;
  in.plugins = std::move(host).value();
  in.plugins->set_log([&](LogLevel, const std::string& m) { out.logged.push_back(m); });
  in.plugins->set_cache_dir(cache_dir);
  out.plan = PlanProject(in);
  if (out.plan.ok()) {
    for (const auto& a : out.plan->artifacts) out.artifacts[a.ref_suffix] = *a.content;
  }
  return out;
}

struct Fixture {
  TempDir project, deps;
  BaseLayout base{kStatus};

  Fixture() {
    project.Write("pyproject.toml",
                  "[project]\nname = \"svc\"\nversion = \"1.2\"\nlicense = \"MIT\"\n"
                  "dependencies = [\"fastapi>=0.9\", \"colorama; sys_platform == 'win32'\"]\n");
    project.Write("main.py", "print('svc')\n");
    const std::string sp = "lib/python3.11/site-packages/";
    deps.Write("pyvenv.cfg", "version = 3.11.2\n");
    deps.Write(sp + "fastapi-0.92.0.dist-info/METADATA",
               "Metadata-Version: 2.1\nName: fastapi\nVersion: 0.92.0\nSummary: FastAPI\n"
               "Project-URL: Homepage, https://github.com/tiangolo/fastapi\n"
               "License-Expression: MIT\nRequires-Dist: starlette<0.26\nRequires-Dist: pydantic\n"
               "Requires-Dist: httpx>=0.23.0; extra == 'all'\n\nlong description\n");
    deps.Write(sp + "fastapi-0.92.0.dist-info/RECORD", "");
    deps.Write(sp + "starlette-0.26.1.dist-info/METADATA",
               "Name: starlette\nVersion: 0.26.1\nLicense-Expression: BSD-3-Clause\n"
               "Requires-Dist: anyio<5,>=3.4.0\n"
               "Requires-Dist: typing-extensions>=3.10.0; python_version < '3.10'\n");
    deps.Write(sp + "anyio-3.6.2.egg-info/PKG-INFO", "Name: anyio\nVersion: 3.6.2\nLicense: MIT\n");
    deps.Write(sp + "anyio-3.6.2.egg-info/requires.txt",
               "idna>=2.8\nsniffio>=1.1\n\n[:python_version < \"3.8\"]\ntyping_extensions\n\n"
               "[trio]\ntrio<0.22\n");
    deps.Write(sp + "typing_extensions-4.4.0.dist-info/METADATA",
               "Name: typing_extensions\nVersion: 4.4.0\n"
               "Classifier: License :: OSI Approved :: Python Software Foundation License\n");
    deps.Write(sp + "idna-3.3-py3.11.egg-info",
               "Name: idna\nVersion: 3.3\nLicense: BSD-3-Clause\n");
    deps.Write(sp + "colorama-0.4.6.dist-info/METADATA",
               "Name: colorama\nVersion: 0.4.6\n"
               "Classifier: License :: OSI Approved :: BSD License\n");
    deps.Write(sp + "colorama/__init__.py", "");
  }
  std::string Base() { return "oci:" + base.dir.path() + ":12"; }
};

std::map<std::string, json> PackagesByName(const json& spdx) {
  std::map<std::string, json> out;
  for (const auto& p : spdx["packages"]) out[p["name"]] = p;
  return out;
}

std::set<std::string> Depends(const json& spdx, const std::string& from) {
  std::map<std::string, std::string> names;
  for (const auto& p : spdx["packages"]) names[p["SPDXID"]] = p["name"];
  std::set<std::string> out;
  for (const auto& r : spdx["relationships"]) {
    if (r["relationshipType"] == "DEPENDS_ON" && names[r["spdxElementId"]] == from)
      out.insert(names[r["relatedSpdxElement"]]);
  }
  return out;
}

TEST(SbomPluginTest, DescribesTheProjectItsDistributionsAndTheBasePackages) {
  Fixture fx;
  Planned p = PlanWithSbom(fx.project.path(), fx.deps.path(), fx.Base());
  ASSERT_TRUE(p.plan.ok()) << p.plan.status().message();
  ASSERT_EQ(p.artifacts.size(), 2u);
  const json spdx = json::parse(p.artifacts.at("sbom.spdx"));
  const auto pkgs = PackagesByName(spdx);
  std::set<std::string> names;
  for (const auto& [name, pkg] : pkgs) names.insert(name);
  // "svc" twice (the image and the application) is one name here.
  const std::string layout_name = fx.base.dir.path().substr(fx.base.dir.path().rfind('/') + 1);
  EXPECT_EQ(names, (std::set<std::string>{"svc", layout_name + ":12", "debian", "libc6",
                                          "python3-minimal", "anyio", "colorama", "fastapi", "idna",
                                          "starlette", "typing_extensions"}))
      << spdx.dump(1);
  EXPECT_EQ(spdx["creationInfo"]["created"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(pkgs.at("fastapi")["versionInfo"], "0.92.0");
  EXPECT_EQ(pkgs.at("fastapi")["licenseDeclared"], "MIT");
  EXPECT_EQ(pkgs.at("fastapi")["homepage"], "https://github.com/tiangolo/fastapi");
  EXPECT_EQ(pkgs.at("typing_extensions")["externalRefs"][0]["referenceLocator"],
            "pkg:pypi/typing-extensions@4.4.0");
  EXPECT_EQ(pkgs.at("typing_extensions")["licenseDeclared"], "NOASSERTION");
  EXPECT_EQ(pkgs.at("idna")["versionInfo"], "3.3");
  EXPECT_EQ(pkgs.at("idna")["licenseDeclared"], "BSD-3-Clause");
  EXPECT_EQ(pkgs.at("libc6")["externalRefs"][0]["referenceLocator"],
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12");
  EXPECT_EQ(pkgs.at("libc6")["sourceInfo"], "built from source package glibc");
  EXPECT_EQ(pkgs.at(layout_name + ":12")["primaryPackagePurpose"], "CONTAINER");
  EXPECT_EQ(pkgs.at("debian")["versionInfo"], "12");
  // Relations: installed targets whose markers hold; extras and absent ones are not there.
  EXPECT_EQ(Depends(spdx, "fastapi"), std::set<std::string>{"starlette"});
  EXPECT_EQ(Depends(spdx, "starlette"), std::set<std::string>{"anyio"});
  EXPECT_EQ(Depends(spdx, "anyio"), std::set<std::string>{"idna"});
  EXPECT_EQ(Depends(spdx, "python3-minimal"), std::set<std::string>{"libc6"});

  const json cdx = json::parse(p.artifacts.at("sbom.cyclonedx"));
  std::set<std::string> purls;
  for (const auto& c : cdx["components"])
    if (c.contains("purl")) purls.insert(c["purl"]);
  EXPECT_TRUE(purls.count("pkg:pypi/fastapi@0.92.0"));
  EXPECT_TRUE(
      purls.count("pkg:deb/debian/python3-minimal@3.11.2-1%2Bb1?arch=amd64&distro=debian-12"));
  const std::string base_digest = p.plan->base.manifest_digest->str();
  std::string purl_name = layout_name;
  std::transform(purl_name.begin(), purl_name.end(), purl_name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  EXPECT_TRUE(purls.count("pkg:oci/" + purl_name + "@" + base_digest + "?tag=12"))
      << cdx["components"].dump(1);
  // The application depends on what [project] dependencies names and is installed.
  for (const auto& d : cdx["dependencies"]) {
    if (d["ref"] == "application") {
      EXPECT_EQ(d["dependsOn"], json::array({"pkg:pypi/fastapi@0.92.0"}));
    }
  }
}

TEST(SbomPluginTest, SameInputsGiveTheSameBytes) {
  Fixture fx;
  Planned a = PlanWithSbom(fx.project.path(), fx.deps.path(), fx.Base());
  Planned b = PlanWithSbom(fx.project.path(), fx.deps.path(), fx.Base());
  ASSERT_TRUE(a.plan.ok() && b.plan.ok());
  EXPECT_EQ(a.artifacts, b.artifacts);
}

TEST(SbomPluginTest, SettingsChooseFormatsLayerAndBasePackages) {
  Fixture fx;
  {
    Planned p = PlanWithSbom(fx.project.path(), fx.deps.path(), fx.Base(),
                             {"sbom.formats=cyclonedx", "sbom.cyclonedx-version=1.6",
                              "sbom.include-base-packages=false"});
    ASSERT_TRUE(p.plan.ok()) << p.plan.status().message();
    ASSERT_EQ(p.artifacts.size(), 1u);
    const json cdx = json::parse(p.artifacts.at("sbom.cyclonedx"));
    EXPECT_EQ(cdx["specVersion"], "1.6");
    for (const auto& c : cdx["components"]) EXPECT_NE(c["type"], "operating-system");
    EXPECT_EQ(p.plan->layers.back().name, "application");
  }
  {
    Planned p = PlanWithSbom(fx.project.path(), fx.deps.path(), fx.Base(),
                             {"sbom.in-image=true", "sbom.formats=[\"spdx\"]"});
    ASSERT_TRUE(p.plan.ok()) << p.plan.status().message();
    const PlannedLayer& top = p.plan->layers.back();
    EXPECT_EQ(top.name, "sbom");
    std::set<std::string> names;
    for (const auto& e : top.tar->entries()) names.insert(e.name);
    EXPECT_TRUE(names.count("usr/share/doc/sbom/sbom.spdx.json")) << *names.begin();
    EXPECT_EQ(p.artifacts.size(), 1u);
    // The file in the image and the artifact are the same document.
    for (const auto& e : top.tar->entries()) {
      if (e.name == "usr/share/doc/sbom/sbom.spdx.json") {
        ASSERT_TRUE(e.data);
        EXPECT_EQ(*e.data, p.artifacts.at("sbom.spdx"));
      }
    }
  }
  {
    // The same from pyproject.toml: a TOML array and a boolean.
    TempDir project;
    project.Write("main.py", "print('hi')\n");
    project.Write("pyproject.toml",
                  "[project]\nname = \"svc\"\nversion = \"1\"\n"
                  "[tool.ocifs.plugins.sbom]\nformats = [\"cyclonedx\"]\nin-image = true\n");
    Planned p = PlanWithSbom(project.path(), fx.deps.path(), fx.Base());
    ASSERT_TRUE(p.plan.ok()) << p.plan.status().message();
    EXPECT_EQ(p.artifacts.size(), 1u);
    EXPECT_TRUE(p.artifacts.count("sbom.cyclonedx"));
    EXPECT_EQ(p.plan->layers.back().name, "sbom");
  }
  {
    Planned p = PlanWithSbom(fx.project.path(), fx.deps.path(), fx.Base(), {"sbom.formats="});
    ASSERT_TRUE(p.plan.ok()) << p.plan.status().message();
    EXPECT_TRUE(p.artifacts.empty());
  }
  struct Bad {
    std::string opt, message;
  } bad[] = {
      {"sbom.formats=spdx,swid", "`swid` is not spdx or cyclonedx"},
      {"sbom.in-image=yes", "want true or false"},
      {"sbom.cyclonedx-version=1.4", "want 1.5 or 1.6"},
      {"sbom.colour=blue", "unknown setting `colour`"},
  };
  for (const auto& b : bad) {
    Planned p = PlanWithSbom(fx.project.path(), fx.deps.path(), fx.Base(), {b.opt});
    ASSERT_FALSE(p.plan.ok()) << b.opt;
    EXPECT_NE(p.plan.status().message().find(b.message), std::string::npos)
        << p.plan.status().message();
  }
}

// Flips a byte of the base's gzip layer (its reads then fail their digest check in the host);
// returns the layer's digest.
std::string CorruptLowerLayer(BaseLayout& base) {
  const json index = json::parse(ReadFileOrDie(base.dir.path() + "/index.json"));
  const std::string manifest_digest = index["manifests"][0]["digest"];
  const json manifest =
      json::parse(ReadFileOrDie(base.dir.path() + "/blobs/sha256/" + manifest_digest.substr(7)));
  const std::string layer_digest = manifest["layers"][0]["digest"];
  std::string bytes = ReadFileOrDie(base.dir.path() + "/blobs/sha256/" + layer_digest.substr(7));
  bytes[bytes.size() / 2] ^= 0x55;
  base.dir.Write("blobs/sha256/" + layer_digest.substr(7), bytes);
  return layer_digest;
}

TEST(SbomPluginTest, AnUnreadableBaseLayerLeavesTheOsPackagesOutAndSaysSo) {
  Fixture fx;
  const std::string layer_digest = CorruptLowerLayer(fx.base);
  Planned p = PlanWithSbom(fx.project.path(), fx.deps.path(), fx.Base());
  ASSERT_TRUE(p.plan.ok()) << p.plan.status().message();
  ASSERT_EQ(p.logged.size(), 1u);
  EXPECT_NE(p.logged[0].find("OS packages are left out of the SBOM: base layer " + layer_digest),
            std::string::npos)
      << p.logged[0];
  const json spdx = json::parse(p.artifacts.at("sbom.spdx"));
  const auto pkgs = PackagesByName(spdx);
  EXPECT_FALSE(pkgs.count("libc6"));
  EXPECT_TRUE(pkgs.count("fastapi"));
  const std::string layout_name = fx.base.dir.path().substr(fx.base.dir.path().rfind('/') + 1);
  EXPECT_NE(
      pkgs.at(layout_name + ":12")["comment"].get<std::string>().find("does not match its digest"),
      std::string::npos);
  const json cdx = json::parse(p.artifacts.at("sbom.cyclonedx"));
  ASSERT_EQ(cdx["compositions"].size(), 1u);
  EXPECT_EQ(cdx["compositions"][0]["aggregate"], "incomplete");
}

TEST(SbomPluginTest, ScansOfBaseLayersAreKeptInThePluginsCacheDirectory) {
  Fixture fx;
  TempDir cache;
  Planned first = PlanWithSbom(fx.project.path(), fx.deps.path(), fx.Base(), {}, cache.path());
  ASSERT_TRUE(first.plan.ok()) << first.plan.status().message();
  const std::string layers = cache.path() + "/plugins/sbom/layers";
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(layers)) {
    EXPECT_EQ(e.path().filename().string().size(), 64u) << e.path();
    ++files;
  }
  EXPECT_EQ(files, 2u);  // one scan per base layer
  EXPECT_EQ(std::filesystem::status(cache.path() + "/plugins/sbom").permissions() &
                std::filesystem::perms::all,
            std::filesystem::perms::owner_all);

  // The layer can no longer be read, but its scan is kept: the same documents.
  const std::string layer_digest = CorruptLowerLayer(fx.base);
  Planned cached = PlanWithSbom(fx.project.path(), fx.deps.path(), fx.Base(), {}, cache.path());
  ASSERT_TRUE(cached.plan.ok()) << cached.plan.status().message();
  EXPECT_TRUE(cached.logged.empty());
  EXPECT_EQ(cached.artifacts, first.artifacts);

  // A damaged cache file is not trusted: the layer is read again (and now fails).
  std::string text = ReadFileOrDie(layers + "/" + layer_digest.substr(7));
  text[text.size() / 2] ^= 1;
  cache.Write("plugins/sbom/layers/" + layer_digest.substr(7), text);
  Planned damaged = PlanWithSbom(fx.project.path(), fx.deps.path(), fx.Base(), {}, cache.path());
  ASSERT_TRUE(damaged.plan.ok());
  ASSERT_EQ(damaged.logged.size(), 1u);
  EXPECT_NE(damaged.logged[0].find("left out"), std::string::npos) << damaged.logged[0];
}

TEST(SbomPluginTest, BrokenMetadataIsListedWithoutAPurlAndAWarning) {
  TempDir project, deps;
  project.Write("main.py", "print('hi')\n");
  deps.Write("pyvenv.cfg", "version = 3.11.2\n");
  deps.Write("lib/python3.11/site-packages/odd-1.0.dist-info/METADATA",
             "Name: not a name!\nVersion: 1.0\n");
  deps.Write("lib/python3.11/site-packages/bare.dist-info/METADATA", "Summary: no name\n");
  Planned p = PlanWithSbom(project.path(), deps.path(), "scratch");
  ASSERT_TRUE(p.plan.ok()) << p.plan.status().message();
  EXPECT_EQ(p.logged,
            (std::vector<std::string>{
                "plugin `sbom`: bare.dist-info/METADATA: no Name or Version; taken from the "
                "directory name",
                "plugin `sbom`: bare.dist-info/METADATA: `bare` has no version; it is listed "
                "without a purl",
                "plugin `sbom`: odd-1.0.dist-info/METADATA: `not a name!` is not a distribution "
                "name; it is listed without a purl"}));
  const auto pkgs = PackagesByName(json::parse(p.artifacts.at("sbom.spdx")));
  EXPECT_FALSE(pkgs.at("not a name!").contains("externalRefs"));
  EXPECT_EQ(pkgs.at("bare")["summary"], "no name");
}

TEST(SbomPluginTest, ScratchAndProjectsWithoutDependencies) {
  TempDir project, deps;
  project.Write("main.py", "print('hi')\n");
  deps.Write("pyvenv.cfg", "version = 3.11.2\n");
  deps.Write("lib/python3.11/site-packages/click-8.1.3.dist-info/METADATA",
             "Name: click\nVersion: 8.1.3\n");
  Planned p = PlanWithSbom(project.path(), deps.path(), "scratch");
  ASSERT_TRUE(p.plan.ok()) << p.plan.status().message();
  const json spdx = json::parse(p.artifacts.at("sbom.spdx"));
  // No [project] dependencies: the application depends on the roots of the installed graph.
  const auto pkgs = PackagesByName(spdx);
  EXPECT_TRUE(pkgs.count("click"));
  EXPECT_EQ(spdx["packages"].size(), 3u);  // image, application, click
  std::string app_name = spdx["packages"][1]["name"];
  EXPECT_EQ(Depends(spdx, app_name), std::set<std::string>{"click"});
}

}  // namespace
}  // namespace ocifs::sbom
