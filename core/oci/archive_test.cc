#include "core/oci/archive.h"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/oci/layout_test_util.h"
#include "core/oci/tar_reader.h"
#include "core/support/byte_stream_test_util.h"

namespace ocifs {
namespace {

using json = nlohmann::json;

std::string Bytes(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 31 % 251);
  return s;
}

// A layout as ocifs serves one with variants and platforms: `latest` and `1.0` name one image
// (with an SBOM attached to `latest`), `dev` another sharing its base layer, `multi` an image
// index of two platforms.
struct Fixture {
  MapSource source;
  Descriptor base, app, dev_layer, config, dev_config, manifest, dev_manifest, arm_manifest,
      index_top, sbom;

  Descriptor Manifest(const Descriptor& cfg, std::vector<Descriptor> layers,
                      const std::string& title) {
    json m = {{"schemaVersion", 2}, {"mediaType", kMediaTypeOciManifest}, {"config", cfg.ToJson()}};
    m["layers"] = json::array();
    for (const Descriptor& l : layers) m["layers"].push_back(l.ToJson());
    if (!title.empty()) m["annotations"] = {{"org.opencontainers.image.title", title}};
    return source.Add(kMediaTypeOciManifest, CanonicalJson(m));
  }

  explicit Fixture(const std::string& title = "My_Web App") {
    base = source.Add(kMediaTypeOciLayerGzip, Bytes(3 << 20, 1));  // larger than one chunk
    app = source.Add(kMediaTypeOciLayer, Bytes(1500, 2));
    dev_layer = source.Add(kMediaTypeOciLayer, Bytes(700, 3));
    config = source.Add(kMediaTypeOciConfig, R"({"architecture":"amd64","os":"linux"})");
    dev_config = source.Add(kMediaTypeOciConfig, R"({"architecture":"amd64","os":"linux","x":1})");
    const Descriptor arm_config =
        source.Add(kMediaTypeOciConfig, R"({"architecture":"arm64","os":"linux"})");
    manifest = Manifest(config, {base, app}, title);
    dev_manifest = Manifest(dev_config, {base, app, dev_layer}, title);
    arm_manifest = Manifest(arm_config, {base, app}, "");
    json amd = manifest.ToJson(), arm = arm_manifest.ToJson();
    amd["platform"] = {{"os", "linux"}, {"architecture", "amd64"}};
    arm["platform"] = {{"os", "linux"}, {"architecture", "arm64"}};
    json idx = {{"schemaVersion", 2}, {"mediaType", kMediaTypeOciIndex}, {"manifests", {amd, arm}}};
    if (!title.empty()) idx["annotations"] = {{"org.opencontainers.image.title", title}};
    index_top = source.Add(kMediaTypeOciIndex, CanonicalJson(idx));
    const Descriptor empty = source.Add(kMediaTypeOciEmpty, "{}");
    const Descriptor doc = source.Add("application/spdx+json", R"({"spdxVersion":"SPDX-2.3"})");
    sbom =
        source.Add(kMediaTypeOciManifest, CanonicalJson({{"schemaVersion", 2},
                                                         {"mediaType", kMediaTypeOciManifest},
                                                         {"artifactType", "application/spdx+json"},
                                                         {"config", empty.ToJson()},
                                                         {"layers", {doc.ToJson()}},
                                                         {"subject", manifest.ToJson()}}));
    source.index = IndexJson({{manifest, "latest", "", std::nullopt},
                              {manifest, "1.0", "", std::nullopt},
                              {dev_manifest, "dev", "", std::nullopt},
                              {index_top, "multi", "", std::nullopt},
                              {sbom, "latest.sbom.spdx", "application/spdx+json", std::nullopt}});
  }
};

struct Entry {
  TarHeader header;
  std::string body;
};

// The archive's entries, in order, each checked to be what the writer promises: owner 0:0, the
// one mtime, 0644 files and 0755 directories.
std::vector<Entry> Entries(const std::string& archive, int64_t mtime) {
  TarReader reader(StreamOf(archive, 4096), "archive");
  std::vector<Entry> out;
  while (true) {
    auto h = reader.Next();
    EXPECT_TRUE(h.ok()) << h.status().message();
    if (!h.ok() || !*h) break;
    Entry e{**h, ""};
    EXPECT_EQ(e.header.uid, 0u);
    EXPECT_EQ(e.header.gid, 0u);
    EXPECT_EQ(e.header.mtime, mtime);
    EXPECT_EQ(e.header.mode, e.header.type == '5' ? 0755u : 0644u) << e.header.name;
    if (e.header.type == '0') {
      auto body = reader.ReadBody(64 << 20);
      EXPECT_TRUE(body.ok());
      e.body = *body;
    }
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::string> Archive(const LayoutSource& source, const ArchiveOptions& options,
                            ArchiveReport* report = nullptr) {
  std::string out;
  auto r = WriteArchive(source, options, [&](std::span<const std::byte> bytes) {
    out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return Status::Ok();
  });
  if (!r.ok()) return r.status();
  EXPECT_EQ(r->bytes, out.size());
  if (report) *report = *r;
  return out;
}

std::map<std::string, std::string> Files(const std::vector<Entry>& entries) {
  std::map<std::string, std::string> out;
  for (const Entry& e : entries) {
    if (e.header.type == '0') out[e.header.name] = e.body;
  }
  return out;
}

std::vector<std::string> Names(const std::vector<Entry>& entries) {
  std::vector<std::string> out;
  for (const Entry& e : entries) out.push_back(e.header.name);
  return out;
}

std::string BlobPath(const Descriptor& d) { return "blobs/sha256/" + d.digest.hex(); }

TEST(ArchiveTest, OciArchiveHoldsTheLayoutInAFixedOrderWithEveryBlobChecked) {
  Fixture f;
  ArchiveOptions o;
  o.mtime = 1700000000;
  ArchiveReport report;
  auto archive = Archive(f.source, o, &report);
  ASSERT_TRUE(archive.ok()) << archive.status().message();
  const auto entries = Entries(*archive, o.mtime);
  const auto names = Names(entries);
  // Directories, then every blob of the source (each reachable from index.json) by digest, then
  // the small files by name.
  std::vector<std::string> want = {"blobs", "blobs/sha256"};
  for (const auto& [digest, _] : f.source.blobs) want.push_back("blobs/sha256/" + digest.substr(7));
  want.insert(want.end(), {"index.json", "oci-layout"});
  EXPECT_EQ(names, want);
  const auto files = Files(entries);
  for (const auto& [name, body] : files) {
    if (name.starts_with("blobs/")) {
      EXPECT_EQ(Digest::Of(body).hex(), name.substr(13));
    }
  }
  EXPECT_EQ(files.at("index.json"), f.source.index);
  EXPECT_EQ(json::parse(files.at("oci-layout")), json({{"imageLayoutVersion", "1.0.0"}}));
  EXPECT_EQ(report.blobs, f.source.blobs.size());
  EXPECT_EQ(report.ref_names,
            (std::vector<std::string>{"latest", "1.0", "dev", "multi", "latest.sbom.spdx"}));
  // Same layout, same bytes; the golden digest catches any change to the format.
  auto again = Archive(f.source, o);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *archive);
  EXPECT_EQ(Digest::Of(*archive).str(),
            "sha256:f0ce268f01293714004ec2309f8ebe08a95dd72907f587da8e1dcd23f17476bc");
}

TEST(ArchiveTest, OciArchiveOfSomeTagsKeepsTheirArtifactsAndBlobsOnly) {
  Fixture f;
  struct Case {
    std::vector<std::string> tags;
    std::vector<std::string> refs;
    std::vector<Descriptor> have, lack;
  };
  const std::vector<Case> cases = {
      {{"dev"}, {"dev"}, {f.dev_manifest, f.dev_layer, f.base}, {f.manifest, f.sbom}},
      {{"latest"}, {"latest", "latest.sbom.spdx"}, {f.manifest, f.sbom}, {f.dev_layer}},
      {{"1.0"}, {"1.0"}, {f.manifest, f.app}, {f.sbom, f.dev_manifest}},
      {{"multi"}, {"multi"}, {f.index_top, f.arm_manifest, f.manifest}, {f.sbom}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.tags.front());
    ArchiveOptions o;
    for (const auto& t : c.tags) o.tags.push_back({t, ""});
    ArchiveReport report;
    auto archive = Archive(f.source, o, &report);
    ASSERT_TRUE(archive.ok()) << archive.status().message();
    const auto files = Files(Entries(*archive, 0));
    EXPECT_EQ(report.ref_names, c.refs);
    auto index = ParseIndex("archive", files.at("index.json"));
    ASSERT_TRUE(index.ok());
    ASSERT_EQ(index->size(), c.refs.size());
    for (const Descriptor& d : c.have) EXPECT_TRUE(files.contains(BlobPath(d))) << d.digest.str();
    for (const Descriptor& d : c.lack) EXPECT_FALSE(files.contains(BlobPath(d))) << d.digest.str();
  }
}

TEST(ArchiveTest, DockerArchiveListsEachImageOnceWithItsRepoTagsAndLayerPaths) {
  Fixture f;
  ArchiveOptions o;
  o.format = ArchiveFormat::kDocker;
  o.tags = {{"latest", ""}, {"1.0", ""}, {"dev", "registry.example:5000/team/app"}};
  ArchiveReport report;
  auto archive = Archive(f.source, o, &report);
  ASSERT_TRUE(archive.ok()) << archive.status().message();
  const auto entries = Entries(*archive, 0);
  const auto names = Names(entries);
  EXPECT_EQ(
      std::vector<std::string>(names.end() - 4, names.end()),
      (std::vector<std::string>{"index.json", "manifest.json", "oci-layout", "repositories"}));
  const auto files = Files(entries);
  const json manifest = json::parse(files.at("manifest.json"));
  const json want =
      json::array({{{"Config", BlobPath(f.config)},
                    {"RepoTags", {"my-web-app:latest", "my-web-app:1.0"}},
                    {"Layers", {BlobPath(f.base), BlobPath(f.app)}}},
                   {{"Config", BlobPath(f.dev_config)},
                    {"RepoTags", {"registry.example:5000/team/app:dev"}},
                    {"Layers", {BlobPath(f.base), BlobPath(f.app), BlobPath(f.dev_layer)}}}});
  EXPECT_EQ(manifest, want);
  for (const json& image : manifest) {
    EXPECT_TRUE(files.contains(image["Config"].get<std::string>()));
    for (const json& layer : image["Layers"]) EXPECT_TRUE(files.contains(layer.get<std::string>()));
  }
  EXPECT_EQ(json::parse(files.at("repositories")),
            json({{"my-web-app", {{"latest", f.app.digest.hex()}, {"1.0", f.app.digest.hex()}}},
                  {"registry.example:5000/team/app", {{"dev", f.dev_layer.digest.hex()}}}}));
  EXPECT_EQ(report.repo_tags, (std::vector<std::string>{"my-web-app:latest", "my-web-app:1.0",
                                                        "registry.example:5000/team/app:dev"}));
  // No artifact, no blob no image needs.
  EXPECT_FALSE(files.contains(BlobPath(f.sbom)));
  EXPECT_FALSE(files.contains(BlobPath(f.index_top)));
  auto index = ParseIndex("archive", files.at("index.json"));
  ASSERT_TRUE(index.ok());
  ASSERT_EQ(index->size(), 3u);
  EXPECT_EQ((*index)[2].descriptor.digest, f.dev_manifest.digest);
  // Each entry names its image in full, as podman load takes the name from there.
  std::vector<std::string> image_names;
  for (const IndexEntry& e : *index) image_names.push_back(e.image_name);
  EXPECT_EQ(image_names, (std::vector<std::string>{"docker.io/library/my-web-app:latest",
                                                   "docker.io/library/my-web-app:1.0",
                                                   "registry.example:5000/team/app:dev"}));
  EXPECT_EQ(Digest::Of(*archive).str(),
            "sha256:8a0df0cf5cf366c8d64e9eb71521accb66ff062db5d149f2ab338a72c11fd6ea");
}

TEST(ArchiveTest, DockerArchiveTakesOnePlatformOfAnImageIndex) {
  Fixture f;
  struct Case {
    std::optional<std::string> platform;
    std::string manifest_hex;  // empty: an error
    std::string error;
  };
  const std::vector<Case> cases = {
      {"linux/arm64", f.arm_manifest.digest.hex(), ""},
      {"linux/amd64", f.manifest.digest.hex(), ""},
      {"linux/riscv64", "",
       "tag `multi` is an image of the platforms linux/amd64, linux/arm64, not of linux/riscv64"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.platform.value_or("host"));
    ArchiveOptions o;
    o.format = ArchiveFormat::kDocker;
    o.tags = {{"multi", ""}};
    if (c.platform) o.platform = *ParsePlatform(*c.platform);
    auto archive = Archive(f.source, o);
    if (!c.error.empty()) {
      ASSERT_FALSE(archive.ok());
      EXPECT_NE(archive.status().message().find(c.error), std::string::npos)
          << archive.status().message();
      continue;
    }
    ASSERT_TRUE(archive.ok()) << archive.status().message();
    const auto files = Files(Entries(*archive, 0));
    auto index = ParseIndex("archive", files.at("index.json"));
    ASSERT_TRUE(index.ok());
    ASSERT_EQ(index->size(), 1u);
    EXPECT_EQ((*index)[0].descriptor.digest.hex(), c.manifest_hex);
    // The arm64 manifest has no title; the image index's names the repository.
    EXPECT_EQ(json::parse(files.at("manifest.json"))[0]["RepoTags"],
              json::array({"my-web-app:multi"}));
  }
}

TEST(ArchiveTest, RefusesWhatItCannotWriteAndNamesWhy) {
  struct Case {
    std::string name;
    std::string title;
    ArchiveFormat format;
    std::vector<ArchiveTag> tags;
    std::string repository;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"unknown tag",
       "t",
       ArchiveFormat::kOci,
       {{"prod", ""}},
       "",
       "tag `prod` is not in the layout; its tags are: latest, 1.0, dev, multi"},
      {"a repository in an oci-archive",
       "t",
       ArchiveFormat::kOci,
       {{"latest", "app"}},
       "",
       "an oci-archive names images by tag alone; give `latest`"},
      {"no title, no repository",
       "",
       ArchiveFormat::kDocker,
       {{"latest", ""}},
       "",
       "tag `latest`: the image has no title to name its repository by; give one as --tag "
       "REPOSITORY:latest"},
      {"an artifact is not an image",
       "t",
       ArchiveFormat::kDocker,
       {{"latest.sbom.spdx", ""}},
       "",
       "tag `latest.sbom.spdx` is not in the layout"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Fixture f(c.title);
    ArchiveOptions o;
    o.format = c.format;
    o.tags = c.tags;
    o.repository = c.repository;
    auto archive = Archive(f.source, o);
    ASSERT_FALSE(archive.ok());
    EXPECT_NE(archive.status().message().find(c.error), std::string::npos)
        << archive.status().message();
  }
  // A default repository stands in for a missing title.
  Fixture untitled("");
  ArchiveOptions o;
  o.format = ArchiveFormat::kDocker;
  o.tags = {{"latest", ""}};
  o.repository = "fallback";
  ArchiveReport report;
  ASSERT_TRUE(Archive(untitled.source, o, &report).ok());
  EXPECT_EQ(report.repo_tags, std::vector<std::string>{"fallback:latest"});
}

// A blob whose bytes do not hash to its digest fails the archive before its last chunk is
// written; an error of the sink stops the writing.
TEST(ArchiveTest, ADamagedBlobFailsBeforeItsLastByteIsWritten) {
  Fixture f;
  std::string& bytes = f.source.blobs[f.base.digest.str()];
  bytes[bytes.size() - 10] ^= 1;
  std::string out;
  auto r = WriteArchive(f.source, {}, [&](std::span<const std::byte> b) {
    out.append(reinterpret_cast<const char*>(b.data()), b.size());
    return Status::Ok();
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorrupt);
  EXPECT_NE(r.status().message().find(f.base.digest.str()), std::string::npos);
  EXPECT_EQ(out.find(bytes.substr(bytes.size() - 100)), std::string::npos);

  Fixture g;
  int calls = 0;
  auto stopped = WriteArchive(g.source, {}, [&](std::span<const std::byte>) {
    return ++calls == 3 ? Status(Code::kIo, "disk full") : Status::Ok();
  });
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.status().message(), "disk full");
  EXPECT_EQ(calls, 3);
}

TEST(ArchiveTest, ParsesTagsAndFormats) {
  struct Case {
    std::string text;
    std::string ref, repository, error;
  };
  const std::vector<Case> cases = {
      {"latest", "latest", "", ""},
      {"app:1.0", "1.0", "app", ""},
      {"localhost:5000/team/app:dev", "dev", "localhost:5000/team/app", ""},
      {"localhost:5000/team/app", "", "", "a repository needs its tag too"},
      {"App:1", "", "", "a repository is lower case"},
      {"app:", "", "", "--tag: image reference `app:`: tag `` is not valid"},
      {"app:bad tag", "", "", "--tag"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    auto t = ParseArchiveTag(c.text, "--tag");
    if (!c.error.empty()) {
      ASSERT_FALSE(t.ok());
      EXPECT_NE(t.status().message().find(c.error), std::string::npos) << t.status().message();
      continue;
    }
    ASSERT_TRUE(t.ok()) << t.status().message();
    EXPECT_EQ(t->ref_name, c.ref);
    EXPECT_EQ(t->repository, c.repository);
  }
  EXPECT_EQ(*ParseArchiveFormat("oci-archive", "--format"), ArchiveFormat::kOci);
  EXPECT_EQ(*ParseArchiveFormat("docker-archive", "--format"), ArchiveFormat::kDocker);
  auto bad = ParseArchiveFormat("tar", "--format");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "--format `tar`: oci-archive or docker-archive (for docker load)");
}

}  // namespace
}  // namespace ocifs
