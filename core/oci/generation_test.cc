#include "core/oci/generation.h"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/support/test_util.h"

namespace ocifs {
namespace {

Descriptor Manifest(const std::string& text) {
  return {kMediaTypeOciManifest, Digest::Of(text), text.size()};
}

// Entries made into index.json and read back are the same entries.
TEST(IndexEntryTest, IndexJsonRoundTrips) {
  const std::vector<IndexEntry> entries = {
      {Manifest("m"), "latest", "", Platform{"linux", "amd64", ""}},
      {Manifest("m"), "v1", "", Platform{"linux", "arm", "v7"}},
      {{kMediaTypeOciIndex, Digest::Of("i"), 1}, "multi", "", std::nullopt},
      {Manifest("a"), "latest.sbom.spdx", "application/spdx+json", std::nullopt},
      {Manifest("u"), "", "", std::nullopt},
      {Manifest("d"), "latest-dev", "", std::nullopt, "dev"},
      {Manifest("n"), "1.0", "", std::nullopt, "", "docker.io/library/app:1.0"},
  };
  const std::string text = IndexJson(entries);
  auto back = ParseIndex("test", text);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->size(), entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    SCOPED_TRACE(i);
    const IndexEntry& e = entries[i];
    const IndexEntry& b = (*back)[i];
    EXPECT_EQ(b.descriptor.media_type, e.descriptor.media_type);
    EXPECT_EQ(b.descriptor.digest, e.descriptor.digest);
    EXPECT_EQ(b.descriptor.size, e.descriptor.size);
    EXPECT_EQ(b.ref_name, e.ref_name);
    EXPECT_EQ(b.artifact_type, e.artifact_type);
    EXPECT_EQ(b.is_artifact(), !e.artifact_type.empty());
    EXPECT_EQ(b.platform, e.platform);
    EXPECT_EQ(b.variant, e.variant);
    EXPECT_EQ(b.image_name, e.image_name);
  }
  EXPECT_EQ(IndexJson(*back), text);
  // The bytes are the canonical form: sorted keys, no spaces.
  EXPECT_EQ(IndexJson({{Manifest("m"), "latest", "", std::nullopt}}),
            R"({"manifests":[{"annotations":{"org.opencontainers.image.ref.name":"latest"},)"
            R"("digest":")" +
                Digest::Of("m").str() +
                R"(","mediaType":"application/vnd.oci.image.manifest.v1+json","size":1}],)"
                R"("mediaType":"application/vnd.oci.image.index.v1+json","schemaVersion":2})");
}

TEST(IndexEntryTest, BadIndexesNameWhatIsWrong) {
  const std::string d = Digest::Of("m").str();
  const struct {
    std::string text, want;
  } cases[] = {
      {"[1]", "layout `x`: index.json is not a JSON object"},
      {"{", "layout `x`: index.json is not a JSON object"},
      {R"({"schemaVersion": 2})", "layout `x`: index.json has no `manifests` array"},
      {R"({"manifests": [{"digest": ")" + d + R"(", "size": 1}]})",
       "layout `x`: index.json manifests[0] is not a valid descriptor"},
      {R"({"manifests": [{"mediaType": "m", "digest": "sha256:xyz", "size": 1}]})",
       "layout `x`: index.json manifests[0]:"},
  };
  for (const auto& c : cases) {
    auto got = ParseIndex("layout `x`", c.text);
    ASSERT_FALSE(got.ok()) << c.text;
    EXPECT_NE(got.status().message().find(c.want), std::string::npos) << got.status().message();
  }
}

std::shared_ptr<const Generation> SmallGeneration() {
  Generation::Contents c;
  c.number = 7;
  const std::string config = "{}", manifest = R"({"schemaVersion":2})";
  c.Add({kMediaTypeOciConfig, Digest::Of(config), config.size()},
        std::make_shared<MemoryBlob>(config));
  c.Add(Manifest(manifest), std::make_shared<MemoryBlob>(manifest));
  c.manifest_digest = Digest::Of(manifest);
  c.config_digest = Digest::Of(config);
  c.index = {{Manifest(manifest), "latest", "", Platform{"linux", "amd64", ""}}};
  return std::make_shared<const Generation>(std::move(c));
}

TEST(GenerationTest, EveryBlobHasItsDescriptor) {
  auto g = SmallGeneration();
  EXPECT_EQ(g->number(), 7u);
  EXPECT_EQ(g->index_json(), IndexJson(g->index()));
  ASSERT_EQ(g->blobs().size(), 2u);
  for (const auto& [hex, blob] : g->blobs()) {
    const Descriptor* d = g->FindDescriptor(hex);
    ASSERT_NE(d, nullptr) << hex;
    EXPECT_EQ(d->digest.hex(), hex);
    EXPECT_EQ(d->size, blob->size());
  }
  EXPECT_EQ(g->FindDescriptor(g->config_digest().hex())->media_type, kMediaTypeOciConfig);
  EXPECT_EQ(g->FindDescriptor(Digest::Of("absent").hex()), nullptr);
  EXPECT_EQ(g->FindBlob(Digest::Of("absent").hex()), nullptr);
}

TEST(GenerationTest, WriteLayoutRefusesANonEmptyDirectory) {
  TempDir out;
  auto g = SmallGeneration();
  out.Write("existing", "x");
  Status s = WriteLayout(*g, out.path());
  EXPECT_EQ(s.code(), Code::kAlreadyExists);
  EXPECT_NE(s.message().find(out.path()), std::string::npos);
  const std::string fresh = out.path() + "/layout";
  ASSERT_TRUE(WriteLayout(*g, fresh).ok());
  EXPECT_EQ(ReadFileOrDie(fresh + "/index.json"), g->index_json());
  EXPECT_EQ(ReadFileOrDie(fresh + "/oci-layout"), Generation::oci_layout());
  for (const auto& [hex, blob] : g->blobs()) {
    EXPECT_EQ(Digest::Of(ReadFileOrDie(fresh + "/blobs/sha256/" + hex)).hex(), hex);
  }
}

}  // namespace
}  // namespace ocifs
