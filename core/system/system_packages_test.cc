#include "core/system/system_packages.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "core/debian/deb_test_util.h"
#include "core/debian/gpg_test_util.h"
#include "core/oci/blob.h"
#include "core/oci/descriptor.h"
#include "core/oci/tar_reader.h"
#include "core/oci/tar_test_util.h"
#include "core/support/byte_stream_test_util.h"
#include "core/support/test_util.h"

namespace ocifs {
namespace {

constexpr char kArchive[] = "http://127.0.0.1:8080/debian";

// An archive served from memory; counts requests.
class Archive : public HttpTransport {
 public:
  std::map<std::string, std::string> files;
  int requests = 0;
  Result<HttpResponse> Send(const HttpRequest& request, const BodySink* sink, size_t) override {
    ++requests;
    HttpResponse r;
    auto it = files.find(request.url);
    r.status = it == files.end() ? 404 : 200;
    if (it != files.end())
      OCIFS_RETURN_IF_ERROR((*sink)(200, std::as_bytes(std::span(it->second))));
    return r;
  }
};

class SystemPackagesTest : public testing::Test {
 protected:
  void SetUp() override {
    gpg_.MakeKey("archive");
    // libdemo1 depends on libdep0, which the base lacks; libc6 the base has.
    debian::DebSpec lib;
    lib.control =
        "Package: libdemo1\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: t "
        "<t@ocifs.invalid>\nMulti-Arch: same\n"
        "Depends: libc6 (>= 2.34), libdep0 (>= 0.5)\nDescription: demo\n";
    lib.files = {{"usr/lib/x86_64-linux-gnu/libdemo.so.1.0.0", std::string(40000, 'D')}};
    lib.links = {{"usr/lib/x86_64-linux-gnu/libdemo.so.1", "libdemo.so.1.0.0"}};
    debian::DebSpec dep;
    dep.control =
        "Package: libdep0\nVersion: 0.5-2\nArchitecture: amd64\nMaintainer: t <t@ocifs.invalid>\n"
        "Description: dep\n";
    dep.files = {{"lib/x86_64-linux-gnu/libdep.so.0", std::string(3000, 'E')}};
    dep.compression = "gzip";
    std::string packages;
    for (auto [name, spec] :
         {std::pair<std::string, debian::DebSpec>{"libdemo1", lib}, {"libdep0", dep}}) {
      const std::string bytes = debian::BuildDeb(tmp_, name, spec);
      const std::string filename = "pool/main/d/demo/" + name + ".deb";
      archive_->files[std::string(kArchive) + "/" + filename] = bytes;
      packages += spec.control + "Filename: " + filename +
                  "\nSize: " + std::to_string(bytes.size()) +
                  "\nSHA256: " + Digest::Of(bytes).hex() + "\n\n";
    }
    const std::string release =
        "Codename: bookworm\nArchitectures: amd64\nComponents: main\nSHA256:\n " +
        Digest::Of(packages).hex() + " " + std::to_string(packages.size()) +
        " main/binary-amd64/Packages\n";
    archive_->files[std::string(kArchive) + "/dists/bookworm/InRelease"] =
        gpg_.Clearsign("archive", release);
    archive_->files[std::string(kArchive) + "/dists/bookworm/main/binary-amd64/Packages"] =
        packages;
    base_ = Base("deb http://127.0.0.1:8080/debian bookworm main\n");
  }

  // A one-layer base: libc6 installed, `sources` as its sources.list, the archive's key trusted.
  BaseImage Base(const std::string& sources) {
    std::vector<TarEntry> entries = {
        MemFileEntry("etc/apt/sources.list", sources),
        MemFileEntry("usr/share/keyrings/debian-archive-keyring.gpg",
                     gpg_.Export("archive", false)),
        MemFileEntry("var/lib/dpkg/status",
                     "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: "
                     "2.36-9+deb12u4\n"
                     "Maintainer: m <m@ocifs.invalid>\nDescription: libc\n")};
    entries.insert(entries.begin(), SymlinkEntry("lib", "usr/lib"));
    const std::string tar = TarBytes(std::move(entries));
    BaseImage base;
    base.reference = "oci:/bases/bookworm";
    base.manifest_digest = Digest::Of(sources);
    base.layers.push_back({Descriptor{kMediaTypeOciLayer, Digest::Of(tar), tar.size()},
                           Digest::Of(tar), std::make_shared<MemoryBlob>(tar)});
    return base;
  }

  Result<SystemLayer> Plan(std::vector<std::string> packages, bool offline = false,
                           std::vector<std::string> mirrors = {}, const BaseImage* base = nullptr) {
    SystemPackagesOptions o;
    o.packages = std::move(packages);
    o.mirrors = std::move(mirrors);
    o.origin = "`pyproject.toml` [tool.ocifs] system-packages";
    SystemContext c;
    c.transport = archive_;
    c.retry.sleep = [](std::chrono::milliseconds) {};
    c.cache_dir = tmp_.path() + "/cache";
    c.offline = offline;
    return PlanSystemPackages(base ? *base : base_, *ParsePlatform("linux/amd64"), o, c,
                              1700000000);
  }

  static Result<std::string> Bytes(const VirtualTar& tar) {
    std::string out;
    OCIFS_RETURN_IF_ERROR(tar.Stream([&](std::span<const std::byte> b) {
      out.append(reinterpret_cast<const char*>(b.data()), b.size());
    }));
    return out;
  }

  debian::TestGpg gpg_;
  TempDir tmp_;
  std::shared_ptr<Archive> archive_ = std::make_shared<Archive>();
  BaseImage base_;
};

TEST_F(SystemPackagesTest, ResolvedOnceThenFromTheCache) {
  auto first = Plan({"libdemo1"});
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_FALSE(first->from_record);
  ASSERT_EQ(first->packages.size(), 2u);
  EXPECT_EQ(first->packages[0].Id(), "libdep0 0.5-2");
  EXPECT_EQ(first->packages[1].Id(), "libdemo1 1.0-1");
  EXPECT_TRUE(first->warnings.empty()) << first->warnings[0];
  auto bytes = Bytes(*first->tar);
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  // libdep0's /lib file lands under usr/ (the base links lib to usr/lib).
  TarReader reader(StreamOf(*bytes, 1 << 16), "layer");
  std::set<std::string> names;
  while (true) {
    auto h = reader.Next();
    ASSERT_TRUE(h.ok()) << h.status().message();
    if (!*h) break;
    names.insert((*h)->name);
  }
  EXPECT_TRUE(names.contains("usr/lib/x86_64-linux-gnu/libdep.so.0"));
  EXPECT_FALSE(names.contains("lib"));
  EXPECT_TRUE(names.contains("var/lib/dpkg/info/libdemo1:amd64.list"));
  EXPECT_TRUE(names.contains("var/lib/dpkg/status"));

  // Offline, from the record and the listings: no request, the same layer.
  archive_->requests = 0;
  auto again = Plan({"libdemo1"}, /*offline=*/true);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(again->from_record);
  EXPECT_EQ(again->tar->CacheKey(), first->tar->CacheKey());
  EXPECT_EQ(Bytes(*again->tar).value(), *bytes);
  EXPECT_EQ(archive_->requests, 0);

  // The .debs gone from the cache: still planned from the listings; a read fetches them (online),
  // or fails (offline).
  std::filesystem::remove_all(tmp_.path() + "/cache/apt/debs");
  std::filesystem::create_directories(tmp_.path() + "/cache/apt/debs");
  std::filesystem::permissions(tmp_.path() + "/cache/apt/debs", std::filesystem::perms::owner_all);
  auto offline = Plan({"libdemo1"}, /*offline=*/true);
  ASSERT_TRUE(offline.ok()) << offline.status().message();
  EXPECT_EQ(Bytes(*offline->tar).status().code(), Code::kFailedPrecondition);
  auto online = Plan({"libdemo1"});
  ASSERT_TRUE(online.ok()) << online.status().message();
  EXPECT_EQ(archive_->requests, 0) << "planned without the network";
  EXPECT_EQ(Bytes(*online->tar).value(), *bytes);
  EXPECT_EQ(archive_->requests, 2) << "each .deb fetched on the first read";
}

TEST_F(SystemPackagesTest, Errors) {
  BaseImage no_dpkg = base_;
  no_dpkg.layers.clear();
  const std::string tar = TarBytes({MemFileEntry("etc/hostname", "x\n")});
  no_dpkg.layers.push_back({Descriptor{kMediaTypeOciLayer, Digest::Of(tar), tar.size()},
                            Digest::Of(tar), std::make_shared<MemoryBlob>(tar)});
  BaseImage scratch;
  scratch.reference = "scratch";
  const BaseImage elsewhere = Base("deb http://deb.debian.org/debian bookworm main\n");
  struct Case {
    std::string name;
    std::vector<std::string> packages;
    const BaseImage* base;
    std::vector<std::string> mirrors;
    Code code;
    std::string says;
  };
  const Case cases[] = {
      {"unknown",
       {"libnope1"},
       nullptr,
       {},
       Code::kNotFound,
       "`pyproject.toml` [tool.ocifs] system-packages: package `libnope1` (requested as "
       "`libnope1`) is not in the index"},
      {"no version",
       {"libdemo1=2.*"},
       nullptr,
       {},
       Code::kInvalidArgument,
       "no version matches `2.*`"},
      {"bad name", {"Lib Demo"}, nullptr, {}, Code::kInvalidArgument, "not a Debian package name"},
      {"scratch",
       {"libdemo1"},
       &scratch,
       {},
       Code::kInvalidArgument,
       "the base `scratch` has no layers"},
      {"no dpkg",
       {"libdemo1"},
       &no_dpkg,
       {},
       Code::kInvalidArgument,
       "has no /var/lib/dpkg/status"},
      {"unreachable archive",
       {"libdemo1"},
       &elsewhere,
       {},
       Code::kNotFound,
       "`http://deb.debian.org/debian/dists/bookworm/InRelease` is not there"},
  };
  for (const Case& c : cases) {
    auto plan = Plan(c.packages, false, c.mirrors, c.base);
    ASSERT_FALSE(plan.ok()) << c.name;
    EXPECT_EQ(plan.status().code(), c.code) << c.name << ": " << plan.status().message();
    EXPECT_NE(plan.status().message().find(c.says), std::string::npos)
        << c.name << ": " << plan.status().message();
  }
  // The same base through a mirror works.
  auto mirrored = Plan({"libdemo1"}, false, {"http://127.0.0.1:8080/debian/"}, &elsewhere);
  EXPECT_TRUE(mirrored.ok()) << mirrored.status().message();
}

TEST(DpkgArchitectureTest, Platforms) {
  for (auto [platform, arch] :
       std::vector<std::pair<std::string, std::string>>{{"linux/amd64", "amd64"},
                                                        {"linux/arm64", "arm64"},
                                                        {"linux/arm/v7", "armhf"},
                                                        {"linux/arm/v6", "armel"},
                                                        {"linux/386", "i386"},
                                                        {"linux/ppc64le", "ppc64el"},
                                                        {"linux/s390x", "s390x"}}) {
    EXPECT_EQ(DpkgArchitecture(*ParsePlatform(platform)).value(), arch) << platform;
  }
}

}  // namespace
}  // namespace ocifs
