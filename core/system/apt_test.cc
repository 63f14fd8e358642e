#include "core/system/apt.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "core/debian/gpg_test_util.h"
#include "core/support/test_util.h"
#include "ocifs/subprocess.hpp"

namespace ocifs {
namespace {

using debian::Package;

// An archive behind a scripted network: files by URL, Range honoured, a body cut once on demand.
class FakeArchive : public HttpTransport {
 public:
  std::map<std::string, std::string> files;
  std::map<std::string, size_t> cut_once;  // URL -> bytes sent before the connection drops
  std::vector<std::string> seen;           // "URL" or "URL Range: bytes=N-"

  Result<HttpResponse> Send(const HttpRequest& request, const BodySink* sink, size_t) override {
    std::string range;
    for (const std::string& h : request.headers) {
      if (h.starts_with("Range: bytes=")) range = h.substr(13, h.size() - 14);
    }
    seen.push_back(request.url + (range.empty() ? "" : " Range: bytes=" + range + "-"));
    HttpResponse r;
    auto it = files.find(request.url);
    if (it == files.end()) {
      r.status = 404;
      r.body = "Not Found";
      return r;
    }
    std::string body = it->second;
    r.status = 200;
    if (!range.empty()) {
      body = body.substr(std::stoul(range));
      r.status = 206;
    }
    if (auto cut = cut_once.find(request.url); cut != cut_once.end()) {
      const size_t n = cut->second;
      cut_once.erase(cut);
      OCIFS_RETURN_IF_ERROR((*sink)(r.status, std::as_bytes(std::span(body.data(), n))));
      return Status(Code::kIo, "127.0.0.1: Connection reset by peer");
    }
    OCIFS_RETURN_IF_ERROR((*sink)(r.status, std::as_bytes(std::span(body))));
    return r;
  }
};

constexpr char kUri[] = "http://127.0.0.1:8080/debian";

class AptClientTest : public testing::Test {
 protected:
  void SetUp() override {
    gpg_.MakeKey("archive");
    gpg_.MakeKey("stranger");
    Reset();
  }

  // A fresh archive, and an empty cache.
  void Reset() {
    archive_ = std::make_shared<FakeArchive>();
    std::filesystem::remove_all(cache_.path() + "/cache");
    deb_ = std::string(5000, 'd') + "libdemo1";
    packages_ =
        "Package: libdemo1\nVersion: 1.2.3-1\nArchitecture: amd64\nMulti-Arch: same\nDepends: "
        "libc6 (>= 2.34)\n"
        "Filename: pool/main/d/demo/libdemo1_1.2.3-1_amd64.deb\nSize: " +
        std::to_string(deb_.size()) + "\nSHA256: " + Digest::Of(deb_).hex() +
        "\n\nPackage: demo-doc\nVersion: 1:1.2.3+dfsg-1\nArchitecture: all\nFilename: "
        "pool/main/d/demo/"
        // as `apt-get download` names a file, and so a local archive's Filename
        "demo-doc_1%3a1.2.3+dfsg-1_all.deb\nSize: 10\nSHA256: " +
        std::string(64, 'b') + "\n";
    sdk::RunOptions xz;
    xz.input = packages_;
    packages_xz_ = sdk::RunProcess({"xz", "-c"}, xz).out;
    ASSERT_FALSE(packages_xz_.empty());
    Publish("archive", /*by_hash=*/false);
    archive_->files[std::string(kUri) + "/pool/main/d/demo/libdemo1_1.2.3-1_amd64.deb"] = deb_;
  }

  // The archive's files: InRelease signed by `signer`, Packages and Packages.xz.
  void Publish(const std::string& signer, bool by_hash) {
    const std::string release =
        std::string("Origin: ocifs test\nSuite: stable\nCodename: bookworm\n") +
        (by_hash ? "Acquire-By-Hash: yes\n" : "") +
        "Architectures: amd64\nComponents: main\nSHA256:\n " + Digest::Of(packages_).hex() + " " +
        std::to_string(packages_.size()) + " main/binary-amd64/Packages\n " +
        Digest::Of(packages_xz_).hex() + " " + std::to_string(packages_xz_.size()) +
        " main/binary-amd64/Packages.xz\n";
    const std::string dists = std::string(kUri) + "/dists/bookworm/";
    archive_->files[dists + "InRelease"] = gpg_.Clearsign(signer, release);
    const std::string xz_url =
        by_hash ? dists + "main/binary-amd64/by-hash/SHA256/" + Digest::Of(packages_xz_).hex()
                : dists + "main/binary-amd64/Packages.xz";
    archive_->files.erase(dists + "main/binary-amd64/Packages.xz");
    archive_->files[xz_url] = packages_xz_;
    archive_->files[dists + "main/binary-amd64/Packages"] = packages_;
  }

  AptClient Client(bool offline = false, std::vector<std::string> signed_by = {}) {
    AptSetup setup;
    setup.sources = {debian::AptSource{.uri = kUri,
                                       .suite = "bookworm",
                                       .components = {"main"},
                                       .signed_by = std::move(signed_by),
                                       .signed_by_key = {},
                                       .origin = "`/etc/apt/sources.list` line 1"}};
    setup.keyrings = {
        {"/usr/share/keyrings/debian-archive-keyring.gpg", gpg_.Export("archive", false)}};
    setup.arch = "amd64";
    setup.offline = offline;
    RetryPolicy retry;
    retry.sleep = [](std::chrono::milliseconds) {};
    return AptClient(setup, archive_, retry, cache_.path() + "/cache");
  }

  debian::TestGpg gpg_;
  TempDir cache_;
  std::shared_ptr<FakeArchive> archive_ = std::make_shared<FakeArchive>();
  std::string deb_, packages_, packages_xz_;
};

TEST_F(AptClientTest, IndexesAreVerifiedAndCachedForOffline) {
  auto index = Client().LoadIndex();
  ASSERT_TRUE(index.ok()) << index.status().message();
  ASSERT_EQ(index->packages.size(), 2u);
  EXPECT_EQ(index->packages[0].Id(), "libdemo1 1.2.3-1");
  EXPECT_EQ(index->packages[0].archive, kUri);
  EXPECT_EQ(index->digest, Digest::Of(Digest::Of(packages_xz_).hex() + "\n"))
      << "names the Packages read";
  EXPECT_EQ(archive_->seen,
            (std::vector<std::string>{
                std::string(kUri) + "/dists/bookworm/InRelease",
                std::string(kUri) + "/dists/bookworm/main/binary-amd64/Packages.xz"}));

  // Offline, from the cache alone.
  archive_->seen.clear();
  auto offline = Client(/*offline=*/true).LoadIndex();
  ASSERT_TRUE(offline.ok()) << offline.status().message();
  EXPECT_EQ(offline->digest, index->digest);
  EXPECT_EQ(offline->packages.size(), 2u);
  EXPECT_TRUE(archive_->seen.empty());

  // Online again: InRelease is asked (it may have changed), the Packages file is not.
  EXPECT_TRUE(Client().LoadIndex().ok());
  EXPECT_EQ(archive_->seen.size(), 1u);
}

TEST_F(AptClientTest, ByHashWhenTheArchiveOffersIt) {
  Publish("archive", /*by_hash=*/true);
  auto index = Client().LoadIndex();
  ASSERT_TRUE(index.ok()) << index.status().message();
  EXPECT_EQ(archive_->seen.back(), std::string(kUri) +
                                       "/dists/bookworm/main/binary-amd64/by-hash/SHA256/" +
                                       Digest::Of(packages_xz_).hex());
}

TEST_F(AptClientTest, WhatFailsACheckIsNeverUsedNorCached) {
  struct Case {
    std::string name;
    std::function<void()> arrange;
    std::vector<std::string> signed_by;
    Code code;
    std::string says;
  };
  const std::string dists = std::string(kUri) + "/dists/bookworm/";
  const Case cases[] = {
      {"a tampered Packages.xz",
       [&] { archive_->files[dists + "main/binary-amd64/Packages.xz"][20] ^= 1; },
       {},
       Code::kCorrupt,
       "main/binary-amd64/Packages.xz is " + std::to_string(packages_xz_.size()) +
           " bytes with SHA256 "},
      {"signed by a stranger",
       [&] { Publish("stranger", false); },
       {},
       Code::kCorrupt,
       "InRelease of apt source `http://127.0.0.1:8080/debian bookworm` (`/etc/apt/sources.list` "
       "line 1): its "
       "signature does not check: signed by key"},
      {"unsigned",
       [&] { archive_->files[dists + "InRelease"] = "Codename: bookworm\nSHA256:\n"; },
       {},
       Code::kCorrupt,
       "its signature does not check"},
      {"Signed-By names another keyring",
       [] {},
       {"/usr/share/keyrings/other.gpg"},
       Code::kInvalidArgument,
       "Signed-By `/usr/share/keyrings/other.gpg` is no keyring of the base"},
      {"no InRelease",
       [&] { archive_->files.erase(dists + "InRelease"); },
       {},
       Code::kNotFound,
       "`http://127.0.0.1:8080/debian/dists/bookworm/InRelease` is not there (HTTP 404)"},
  };
  for (const Case& c : cases) {
    Reset();
    c.arrange();
    auto index = Client(false, c.signed_by).LoadIndex();
    ASSERT_FALSE(index.ok()) << c.name;
    EXPECT_EQ(index.status().code(), c.code) << c.name << ": " << index.status().message();
    EXPECT_NE(index.status().message().find(c.says), std::string::npos)
        << c.name << ": " << index.status().message();
    // Nothing of it was cached: offline there is no index.
    auto offline = Client(/*offline=*/true).LoadIndex();
    EXPECT_EQ(offline.status().code(), Code::kFailedPrecondition)
        << c.name << ": " << offline.status().message();
  }
}

TEST_F(AptClientTest, DebsAreResumedVerifiedAndKept) {
  auto index = Client().LoadIndex();
  ASSERT_TRUE(index.ok()) << index.status().message();
  const Package& pkg = index->packages[0];
  const std::string url = std::string(kUri) + "/" + pkg.filename;

  archive_->seen.clear();
  archive_->cut_once[url] = 1000;
  AptClient apt = Client();
  auto deb = apt.OpenDeb(pkg);
  ASSERT_TRUE(deb.ok()) << deb.status().message();
  EXPECT_EQ(archive_->seen, (std::vector<std::string>{url, url + " Range: bytes=1000-"}));
  EXPECT_EQ(apt.bytes_fetched(), deb_.size());
  std::string got(deb_.size(), '\0');
  ASSERT_EQ(*(*deb)->Pread(std::as_writable_bytes(std::span(got)), 0), deb_.size());
  EXPECT_EQ(got, deb_);

  // Kept: offline needs nothing.
  archive_->seen.clear();
  EXPECT_TRUE(Client(/*offline=*/true).OpenDeb(pkg).ok());
  EXPECT_TRUE(archive_->seen.empty());

  // Damaged in the cache: offline it is refused, online fetched again.
  const std::string cached = cache_.path() + "/cache/apt/debs/" + pkg.sha256;
  {
    std::string bytes = ReadFileOrDie(cached);
    bytes[100] ^= 1;
    std::ofstream(cached, std::ios::binary) << bytes;
  }
  EXPECT_EQ(Client(/*offline=*/true).OpenDeb(pkg).status().code(), Code::kCorrupt);
  auto again = Client().OpenDeb(pkg);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(archive_->seen, (std::vector<std::string>{url}));
  EXPECT_EQ(ReadFileOrDie(cached), deb_);

  // A .deb that is not what the index says is refused and not kept. Its URL's path is
  // percent-encoded: the `%` and `+` of the file name are the name's own.
  Package other = index->packages[1];
  archive_->files[std::string(kUri) + "/pool/main/d/demo/demo-doc_1%253a1.2.3%2Bdfsg-1_all.deb"] =
      "0123456789";
  auto bad = Client().OpenDeb(other);
  EXPECT_EQ(bad.status().code(), Code::kCorrupt) << bad.status().message();
  EXPECT_NE(bad.status().message().find(
                "`demo-doc_1:1.2.3+dfsg-1_all.deb` from `" + std::string(kUri) +
                "/pool/main/d/demo/demo-doc_1%253a1.2.3%2Bdfsg-1_all.deb`: the bytes hash to"),
            std::string::npos)
      << bad.status().message();
  EXPECT_FALSE(std::filesystem::exists(cache_.path() + "/cache/apt/debs/" + other.sha256));
  EXPECT_EQ(Client(/*offline=*/true).OpenDeb(other).status().code(), Code::kFailedPrecondition);
}

}  // namespace
}  // namespace ocifs
